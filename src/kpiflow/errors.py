"""Typed errors: the library raises these, the edges translate them (CLI: one line, API: 4xx)."""


class KpiflowError(Exception):
    """Base of every error kpiflow reports to a user."""


class ConfigError(KpiflowError):
    """A setting or flag has a value kpiflow cannot use."""


class DataDirMissing(KpiflowError):
    """DATA_DIR does not exist or is not a directory."""


class DatabaseUnavailable(KpiflowError):
    """The database cannot be reached or refused the connection."""


class LockBusy(KpiflowError):
    """Another pass of the same job holds the run lock."""


class StateError(KpiflowError):
    """The state directory cannot be written or holds damaged files."""


class KpiOverflow(KpiflowError):
    """A KPI value does not fit the 64-bit column it is stored in."""


class SchemaNotReady(KpiflowError):
    """The database has no kpiflow schema, or an older one, and the command only reads."""
