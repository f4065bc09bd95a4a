"""Alembic over the core revisions and every pack's branch: `upgrade` brings all to head.

Alembic itself (about a quarter of a second to import and to read the revision scripts) loads
only when the schema may need work: the newest revisions of the installed migration files are
remembered in the state folder under a fingerprint of those files, and a database already
stamped with all of them is left alone without loading Alembic or taking the schema lock.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from kpiflow.registry import Pack
from kpiflow.store.lock import run_lock

if TYPE_CHECKING:
    from alembic.config import Config

CORE_MIGRATIONS = Path(__file__).parent / "migrations"
HEADS_CACHE = "schema-heads.json"


def version_locations(packs: tuple[Pack[Any], ...]) -> list[Path]:
    """Core's revision folder, then each pack's."""
    return [CORE_MIGRATIONS / "versions"] + [p.migrations for p in packs
                                             if p.migrations is not None]


def alembic_config(engine: Engine, packs: tuple[Pack[Any], ...]) -> Config:
    """An Alembic config whose version locations are core plus each pack's folder."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(CORE_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations",
                        os.pathsep.join(str(p) for p in version_locations(packs)))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, packs: tuple[Pack[Any], ...]) -> None:
    """Create or upgrade the schema of core and of every pack to its newest revision."""
    from alembic import command

    command.upgrade(alembic_config(engine, packs), "heads")


def current_heads(engine: Engine) -> set[str]:
    """The revisions the database is at (empty for a database without the schema)."""
    try:
        return _stamped(engine)
    except DBAPIError:
        if not _has_version_table(engine):
            return set()
    # The table appeared between the two looks (another process is creating the schema): read
    # it again; a failure now is real.
    return _stamped(engine)


def _stamped(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}


def _has_version_table(engine: Engine) -> bool:
    from sqlalchemy import inspect

    return inspect(engine).has_table("alembic_version")


def newest_heads(engine: Engine, packs: tuple[Pack[Any], ...],
                 cache_dir: Path | None = None) -> set[str]:
    """The newest revisions of core and `packs`, remembered in `cache_dir` when given."""
    fingerprint = _fingerprint(packs)
    cache = cache_dir / HEADS_CACHE if cache_dir is not None else None
    remembered = _read_cache(cache, fingerprint) if cache is not None else None
    if remembered is not None:
        return remembered
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(engine, packs)).get_heads())
    if cache is not None:
        _write_cache(cache, fingerprint, heads)
    return heads


def missing_heads(engine: Engine, packs: tuple[Pack[Any], ...],
                  cache_dir: Path | None = None) -> set[str]:
    """The newest revisions of core and `packs` the database is not at (empty: up to date)."""
    return newest_heads(engine, packs, cache_dir) - current_heads(engine)


def ensure_schema(engine: Engine, lock_dir: Path, packs: tuple[Pack[Any], ...]) -> None:
    """Upgrade core and `packs` to their newest schema, one process at a time."""
    # A writing command owns its state folder, so the heads are remembered from its first
    # pass; an unusable folder is reported by the lock or the pass, with its remedy.
    with suppress(OSError):
        lock_dir.mkdir(parents=True, exist_ok=True)
    if not missing_heads(engine, packs, lock_dir):
        return  # every revision is applied: Alembic stamps only after a step has finished
    with run_lock(engine, "schema", lock_dir, timeout=120):
        upgrade(engine, packs)


def _fingerprint(packs: tuple[Pack[Any], ...]) -> str:
    """Names, sizes and modification times of every revision script: any edit changes it."""
    digest = hashlib.sha256()
    for folder in version_locations(packs):
        digest.update(f"{folder}\n".encode())
        for script in sorted(folder.glob("*.py")):
            stat = script.stat()
            digest.update(f"{script.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _read_cache(cache: Path, fingerprint: str) -> set[str] | None:
    try:
        saved = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent or damaged: Alembic reads the scripts again
    if not isinstance(saved, dict) or saved.get("fingerprint") != fingerprint:
        return None
    heads = saved.get("heads")
    if not isinstance(heads, list) or not heads or not all(isinstance(h, str) for h in heads):
        return None
    return set(heads)


def _write_cache(cache: Path, fingerprint: str, heads: set[str]) -> None:
    if not cache.parent.is_dir():
        return  # never create a state folder only to remember this
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"fingerprint": fingerprint, "heads": sorted(heads)}),
                       encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only folder: Alembic reads the scripts next time
