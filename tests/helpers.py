"""What many tests need: settings in a test folder, a pass of a pack through core's lifecycle,
the schema brought to head, a free port, and the installed `kpiflow` script."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.registry import Job, Pack, discover_packs
from kpiflow.runtime import Runtime

KPIFLOW = Path(sys.executable).parent / "kpiflow"
"""The console script of this environment: tests run it as a real process."""


def make_settings(tmp: Path, database_url: str, **extra: Any) -> Settings:
    """Settings with DATA_DIR at `tmp/data` and the state under `tmp/state` unless given."""
    extra.setdefault("data_dir", tmp / "data")
    extra.setdefault("state_dir", tmp / "state")
    return Settings(database_url=database_url, **extra)


def run_pack(
    settings: Settings, pack: str, job: Job[Any] | str | None = None,
    packs: tuple[Pack[Any], ...] | None = None, **pack_settings: Any,
) -> Any:
    """One pass of `pack` (its first job unless named) exactly as the CLI runs it: through
    `run_job` on a fresh runtime. `pack_settings` build the pack's settings model (else env)."""
    runtime = Runtime.build(settings, packs if packs is not None else discover_packs())
    try:
        found = runtime.pack(pack)
        chosen = found.settings_model(**pack_settings) if pack_settings else None
        return run_job(runtime, found, job, pack_settings=chosen)
    finally:
        runtime.close()


def migrate(settings: Settings, packs: tuple[Pack[Any], ...] | None = None) -> None:
    """Bring the schema of core and the packs to head, as a pass would first."""
    runtime = Runtime.build(settings, packs if packs is not None else discover_packs())
    try:
        runtime.ensure_schema()
    finally:
        runtime.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quarantine_reasons(url: str) -> list[str]:
    """Every quarantined row's reason in the database at `url`, in the order they were added
    (a file's bad rows are added in line order)."""
    from sqlalchemy import create_engine, select

    from kpiflow.store.tables import quarantine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(quarantine.c.reason).order_by(quarantine.c.id)))
    finally:
        engine.dispose()
