"""Alembic over the core revisions and every pack's branch: `upgrade` brings all to head."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from kpiflow.registry import Pack
from kpiflow.store.lock import run_lock

CORE_MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine, packs: tuple[Pack[Any], ...]) -> Config:
    """An Alembic config whose version locations are core plus each pack's folder."""
    cfg = Config()
    cfg.set_main_option("script_location", str(CORE_MIGRATIONS))
    locations = [str(CORE_MIGRATIONS / "versions")]
    locations += [str(p.migrations) for p in packs if p.migrations is not None]
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, packs: tuple[Pack[Any], ...]) -> None:
    """Create or upgrade the schema of core and of every pack to its newest revision."""
    command.upgrade(alembic_config(engine, packs), "heads")


def current_heads(engine: Engine) -> set[str]:
    """The revisions the database is at (empty for a database without the schema)."""
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def missing_heads(engine: Engine, packs: tuple[Pack[Any], ...]) -> set[str]:
    """The newest revisions of core and `packs` the database is not at (empty: up to date)."""
    script = ScriptDirectory.from_config(alembic_config(engine, packs))
    return set(script.get_heads()) - current_heads(engine)


def ensure_schema(engine: Engine, lock_dir: Path, packs: tuple[Pack[Any], ...]) -> None:
    """Upgrade core and `packs` to their newest schema, one process at a time."""
    with run_lock(engine, "schema", lock_dir, timeout=120):
        upgrade(engine, packs)
