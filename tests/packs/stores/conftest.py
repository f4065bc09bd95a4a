"""Helpers for the stores tests: write CSV inputs, load them, read a report back as numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpiflow.config import Settings
from kpiflow.packs.stores import jobs, load, schema
from kpiflow.packs.stores.config import StoresSettings
from kpiflow.store.db import make_engine
from tests.helpers import run_pack


class Stores:
    """A database and a folder: load CSV text, report, all through the library functions."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp = tmp_path
        self.settings = Settings(database_url=database_url, state_dir=tmp_path / "state")
        self.count = 0

    def write(self, text: str, name: str | None = None) -> Path:
        self.count += 1
        path = self.tmp / (name or f"in{self.count}.csv")
        path.write_text(text)
        return path

    def load(self, status: str | None = None, hours: str | None = None,
             timezones: str | None = None) -> load.LoadSummary:
        files = {k: self.write(v) for k, v in
                 (("status", status), ("hours", hours), ("timezones", timezones)) if v is not None}
        return self.load_files(files)

    def load_files(self, files: dict[str, Path]) -> load.LoadSummary:
        """`kpiflow stores load` as the CLI runs it: the load job through core's run_job."""
        summary: load.LoadSummary = run_pack(self.settings, "stores", load.load_job(files))
        return summary

    def report(self, now: str | None = None, detail: bool = False,
               max_hold: str | None = None) -> dict[str, dict[str, float]]:
        options = jobs.ReportOptions(
            now_us=None if now is None else schema.parse_instant_us(now), detail=detail,
            max_hold_us=None if max_hold is None else schema.parse_duration(max_hold) * 10**6)
        engine = make_engine(self.settings.database_url)
        try:
            table, _ = jobs.build_report(engine, StoresSettings(), options)
        finally:
            engine.dispose()
        return {r.pop("store_id"): r for r in table.to_dicts()}


@pytest.fixture
def stores_factory() -> type[Stores]:
    """The helper class itself (for tests that make their own databases)."""
    return Stores


@pytest.fixture
def stores_db(tmp_path: Path, sqlite_url: str) -> Stores:
    """Stores on SQLite (for rules about semantics, not dialects)."""
    return Stores(tmp_path, sqlite_url)


@pytest.fixture
def stores_any_db(tmp_path: Path, database_url: str) -> Stores:
    """Stores on each supported database."""
    return Stores(tmp_path, database_url)
