"""kpiflow: operational data to exact KPIs. The public names are the pack interface and settings.

They load at first use (PEP 562), so `import kpiflow.<anything>` and `kpiflow --help` pay only
for what they touch, never for the database, dataframe or web libraries behind these names.
"""

import typing as _typing
from importlib import import_module as _import_module

if _typing.TYPE_CHECKING:
    from kpiflow.config import Settings
    from kpiflow.errors import KpiflowError
    from kpiflow.lifecycle import run_job
    from kpiflow.registry import (
        Command,
        Hooks,
        Job,
        Pack,
        Page,
        RunContext,
        ServeContext,
        Summary,
        discover_packs,
    )
    from kpiflow.runtime import Runtime

__all__ = ["Command", "Hooks", "Job", "KpiflowError", "Pack", "Page", "RunContext", "Runtime",
           "ServeContext", "Settings", "Summary", "discover_packs", "run_job"]

_HOME = {"Settings": "config", "KpiflowError": "errors", "run_job": "lifecycle",
         "Runtime": "runtime", **{name: "registry" for name in (
             "Command", "Hooks", "Job", "Pack", "Page", "RunContext", "ServeContext", "Summary",
             "discover_packs")}}


def __getattr__(name: str) -> _typing.Any:
    if name not in _HOME:
        raise AttributeError(f"module 'kpiflow' has no attribute {name!r}")
    value = getattr(_import_module(f"kpiflow.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
