"""The pipeline agrees with the plain-Python reference on adversarial and generated data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from kpiflow.config import Settings
from kpiflow.ingest.discover import in_flight
from kpiflow.packs.network import generate, pipeline
from kpiflow.store.tables import ledger
from tests.helpers import run_pack

from . import reference
from .files import FIVE, HOUR, deliver, name, render, row
from .tables_read import read_kpis

H8 = 1_700_006_400_000  # an hour start (2023-11-15 00:00 UTC)
BIG = 2**63 - 1


def adversarial_dir(root: Path) -> None:
    """One directory with every quirk the contract names."""
    last = H8 + HOUR - FIVE  # 08:55-09:00: END 09:00 belongs to the 08:00 hour
    # Ties at rank 3 (services 7, 8, 9 all 500 bytes), bytes above 2^31, ids near 2^63-1.
    deliver(root / "a" / name(H8 + FIVE, 1), render([
        row(H8, 1, 100, 400, 7, 10), row(H8, 2, 250, 250, 8, 10), row(H8, 3, 500, 0, 9, 11),
        row(H8, 4, 2**31, 2**31, 1, 12), row(H8, BIG, 3_000_000_000, 1, 2, BIG),
        row(H8, BIG - 1, 1, 1, 2**31 - 1, BIG - 1),
    ], crlf=True, bom=True))
    # Same interval, second part: reordered and extra columns, no final newline;
    # subscriber 1 again in another cell (distinct across cells and parts).
    order = ("cell_id", "msisdn", "service_id", "bytes_downlink", "bytes_uplink",
             "interval_end_timestamp", "interval_start_timestamp")
    deliver(root / "a" / "deeper" / name(H8 + FIVE, 2), render([
        row(H8, 1, 10, 10, 7, 11), row(H8, 5, 1, 1, 3, 10), row(H8, 2, 0, 0, 8, 10),
    ], order=order, extra=("imsi", "apn"), final_newline=False))
    # The last interval of the hour and the first of the next one.
    deliver(root / "b" / name(H8 + HOUR, 1), render([
        row(last, 1, 5, 5, 7, 10), row(last, 6, 9, 9, 4, 13), row(last, 7, 1, 1, 4, 13),
    ]))
    deliver(root / "b" / name(H8 + HOUR + FIVE, 1), render([row(H8 + HOUR, 1, 1, 1, 7, 10)]))
    # An interval with fewer ids than N.
    deliver(root / "c" / name(H8 + 2 * FIVE, 1), render([row(H8 + FIVE, 8, 1, 2, 5, 14)]))
    # In flight: must be ignored until renamed.
    for junk in (".hidden.txt", "x.part", "y.tmp", "z.partial", "w.crdownload"):
        deliver(root / "c" / junk, render([row(H8, 99, 10**12, 0, 6, 99)]))
    deliver(root / ".dotdir" / name(H8 + FIVE, 9), render([row(H8, 98, 10**12, 0, 6, 98)]))


def contents(root: Path) -> list[bytes]:
    """Bytes of every settled file under root, as the pipeline should see them."""
    return [
        p.read_bytes() for p in root.rglob("*")
        if p.is_file() and not any(in_flight(part) for part in p.relative_to(root).parts)
    ]


def run(tmp_path: Path, database_url: str, data: Path, top_n: int) -> pipeline.RunSummary:
    settings = Settings(database_url=database_url, data_dir=data, state_dir=tmp_path / "state")
    return run_pack(settings, "network", top_n=top_n)


@pytest.mark.parametrize("top_n", [3, 10])
def test_adversarial_directory(tmp_path: Path, database_url: str, top_n: int) -> None:
    data = tmp_path / "data"
    adversarial_dir(data)
    summary = run(tmp_path, database_url, data, top_n)
    assert summary.files_new == 5 and summary.bad_rows == 0
    expected = reference.kpis(contents(data), top_n)
    assert read_kpis(database_url) == expected
    # Spot checks that the reference itself reads the contract as intended.
    assert expected[("service", H8, 5)][:1] == [(1, 1, 2**32)]
    assert ("service", H8 + HOUR, 60) in expected  # the 09:00 hour only has the 09:00-09:05 file
    assert expected[("cell", H8, 60)][0] == (1, 10, 3)  # subscribers 1, 2, 5; 1 and 2 return
    engine = create_engine(database_url)
    with engine.connect() as conn:
        paths = set(conn.scalars(select(ledger.c.path)))
    engine.dispose()
    assert len(paths) == 5 and all(not in_flight(part) for p in paths for part in p.split("/"))


def test_generated_day_slice(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    generate.generate(data, datetime(2026, 3, 29, 0, 30, tzinfo=UTC), 1.5, 400, 3, seed=5)
    run(tmp_path, database_url, data, 10)
    expected = reference.kpis(contents(data), 10)
    got = read_kpis(database_url)
    assert got == expected
    # Hourly distinct is not the sum of 5-minute distinct counts on this data.
    hour = ("cell", 1774746000000, 60)
    fives = [k for k in expected if k[0] == "cell" and k[2] == 5 and
             1774746000000 <= k[1] < 1774746000000 + HOUR]
    assert len(fives) == 12
    top_cell = expected[hour][0][1]
    summed = sum(v for k in fives for _, c, v in expected[k] if c == top_cell)
    assert summed > expected[hour][0][2]
