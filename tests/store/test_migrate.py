"""Core migrations on every database: core_0002 keeps the runs recorded before it."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from kpiflow.ingest import history
from kpiflow.registry import discover_packs
from kpiflow.store.db import make_engine
from kpiflow.store.migrate import (
    CORE_MIGRATIONS,
    HEADS_CACHE,
    _fingerprint,
    alembic_config,
    current_heads,
    ensure_schema,
    missing_heads,
    newest_heads,
)
from kpiflow.store.tables import quarantine

OLD_RUNS = sa.table(  # ingest_runs as core_0001 made it
    "ingest_runs", *(sa.column(c) for c in (
        "pack", "started_at", "finished_at", "status", "files_new", "files_changed",
        "files_unchanged", "files_rejected", "rows", "bad_rows", "intervals_updated",
        "hours_updated", "seconds", "error")))
OLD_QUARANTINE = sa.table("ingest_quarantine", *(sa.column(c) for c in (
    "pack", "ledger_id", "line", "reason", "raw")))
OLD_LEDGER = sa.table("ingest_ledger", *(sa.column(c) for c in (
    "id", "pack", "path", "size", "mtime_ns", "ctime_ns", "inode", "sha256", "status", "rows", "bad_rows",
    "first_seen_at", "updated_at")))

NETWORK = {"files_new": 6, "files_changed": 1, "files_unchanged": 40, "files_rejected": 2,
           "rows": 1_200_000, "bad_rows": 3, "intervals_updated": 12, "hours_updated": 2}
STORES = dict.fromkeys(NETWORK, 0)


def test_core_0002_carries_the_network_figures_into_counts(database_url: str) -> None:
    packs = discover_packs()
    engine = make_engine(database_url)
    try:
        cfg = alembic_config(engine, packs)
        command.upgrade(cfg, "core_0001")
        when = datetime(2026, 11, 1, 12, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(sa.insert(OLD_RUNS), [
                {"pack": "network", "started_at": when, "finished_at": when, "status": "ok",
                 "seconds": 1.5, "error": None, **NETWORK},
                {"pack": "stores", "started_at": when, "finished_at": when, "status": "failed",
                 "seconds": 0.25, "error": "no polls", **STORES},
            ])
            conn.execute(sa.insert(OLD_LEDGER).values(
                id=7, pack="network", path="a.txt", size=1, mtime_ns=1, ctime_ns=1, inode=1, sha256="0" * 64,
                status="ingested", rows=1, bad_rows=1, first_seen_at=when, updated_at=when))
            conn.execute(sa.insert(OLD_QUARANTINE).values(
                pack="network", ledger_id=7, line=2, reason="bad", raw="x"))
        assert missing_heads(engine, packs)  # behind: read-only commands refuse it
        command.upgrade(cfg, "heads")
        assert missing_heads(engine, packs) == set()
        columns = {c["name"] for c in sa.inspect(engine).get_columns("ingest_runs")}
        assert not columns & set(NETWORK)  # the network columns are gone from core
        with engine.begin() as conn:
            runs = {r["pack"]: r for r in history.last_runs(conn)}
            # a row from no file can be quarantined now, next to the old file row
            conn.execute(sa.insert(quarantine).values(
                pack="hosts", ledger_id=None, source="batch k1 from h1", line=1,
                reason="cpu: not a number", raw="{}"))
            kept = history.quarantine_rows(conn)
    finally:
        engine.dispose()
    assert runs["network"]["counts"] == NETWORK and runs["network"]["job"] == "ingest"
    assert (runs["network"]["status"], runs["network"]["seconds"]) == ("ok", 1.5)
    assert runs["stores"]["counts"] == STORES and runs["stores"]["job"] == "report"
    assert (runs["stores"]["status"], runs["stores"]["error"]) == ("failed", "no polls")
    assert sorted((q["pack"], q["path"], q["line"]) for q in kept) == [
        ("hosts", "batch k1 from h1", 1), ("network", "a.txt", 2)]


def test_the_remembered_heads_skip_alembic_only_while_true(database_url: str,
                                                           tmp_path: Path) -> None:
    packs = discover_packs()
    engine = make_engine(database_url)
    state = tmp_path / "state"
    state.mkdir()
    cache = state / HEADS_CACHE
    try:
        truth = set(ScriptDirectory.from_config(alembic_config(engine, packs)).get_heads())
        ensure_schema(engine, state, packs)  # a new database: created, heads remembered
        assert current_heads(engine) == truth
        assert set(json.loads(cache.read_text())["heads"]) == truth
        assert missing_heads(engine, packs, state) == set()

        # A database behind its code is upgraded although the heads are remembered.
        command.downgrade(alembic_config(engine, packs), "network@base")
        assert missing_heads(engine, packs, state) == {"network_0001"}
        ensure_schema(engine, state, packs)
        assert current_heads(engine) == truth

        # A damaged or foreign cache is not trusted: Alembic reads the scripts and rewrites it.
        for damaged in ("{not json", json.dumps({"fingerprint": "x", "heads": ["core_0001"]}),
                        json.dumps({"fingerprint": _fingerprint(packs), "heads": []})):
            cache.write_text(damaged)
            assert newest_heads(engine, packs, state) == truth
            assert set(json.loads(cache.read_text())["heads"]) == truth

        # A remembered answer for these very scripts is used as it is (shown by a wrong one).
        cache.write_text(json.dumps({"fingerprint": _fingerprint(packs), "heads": ["zz_9"]}))
        assert newest_heads(engine, packs, state) == {"zz_9"}
        assert newest_heads(engine, packs) == truth  # no folder given: Alembic decides
    finally:
        engine.dispose()


def test_the_fingerprint_changes_with_any_revision_script(tmp_path: Path) -> None:
    packs = discover_packs()
    before = _fingerprint(packs)
    script = next((CORE_MIGRATIONS / "versions").glob("*.py"))
    stat = script.stat()
    try:
        os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert _fingerprint(packs) != before
    finally:
        os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _fingerprint(packs) == before
    assert _fingerprint(tuple(p for p in packs if p.name != "hosts")) != before
