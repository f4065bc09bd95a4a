"""Helpers for the logins tests: write logs, run the extraction job through core, read answers."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.packs.logins import pipeline, queries
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.packs.logins.periods import Grain
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime


def line(created: Any, user: str, message: str = "successful login", **extra: Any) -> str:
    """One log line as JSON."""
    return json.dumps({"created": created, "user": user, "message": message, **extra})


class Logins:
    """A database, a log folder and settings; extraction through `run_job`, as the CLI does."""

    def __init__(self, tmp: Path, database_url: str, **settings: Any) -> None:
        self.tmp = tmp
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(database_url=database_url, state_dir=tmp / "state")
        self.logins_settings = LoginsSettings(**{"logins_source": str(self.logs), **settings})
        self.runtime = Runtime.build(self.settings, discover_packs(), logins=self.logins_settings)

    def write(self, name: str, lines: list[str]) -> Path:
        path = self.logs / name
        path.write_text("".join(f"{x}\n" for x in lines))
        return path

    def run(self, start: date | None = None, end: date | None = None, reset: bool = False,
            **settings: Any) -> pipeline.LoginsSummary:
        pack = self.runtime.pack("logins")
        options = pipeline.RunOptions(start, end, reset)
        job = dataclasses.replace(pack.job("extract"),
                                  run=partial(pipeline.extract, options=options))
        chosen = LoginsSettings(**{**self.logins_settings.model_dump(), **settings})
        summary = run_job(self.runtime, pack, job, pack_settings=chosen)
        assert isinstance(summary, pipeline.LoginsSummary)
        return summary

    def uniques(self, grain: str, start: date, end: date) -> queries.Uniques:
        with self.runtime.db.connect() as conn:
            return queries.uniques(conn, self.logins_settings, Grain(grain), start, end)

    def counts(self, grain: str, start: date, end: date) -> dict[str, int]:
        return {p.period.isoformat(): p.unique_users
                for p in self.uniques(grain, start, end).periods}

    def day_users(self, day: date) -> set[str]:
        with self.runtime.db.connect() as conn:
            return queries.day_users(conn, day)

    def close(self) -> None:
        self.runtime.close()


@pytest.fixture
def logins_any_db(tmp_path: Path, database_url: str) -> Iterator[Logins]:
    """Logins on each supported database."""
    harness = Logins(tmp_path, database_url)
    yield harness
    harness.close()


@pytest.fixture
def logins_db(tmp_path: Path, sqlite_url: str) -> Iterator[Logins]:
    """Logins on SQLite (rules about semantics, not dialects)."""
    harness = Logins(tmp_path, sqlite_url)
    yield harness
    harness.close()
