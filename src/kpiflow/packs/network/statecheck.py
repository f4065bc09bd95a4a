"""Verify the network state and rebuild what can be rebuilt (`kpiflow network state ...`).

Every content that counts must have both state files, present and matching their checksum.
A damaged or missing one is rebuilt from any source file still in DATA_DIR with the same
bytes; its intervals are then marked dirty, so the next pass recomputes them. When no source
is left, the hours that content feeds cannot be recomputed, and the report says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from kpiflow.ingest import ledger
from kpiflow.ingest.checkpoints import Checkpoints
from kpiflow.ingest.discover import read_regular
from kpiflow.ingest.reader import FileRejected
from kpiflow.packs.network import partials
from kpiflow.packs.network.pipeline import PACK, STATE_IDENTITY
from kpiflow.packs.network.schema import HOUR_MS, START
from kpiflow.packs.network.tables import content_intervals, dirty_intervals
from kpiflow.state import UNVERIFIABLE, StateStore
from kpiflow.store.tables import ledger as ledger_table
from kpiflow.store.upsert import insert_missing


@dataclass
class Damage:
    """One content whose state cannot be used: why, its files, the hours it feeds."""

    sha256: str
    problems: list[str]
    paths: list[str]
    hours: list[int]
    rebuilt_from: str | None = None

    @property
    def unverifiable(self) -> bool:
        """True when its state is only unverifiable (no checksum), not known to be damaged:
        passes still use it, so its hours are not lost even without a source."""
        return all(UNVERIFIABLE in p for p in self.problems)


@dataclass
class StateReport:
    """What a check (or repair) found: contents checked and the damaged ones."""

    checked: int = 0
    damaged: list[Damage] = field(default_factory=list)

    @property
    def lost_hours(self) -> list[int]:
        """Hours (start ms) fed by a damaged content that could not be rebuilt."""
        return sorted({h for d in self.damaged if d.rebuilt_from is None and not d.unverifiable
                       for h in d.hours})


def check(db: Engine, store: StateStore) -> StateReport:
    """Verify the state of every content that counts; raises StateError for a foreign folder."""
    identity = Checkpoints(db, PACK).get(STATE_IDENTITY)
    if identity is not None:
        store.bind(identity)
    report = StateReport()
    with db.connect() as conn:
        shas = sorted(ledger.active_shas(conn, PACK))
        lc, ci = ledger_table.c, content_intervals.c
        for sha in shas:
            report.checked += 1
            problems = [p for k in partials.KINDS
                        if (p := store.problem(sha, k, strict=True)) is not None]
            if not problems:
                continue
            paths = list(conn.scalars(select(lc.path).where(
                lc.pack == PACK, lc.sha256 == sha, lc.status == ledger.INGESTED).order_by(lc.path)))
            starts = conn.scalars(select(ci[START]).where(ci.sha256 == sha, ci.rows > 0))
            hours = sorted({s - s % HOUR_MS for s in starts})
            report.damaged.append(Damage(sha, problems, paths, hours))
    return report


def repair(db: Engine, store: StateStore, data_dir: Path, secret: str | None,
           read_timeout: float | None = None) -> StateReport:
    """Check, rebuild each damaged or unverifiable content from a source with its bytes, mark
    it for the next pass."""
    report = check(db, store)
    for damage in report.damaged:
        for path in damage.paths:
            data = _same_bytes(data_dir / path, damage.sha256, read_timeout)
            if data is None:
                continue
            try:
                built = partials.build(data, secret)
            except FileRejected:
                continue
            store.write(damage.sha256, partials.PAIRS, built.pairs)
            store.write(damage.sha256, partials.BYTES, built.byte_sums)
            damage.rebuilt_from = path
            break
        if damage.rebuilt_from is not None:
            with db.begin() as conn:
                starts = conn.scalars(select(content_intervals.c[START]).where(
                    content_intervals.c.sha256 == damage.sha256))
                insert_missing(conn, dirty_intervals, [{START: s} for s in starts])
    return report


def _same_bytes(path: Path, sha256: str, read_timeout: float | None) -> bytes | None:
    """The file's bytes when it still holds exactly that content, else None."""
    try:
        data = read_regular(path, read_timeout)
    except OSError:
        return None
    return data if ledger.matches(data, sha256) else None
