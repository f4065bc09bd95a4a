"""The hosts migrations: hosts_0002 on a database that already buffers samples; hosts_0003."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from kpiflow.packs.hosts.tables import name_partials, samples
from kpiflow.registry import discover_packs
from kpiflow.store.db import make_engine
from kpiflow.store.migrate import alembic_config


def test_0002_fills_the_name_partials_from_the_buffer(database_url: str) -> None:
    packs = discover_packs()
    engine = make_engine(database_url)
    rows = [{"ts_ms": 1_796_000_000_000 + 700 * i, "host_id": f"h{i % 3}", "pid": i % 4,
             "started_ms": 5, "name": f"n{i % 2}", "resource": i % 2 * 1, "value": float(i % 9),
             "flushed": 0, "judged": 0} for i in range(60)]
    try:
        cfg = alembic_config(engine, packs)
        command.upgrade(cfg, "hosts_0001")
        with engine.begin() as conn:
            conn.execute(sa.insert(samples), rows)
        command.upgrade(cfg, "heads")
        command.upgrade(cfg, "heads")  # again: nothing to do, nothing added twice
        with engine.connect() as conn:
            got = {(b, n, r): (int(k), float(t)) for b, n, r, k, t in conn.execute(
                sa.select(name_partials.c.bucket_ms, name_partials.c.name,
                          name_partials.c.resource, name_partials.c.n, name_partials.c.total))}
    finally:
        engine.dispose()
    want: dict[tuple[int, str, int], tuple[int, float]] = {}
    for r in rows:
        key = (r["ts_ms"] // 5000 * 5000, r["name"], r["resource"])
        n, t = want.get(key, (0, 0.0))
        want[key] = (n + 1, t + r["value"])
    assert got == want


def _reloptions(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT reloptions FROM pg_class WHERE relname = "
                                     "'hosts_name_partials'")).scalar_one()
    return set(found or [])


def test_0003_leaves_room_for_updates_in_the_partials_on_postgresql(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        cfg = alembic_config(engine, discover_packs())
        command.upgrade(cfg, "heads")
        on_postgresql = engine.dialect.name == "postgresql"
        if on_postgresql:
            assert {"fillfactor=50", "autovacuum_vacuum_scale_factor=0",
                    "autovacuum_vacuum_threshold=10000"} <= _reloptions(engine)
        command.downgrade(cfg, "hosts_0002")
        if on_postgresql:
            assert _reloptions(engine) == set()
        command.upgrade(cfg, "heads")  # and back, on every database
    finally:
        engine.dispose()
