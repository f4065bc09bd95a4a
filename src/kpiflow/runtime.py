"""The process-wide runtime: settings built once at the edge, the packs, one database engine.

Edges (CLI, API, scheduler) build one `Runtime` and pass it down. It opens the database engine
at first use and brings the schema to head at most once per process (`ensure_schema`), so a
pass, a request or a read-only command never pays a migration check it does not need.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, TypeVar

from kpiflow.errors import SchemaNotReady
from kpiflow.registry import Pack

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings
    from sqlalchemy import Engine

    from kpiflow.config import Settings

S = TypeVar("S", bound="BaseSettings")


class Runtime:
    """Core settings, each pack's settings, and the database engine shared by the process."""

    def __init__(
        self, settings: Settings, packs: tuple[Pack[Any], ...],
        pack_settings: dict[str, BaseSettings] | None = None,
    ) -> None:
        self.settings = settings
        self.packs = packs
        given = pack_settings or {}
        self.pack_settings: dict[str, BaseSettings] = {
            p.name: given.get(p.name) or p.settings_model() for p in packs}
        self._db: Engine | None = None
        self._schema_ready = False
        self._guard = threading.RLock()

    @classmethod
    def build(
        cls, settings: Settings, packs: tuple[Pack[Any], ...], **overrides: BaseSettings
    ) -> Runtime:
        """Read each pack's settings (env, `.env`); `overrides` maps pack name to a model."""
        return cls(settings, packs, overrides)

    def pack(self, name: str) -> Pack[Any]:
        """The pack called `name`; KeyError lists the packs there are."""
        for p in self.packs:
            if p.name == name:
                return p
        raise KeyError(f"no pack {name!r}; packs: {', '.join(p.name for p in self.packs)}")

    def settings_for(self, pack: Pack[S]) -> S:
        """The pack's own settings, typed as its model."""
        return self.settings_of(pack.name, pack.settings_model)

    def settings_of(self, name: str, model: type[S]) -> S:
        """The settings of the pack called `name`, checked to be a `model`."""
        found = self.pack_settings[name]
        if not isinstance(found, model):
            raise TypeError(f"settings of pack {name!r} are not a {model.__name__}")
        return found

    @property
    def db(self) -> Engine:
        """The database engine of this process, made at first use (it connects on demand)."""
        with self._guard:
            if self._db is None:
                from kpiflow.store.db import make_engine  # SQLAlchemy loads at first use

                self._db = make_engine(self.settings.database_url)
            return self._db

    def check_database(self) -> None:
        """Raise DatabaseUnavailable, naming the database, unless it answers."""
        from kpiflow.store.db import ping

        ping(self.db, self.settings.database_url)

    def require_schema(self) -> None:
        """For commands that only read: check the database answers and is at the newest
        schema; never migrate, never lock. SchemaNotReady says how to get there."""
        from kpiflow.store.db import redacted
        from kpiflow.store.migrate import missing_heads

        self.check_database()
        if missing_heads(self.db, self.packs, self.settings.resolved_state_dir):
            raise SchemaNotReady(
                f"database {redacted(self.settings.database_url)} has no up-to-date kpiflow "
                "schema: run a pass first, or `kpiflow db upgrade`")

    def ensure_schema(self) -> None:
        """Check the database answers and bring core's and the running packs' schema to head,
        once per runtime (a read-only command never calls this)."""
        if self._schema_ready:
            return
        self.check_database()
        with self._guard:
            if not self._schema_ready:
                from kpiflow.store.migrate import ensure_schema

                ensure_schema(self.db, self.settings.resolved_state_dir, self.packs)
                self._schema_ready = True

    def close(self) -> None:
        """Dispose of the database engine (the next use opens a new one)."""
        with self._guard:
            if self._db is not None:
                self._db.dispose()
                self._db = None
                self._schema_ready = False
