"""Both generations of the real seed files load and report: 2023 numeric ids, 2025 UUIDs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from kpiflow.packs.stores import generate

SEED = Path("/work/shared/seed-data/store-monitoring-loop")
if not SEED.is_dir():  # the shared folder sits beside the checkout
    SEED = Path(__file__).resolve().parents[4] / "shared" / "seed-data" / "store-monitoring-loop"


def test_2023_files_with_the_real_polls(stores_db) -> None:
    folder = SEED / "2023-numeric-ids"
    summary = stores_db.load_files({
        "status": folder / "store_status.csv", "hours": folder / "menu_hours.csv",
        "timezones": folder / "timezones.csv"})
    kinds = {f.kind: (f.rows, f.bad_rows) for f in summary.files}
    assert kinds == {"timezones": (13_559, 0), "hours": (86_198, 0), "status": (5_032, 0)}
    got = stores_db.report(detail=True)
    assert len(got) == 3_966  # one row per store that has polls
    for row in got.values():
        for w in ("hour", "day", "week"):
            up, down = row[f"uptime_last_{w}"], row[f"downtime_last_{w}"]
            assert abs(up + down - row[f"business_last_{w}"]) <= 0.011
    # Every real poll says active, so there is no downtime anywhere.
    assert all(r["downtime_last_week"] == 0 for r in got.values())


def test_2025_uuid_files_with_generated_polls(stores_db, tmp_path: Path) -> None:
    folder = SEED / "2025-uuid-ids"
    ids = generate.store_ids(folder / "menu_hours.csv", folder / "timezones.csv")
    assert len(ids) == 4_560 and all(len(i) == 36 for i in ids)
    polls = tmp_path / "polls.csv"
    count = generate.generate(ids, datetime(2025, 3, 5, tzinfo=UTC), 7, 3, polls)
    summary = stores_db.load_files({
        "status": polls, "hours": folder / "menu_hours.csv",
        "timezones": folder / "timezones.csv"})
    assert {f.kind: f.bad_rows for f in summary.files} == {
        "status": 0, "hours": 0, "timezones": 0}
    assert summary.files[-1].new_rows == count
    got = stores_db.report()
    assert len(got) == len(ids)
    frame = pl.DataFrame([{"store_id": k, **v} for k, v in got.items()])
    assert frame["downtime_last_week"].sum() > 0 and frame["uptime_last_week"].sum() > 0


def test_generate_is_deterministic(tmp_path: Path) -> None:
    ids = [f"s{i}" for i in range(50)]
    start = datetime(2023, 1, 18, tzinfo=UTC)
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    generate.generate(ids, start, 2, 7, a)
    generate.generate(ids, start, 2, 7, b)
    generate.generate(ids, start, 2, 8, c)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    frame = pl.read_csv(a)
    # About one poll per store per hour, mostly active, in the seed's timestamp format.
    assert 0.7 * 50 * 48 < frame.height < 0.9 * 50 * 48
    assert (frame["status"] == "active").mean() > 0.7
    assert frame["timestamp_utc"].str.ends_with(" UTC").all()
