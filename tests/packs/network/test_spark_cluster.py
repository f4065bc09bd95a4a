"""`kpiflow network run --engine spark` against a real standalone cluster: a master and two
workers on 127.0.0.1, started from the pyspark package's own launcher, so the parse, validation
and state are built by executors in other JVMs, and the tables equal a duckdb pass's."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyspark
import pytest

from tests.helpers import KPIFLOW, free_port, run_pack
from tests.spark_session import SPARK

from .spark_compare import assert_same_state, settings_for, snapshot
from .test_spark import _first_drop

pytestmark = SPARK

SPARK_HOME = Path(pyspark.__file__).parent
START_TIMEOUT_S = 240


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIFLOW_")}
    return env | {"SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
                  "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], env=_env(),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as reply:
            return int(json.load(reply).get("aliveworkers", 0))
    except OSError:
        return 0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """A standalone master and two one-core workers; killed (their process groups) afterwards."""
    port, ui = free_port(), free_port()
    logs = tmp_path / "cluster-logs"
    logs.mkdir()
    started = [_start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                       "--port", str(port), "--webui-port", str(ui)], logs / "master.log")]
    try:
        for n in range(2):
            started.append(_start(
                ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                 "--memory", "1536m", "--webui-port", str(free_port()),
                 "--work-dir", str(tmp_path / f"worker{n}"), f"spark://127.0.0.1:{port}"],
                logs / f"worker{n}.log"))
        deadline = time.monotonic() + START_TIMEOUT_S
        while _alive_workers(ui) < 2:
            dead = [p.args for p in started if p.poll() is not None]
            assert not dead, f"cluster process exited: {dead}"
            assert time.monotonic() < deadline, "the cluster did not start: " + "".join(
                f.read_text()[-2000:] for f in logs.iterdir())
            time.sleep(1)
        yield f"spark://127.0.0.1:{port}"
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)


def test_cli_pass_on_a_standalone_cluster(tmp_path: Path, cluster: str) -> None:
    _first_drop(tmp_path / "data")
    shutil.copytree(Path(__file__).resolve().parents[3] / "sample-data" / "network",
                    tmp_path / "data" / "sample")
    spark = settings_for(tmp_path, "spark", "cluster")
    env = _env() | {"DATABASE_URL": spark.database_url, "DATA_DIR": str(spark.data_dir),
                    "KPIFLOW_STATE_DIR": str(spark.state_dir), "KPIFLOW_TOP_N": "3",
                    "NO_COLOR": "1", "COLUMNS": "200"}
    done = subprocess.run([str(KPIFLOW), "network", "run", "--engine", "spark",
                           "--spark-master", cluster, "--format", "json"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=540)
    assert done.returncode == 3, done.stderr[-3000:]  # 3: done, some rows quarantined
    assert f"engine: spark ({cluster})" in done.stderr
    counts = json.loads(done.stdout)[0]
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert (counts["files_new"], counts["files_rejected"]) == (len(files), 5)
    duck = settings_for(tmp_path, "duckdb", "duck")
    run_pack(duck, "network", top_n=3)
    assert snapshot(spark) == snapshot(duck)
    assert_same_state(spark, duck)
