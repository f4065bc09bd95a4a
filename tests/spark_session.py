"""One SparkSession (`local[2]`) for the whole test run: starting a JVM costs tens of seconds.

Every test that uses it is in the xdist group `spark`, so one worker holds the only session.
The Spark engine takes the active session, as it takes spark-submit's in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# py4j leaves its gateway sockets to the garbage collector, which reports them as unraisable
# ResourceWarnings at random moments of a Spark test: those, and only on Spark tests, are let be.
SPARK = [pytest.mark.xdist_group("spark"),
         pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
         pytest.mark.filterwarnings("ignore::ResourceWarning")]


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """The test run's SparkSession on `local[2]`, stopped at the end."""
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("kpiflow-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.ui.showConsoleProgress", "false")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
