#!/usr/bin/env bash
# What `make test` needs from the system: Debian's chromium (browser tests), and where they are
# packaged, promtool (prometheus: alert rules), nginx (the reverse-proxy block) and
# systemd-analyze (the unit). Installed with apt when we are root; otherwise one line says what
# to install (those tests then skip, or fail under CI=true for the browser).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "make test: install these Debian packages for the full suite: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
fi
