#!/usr/bin/env bash
# The main job on the embedded default: SQLite + DuckDB over the real seed sample files plus a
# generated realistic day, then the top services and cells, then how to serve the API.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/demo"
export DATABASE_URL="sqlite:///$demo/kpiflow.db"
export DATA_DIR="$demo/data"
mkdir -p "$DATA_DIR/seed-2017-03-01"
cp "$root"/sample-data/network/* "$DATA_DIR/seed-2017-03-01/"
if [ ! -d "$DATA_DIR/generated" ]; then
  kpiflow network generate --out "$DATA_DIR/generated" --start 2026-11-24T00:00:00Z \
    --hours 24 --rows-per-interval 4000 --parts 2 --seed 7
fi
kpiflow network run
kpiflow network top --interval 60
cat <<MSG

Done. KPIs are in $demo/kpiflow.db. To serve them:
  DATABASE_URL=$DATABASE_URL DATA_DIR=$DATA_DIR $root/.venv/bin/kpiflow serve
then open the dashboard at http://127.0.0.1:8000/ , the API docs at http://127.0.0.1:8000/docs
(offline) and the Prometheus metrics at http://127.0.0.1:8000/metrics , or e.g.
  curl 'http://127.0.0.1:8000/api/v1/services-kpis/?interval=60&limit=10'
MSG
