"""Logging set-up for every command: one format (text or JSON lines), one level, quiet libraries.

A pass logs one line (`kpiflow.lifecycle`) with its pack, job, outcome, counts and duration; in
JSON those are fields of their own, for log shippers. Alembic's migration chatter, APScheduler's
per-run lines ("executed successfully" even after a failed pass: the pass's own line says how it
went) and uvicorn's access log are kept below INFO; they show with `--log-level debug`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from enum import StrEnum


class LogFormat(StrEnum):
    """Log lines for people (text) or for log shippers (one JSON object per line)."""

    TEXT = "text"
    JSON = "json"


class LogLevel(StrEnum):
    """The levels `--log-level` takes."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

NOISY = ("alembic", "apscheduler", "uvicorn.access")
FIELDS = ("pack", "job", "outcome", "seconds", "counts", "error")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and a pass's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        line.update({k: getattr(record, k) for k in FIELDS if hasattr(record, k)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def setup(level: LogLevel = LogLevel.INFO, fmt: LogFormat = LogFormat.TEXT) -> None:
    """Configure the root logger (stderr) once per process; a second call replaces the first."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt is LogFormat.JSON else logging.Formatter(TEXT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.value.upper())
    quiet = logging.DEBUG if level is LogLevel.DEBUG else logging.WARNING
    for name in NOISY:
        logging.getLogger(name).setLevel(quiet)
