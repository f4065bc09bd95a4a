"""The hosts migrations: hosts_0002 on a database that already buffers samples; hosts_0003;
hosts_0004 from flags to watermarks."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from kpiflow.packs.hosts.tables import name_partials, progress
from kpiflow.registry import discover_packs
from kpiflow.store.db import make_engine
from kpiflow.store.migrate import alembic_config

# The buffer as hosts_0001 to hosts_0003 made it, with the flags hosts_0004 turns into watermarks.
_flagged = sa.table("hosts_samples", *(sa.column(c) for c in (
    "id", "ts_ms", "host_id", "pid", "started_ms", "name", "resource", "value", "flushed",
    "judged")))


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
            conn.execute(sa.insert(_flagged), rows)
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


def test_0004_turns_the_flags_into_watermarks_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    # Flushed 1-4 and 6 (a flush's race), judged 1-7: the flush resumes after 4, the alarm job
    # after 7; sample 6 is in Parquet already, so it leaves the buffer.
    flushed = {1, 2, 3, 4, 6}
    rows = [{"id": i, "ts_ms": 1_796_000_000_000 + i, "host_id": "h", "pid": 1, "started_ms": 5,
             "name": "n", "resource": 0, "value": 1.0, "flushed": int(i in flushed),
             "judged": int(i <= 7)} for i in range(1, 11)]
    try:
        cfg = alembic_config(engine, discover_packs())
        command.upgrade(cfg, "hosts_0003")
        with engine.begin() as conn:
            conn.execute(sa.insert(_flagged), rows)
        command.upgrade(cfg, "heads")
        command.upgrade(cfg, "heads")  # again: nothing to do
        inspector = sa.inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("hosts_samples")}
        with engine.connect() as conn:
            marks = {n: u for n, u in conn.execute(sa.select(progress.c.name, progress.c.upto))}
            ids = conn.execute(sa.select(_flagged.c.id).order_by(_flagged.c.id)).scalars().all()
            if engine.dialect.name == "sqlite":
                ddl = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = "
                                           "'hosts_samples'")).scalar_one()
                assert "AUTOINCREMENT" in ddl
        assert not {"flushed", "judged"} & columns
        assert marks == {"batches": 0, "flushed": 4, "judged": 7}
        assert ids == [1, 2, 3, 4, 5, 7, 8, 9, 10]
        command.downgrade(cfg, "hosts_0003")
        with engine.connect() as conn:
            back = [tuple(r) for r in conn.execute(sa.select(
                _flagged.c.id, _flagged.c.flushed, _flagged.c.judged).order_by(_flagged.c.id))]
        assert back == [(i, int(i <= 4), int(i <= 7)) for i in ids]
        command.upgrade(cfg, "heads")
    finally:
        engine.dispose()
