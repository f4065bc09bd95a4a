"""The scale-out engine: Apache Spark (PySpark) running the same KPI SQL over the Parquet state.

Spark SQL takes the KPI text as it is: `:name` parameters are Spark's own named parameters, and
each source becomes a temporary view. ANSI mode is off so that integer arithmetic wraps as it
does in polars and DuckDB's row rules instead of failing a query (the KPI sums are DECIMAL(38,0),
exact either way).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kpiflow.engine.base import PARAM, Source
from kpiflow.errors import ConfigError

INSTALL = "pip install 'kpiflow[spark]' (and Java 17 on PATH or in JAVA_HOME)"
APP_NAME = "kpiflow"


def _import_pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise ConfigError(f"the spark engine needs pyspark: {INSTALL}") from None
    return pyspark.sql


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(home and Path(home, "bin", "java").is_file()) or shutil.which("java") is not None


def local_cores(master: str) -> int | None:
    """The worker threads of a `local`, `local[N]` or `local[*]` master; None for a cluster."""
    match = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?", master.strip())
    if match is None:
        return None
    n = match.group(1)
    return 1 if n is None else (os.cpu_count() or 1) if n == "*" else max(int(n), 1)


def local_driver_memory() -> str:
    """The driver heap kpiflow gives a local session by default: a quarter of this machine's
    memory, at least 1 GiB and at most 8 GiB. Spark's own default (1 GiB) died at 12 M rows."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 4 << 30
    return f"{min(max(total // 4 >> 20, 1024), 8192)}m"


def start_session(master: str, driver_memory: str | None = None) -> Any:
    """A SparkSession on `master`; ConfigError with the install command when it cannot start.

    In local mode every shuffle has as many partitions as there are worker threads (Spark's
    default of 200 made each small stage of a pass 200 tasks), and the driver, which is the
    whole cluster there, gets `driver_memory` or `local_driver_memory()`; a cluster keeps its
    own settings unless `driver_memory` is given."""
    sql = _import_pyspark()
    if not _java_available():
        raise ConfigError(f"the spark engine needs Java 17, not found: {INSTALL}")
    builder = sql.SparkSession.builder.master(master).appName(APP_NAME)
    cores = local_cores(master)
    if cores is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(cores))
        driver_memory = driver_memory or local_driver_memory()
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    try:
        return (
            builder
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
    except Exception as exc:  # py4j and PySpark raise their own types for a JVM that did not start
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"cannot start Spark on {master}: {reason}; {INSTALL}") from None


def configure(session: Any) -> None:
    """The settings every kpiflow Spark job relies on, also on a session it did not start."""
    session.conf.set("spark.sql.ansi.enabled", "false")
    session.conf.set("spark.sql.session.timeZone", "UTC")


def file_uri(path: Path) -> str:
    """A local path as a URI Spark reads as it is (glob characters escaped)."""
    uri = path.resolve().as_uri()
    for char in "\\{}[]*?":
        uri = uri.replace(char, "\\" + char)
    return uri


class SparkEngine:
    """Runs KPI SQL through Spark SQL; uses the active session when there is one (a test's, or
    spark-submit's), else starts one on `master` and stops it on close."""

    def __init__(self, master: str = "local[*]", driver_memory: str | None = None) -> None:
        self.master, self.driver_memory = master, driver_memory
        self._session: Any = None
        self._owned = False

    @property
    def session(self) -> Any:
        """The SparkSession, started at first use."""
        if self._session is None:
            active = _import_pyspark().SparkSession.getActiveSession()
            if active is not None:
                self._session, self._owned = active, False
            else:
                self._session = start_session(self.master, self.driver_memory)
                self._owned = True
            configure(self._session)
        return self._session

    @property
    def description(self) -> str:
        """The engine and master it runs on, for the run's summary."""
        master = self._session.sparkContext.master if self._session is not None else self.master
        return f"spark ({master})"

    def query(
        self, sql: str, params: Mapping[str, int], sources: Mapping[str, Source]
    ) -> list[tuple[Any, ...]]:
        """Bind each source as a temporary view, then run `sql` with `:name` parameters."""
        if any(not src.files for src in sources.values()):
            return []  # a relation without files has no rows, so neither has the KPI
        spark = self.session
        functions = _import_pyspark().functions
        for name, src in sources.items():
            col = functions.col(src.column)
            frame = spark.read.parquet(*[file_uri(f) for f in src.files])
            frame.where((col >= functions.lit(src.lo)) & (col < functions.lit(src.hi))
                        ).createOrReplaceTempView(name)
        used = set(PARAM.findall(sql))
        args = {k: int(v) for k, v in params.items() if k in used}
        return [tuple(row) for row in spark.sql(sql, args=args).collect()]

    def close(self) -> None:
        """Stop the session if this engine started it."""
        if self._session is not None and self._owned:
            self._session.stop()
        self._session = None

