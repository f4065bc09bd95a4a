"""deploy/: the systemd unit, the cron line and the nginx block, exercised where the machine can."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.test_serve import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KPIFLOW = Path(sys.executable).parent / "kpiflow"


def _tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists()
                                   else None)
    if found is None:
        pytest.skip(f"{name} missing (make test installs it where it runs as root with apt)")
    return found


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    unit = (DEPLOY / "kpiflow.service").read_text()
    assert "ExecStart=/opt/kpiflow/.venv/bin/kpiflow " in unit
    local = tmp_path / "kpiflow.service"  # the binary must exist for verify: point at ours
    local.write_text(unit.replace("/opt/kpiflow/.venv/bin/kpiflow", str(KPIFLOW)))
    checked = subprocess.run([_tool("systemd-analyze"), "verify", str(local)],
                             capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr


def test_cron_line_runs_the_pass(tmp_path: Path) -> None:
    """The cron line's command, as cron would run it (sh -c, in its folder), does a quiet pass."""
    [line] = [x for x in (DEPLOY / "kpiflow.cron").read_text().splitlines()
              if x and not x.startswith("#")]
    fields = line.split(None, 6)
    assert fields[:5] == ["*/5", "*", "*", "*", "*"] and fields[5] == "kpiflow"
    data = tmp_path / "network"
    shutil.copytree(ROOT / "sample-data" / "network", data)
    command = (fields[6].replace("/var/lib/kpiflow", str(tmp_path))
               .replace("/srv/kpiflow/network", str(data))
               .replace("/opt/kpiflow/.venv/bin/kpiflow", str(KPIFLOW)))
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert (tmp_path / "kpiflow.db").exists()


@pytest.mark.xdist_group("serve")
def test_nginx_block_serves_kpiflow_under_its_prefix(tmp_path: Path) -> None:
    nginx = _tool("nginx")
    app_port, proxy_port = free_port(), free_port()
    block = (DEPLOY / "nginx-kpiflow.conf").read_text().replace("8000", str(app_port))
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;
events {{}}
http {{
  access_log off; client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;
  fastcgi_temp_path {tmp_path}/fcgi; uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi;
  server {{ listen 127.0.0.1:{proxy_port}; {block} }}
}}
""")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}", "DATA_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    app = subprocess.Popen([str(KPIFLOW), "serve", "--port", str(app_port), "--root-path",
                            "/kpiflow", "--no-schedule"], env=env, cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp_path)],
                             stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{proxy_port}/kpiflow"
    try:
        wait_for(lambda: httpx.get(f"{base}/readyz").status_code == 200, timeout=180)
        docs = httpx.get(f"{base}/docs").text
        assert "/kpiflow/docs-assets/swagger-ui-bundle.js" in docs
        assert httpx.get(f"{base}/docs-assets/swagger-ui-bundle.js").status_code == 200
        assert httpx.get(f"{base}/metrics").status_code == 200  # from 127.0.0.1: allowed
        assert httpx.get(f"{base}/network").status_code == 200
    finally:
        proxy.terminate()
        app.terminate()
        proxy.wait(timeout=30)
        app.wait(timeout=30)
