"""The KPI engine chosen by `KPIFLOW_ENGINE`: each engine's module loads only when it is used."""

from __future__ import annotations

from collections.abc import Callable

from kpiflow.config import ENGINES, Settings
from kpiflow.engine.base import Engine
from kpiflow.errors import ConfigError


def _duckdb(_settings: Settings) -> Engine:
    from kpiflow.engine.duckdb_engine import DuckDBEngine

    return DuckDBEngine()


def _spark(settings: Settings) -> Engine:
    from kpiflow.engine.spark_engine import SparkEngine

    return SparkEngine(settings.spark_master, settings.spark_driver_memory)


_FACTORIES: dict[str, Callable[[Settings], Engine]] = {"duckdb": _duckdb, "spark": _spark}


def kpi_engine_factory(settings: Settings) -> Callable[[], Engine]:
    """A function that starts the configured engine (a pass starts it only if it needs it)."""
    make = _FACTORIES.get(settings.engine)
    if make is None:
        raise ConfigError(f"unknown engine {settings.engine!r}; engines: {', '.join(ENGINES)}")
    return lambda: make(settings)
