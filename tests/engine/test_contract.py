"""The engine contract: the network KPI SQL through `kpiflow.engine.base.Engine`, on Parquet
sources built here, against a plain-Python reference.

Each engine is started through `kpiflow.engine.select`, as a pass starts it. A new engine joins
the contract with one more value in ENGINES_UNDER_TEST (a test checks that every engine the
settings accept is there).
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpiflow.config import ENGINES, Settings
from kpiflow.engine.base import Engine, Source
from kpiflow.engine.select import kpi_engine_factory
from kpiflow.engine.spark_engine import SparkEngine
from kpiflow.packs.network.kpis import CELL_UNIQUE_USERS, SERVICE_TRAFFIC_VOLUME, Kpi
from tests.spark_session import SPARK

ENGINES_UNDER_TEST = ("duckdb", "spark")

START = "interval_start_timestamp"
FIVE_MIN, HOUR = 300_000, 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC, a whole hour
INT64_MAX = 2**63 - 1

Row = tuple[int, int, int]  # (interval start, id, value): bytes for services, msisdn for cells


@pytest.fixture(scope="module", params=[
    pytest.param(name, marks=SPARK if name == "spark" else []) for name in ENGINES_UNDER_TEST])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "spark":
        request.getfixturevalue("spark_session")  # the run's local[2] session, which it takes
    started = kpi_engine_factory(Settings(engine=request.param))()
    yield started
    started.close()


def test_every_engine_the_settings_accept_is_under_contract() -> None:
    assert set(ENGINES_UNDER_TEST) == set(ENGINES)


# -- sources: Parquet files with the partial state's exact schema -------------------------------

def write_source(folder: Path, kpi: Kpi, files: Sequence[Sequence[Row]]) -> list[Path]:
    """One Parquet file per list of rows, typed as the network pack's partial state is."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, rows in enumerate(files):
        path = folder / f"{kpi.source}-{n}.parquet"
        starts = [r[0] for r in rows]
        ids = [r[1] for r in rows]
        if kpi is SERVICE_TRAFFIC_VOLUME:
            frame = pl.DataFrame(
                {START: starts, "service_id": ids, "total_bytes": [Decimal(r[2]) for r in rows]},
                schema={START: pl.Int64, "service_id": pl.Int64,
                        "total_bytes": pl.Decimal(38, 0)})
        else:
            frame = pl.DataFrame(
                {START: starts, "cell_id": ids, "msisdn": [r[2] for r in rows]},
                schema={START: pl.Int64, "cell_id": pl.Int64, "msisdn": pl.Int64})
        frame.write_parquet(path)
        paths.append(path)
    return paths


def run(engine: Engine, kpi: Kpi, paths: list[Path], lo: int, hi: int, bucket_ms: int,
        top_n: int) -> list[tuple[int, int, int, int]]:
    """The engine's rows, each value checked to be exact (an integer, never a float)."""
    rows = engine.query(kpi.sql, {"bucket_ms": bucket_ms, "top_n": top_n},
                        {kpi.source: Source(paths, START, lo, hi)})
    return [(_exact(b), _exact(r), _exact(i), _exact(v)) for b, r, i, v in rows]


def _exact(value: Any) -> int:
    assert isinstance(value, int | Decimal) and not isinstance(value, bool), repr(value)
    assert value == int(value), value
    return int(value)


# -- the plain-Python reference -----------------------------------------------------------------

def reference(kpi: Kpi, files: Sequence[Sequence[Row]], lo: int, hi: int, bucket_ms: int,
              top_n: int) -> list[tuple[int, int, int, int]]:
    """Per bucket: sum of bytes per service, or distinct msisdns per cell, over every file;
    ranked by value descending, then id ascending; ranks 1..top_n."""
    values: dict[tuple[int, int], int] = defaultdict(int)
    seen: set[tuple[int, int, int]] = set()
    for rows in files:
        for start, ident, value in rows:
            if not lo <= start < hi:
                continue
            bucket = start - start % bucket_ms
            if kpi is SERVICE_TRAFFIC_VOLUME:
                values[(bucket, ident)] += value
            elif (bucket, ident, value) not in seen:
                seen.add((bucket, ident, value))
                values[(bucket, ident)] += 1
    by_bucket: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (bucket, ident), value in values.items():
        by_bucket[bucket].append((ident, value))
    out = []
    for bucket in sorted(by_bucket):
        ranked = sorted(by_bucket[bucket], key=lambda iv: (-iv[1], iv[0]))[:top_n]
        out += [(bucket, rank, ident, value) for rank, (ident, value) in enumerate(ranked, 1)]
    return out


KPIS = [pytest.param(SERVICE_TRAFFIC_VOLUME, id="traffic"),
        pytest.param(CELL_UNIQUE_USERS, id="users")]


# -- cases --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kpi", KPIS)
def test_several_files_in_an_hour(engine: Engine, kpi: Kpi, tmp_path: Path) -> None:
    files = [
        [(T0, 1, 100), (T0, 2, 50), (T0 + FIVE_MIN, 1, 7), (T0 + 11 * FIVE_MIN, 3, 9)],
        [(T0, 2, 60), (T0, 1, 100), (T0 + FIVE_MIN, 4, 7), (T0 + 11 * FIVE_MIN, 3, 10)],
        [(T0 + 6 * FIVE_MIN, 5, 1), (T0, 3, 100)],
    ]
    paths = write_source(tmp_path, kpi, files)
    for bucket_ms, lo, hi in ((FIVE_MIN, T0, T0 + FIVE_MIN), (HOUR, T0, T0 + HOUR),
                              (FIVE_MIN, T0 + 11 * FIVE_MIN, T0 + HOUR)):
        got = run(engine, kpi, paths, lo, hi, bucket_ms, 3)
        assert got == reference(kpi, files, lo, hi, bucket_ms, 3)
        assert got  # each window holds rows


def test_traffic_sums_across_files_and_ranks_by_value(engine: Engine, tmp_path: Path) -> None:
    files = [[(T0, 1, 100), (T0, 2, 50)], [(T0, 2, 60), (T0, 1, 100)]]
    paths = write_source(tmp_path, SERVICE_TRAFFIC_VOLUME, files)
    assert run(engine, SERVICE_TRAFFIC_VOLUME, paths, T0, T0 + FIVE_MIN, FIVE_MIN, 10) == [
        (T0, 1, 1, 200), (T0, 2, 2, 110)]


def test_users_are_distinct_over_the_union_of_files_never_summed(
    engine: Engine, tmp_path: Path
) -> None:
    # msisdn 7 in cell 1 in two files and two intervals of the hour: one user of the hour
    files = [[(T0, 1, 7), (T0, 1, 8)], [(T0, 1, 7), (T0 + FIVE_MIN, 1, 7)]]
    paths = write_source(tmp_path, CELL_UNIQUE_USERS, files)
    assert run(engine, CELL_UNIQUE_USERS, paths, T0, T0 + HOUR, HOUR, 5) == [(T0, 1, 1, 2)]
    assert run(engine, CELL_UNIQUE_USERS, paths, T0, T0 + HOUR, FIVE_MIN, 5) == [
        (T0, 1, 1, 2), (T0 + FIVE_MIN, 1, 1, 1)]


@pytest.mark.parametrize("kpi", KPIS)
def test_ties_at_rank_n_go_to_the_lower_id(engine: Engine, kpi: Kpi, tmp_path: Path) -> None:
    if kpi is SERVICE_TRAFFIC_VOLUME:  # ids 9, 3, 5 tie at 40 (across files), 1 leads
        files = [[(T0, 9, 40), (T0, 1, 90), (T0, 5, 15)], [(T0, 3, 40), (T0, 5, 25)]]
    else:  # cells 9, 3, 5 each have two users, cell 1 three
        files = [[(T0, 9, 1), (T0, 9, 2), (T0, 1, 1), (T0, 1, 2), (T0, 1, 3), (T0, 5, 1)],
                 [(T0, 3, 1), (T0, 3, 2), (T0, 5, 2)]]
    paths = write_source(tmp_path, kpi, files)
    got = run(engine, kpi, paths, T0, T0 + FIVE_MIN, FIVE_MIN, 3)
    assert [row[2] for row in got] == [1, 3, 5]  # 9 ties with 3 and 5 at rank 3 and loses
    assert got == reference(kpi, files, T0, T0 + FIVE_MIN, FIVE_MIN, 3)
    assert [row[1] for row in run(engine, kpi, paths, T0, T0 + FIVE_MIN, FIVE_MIN, 10)] == [
        1, 2, 3, 4]  # ranks are dense row numbers, never shared


def test_traffic_beyond_int64_is_exact(engine: Engine, tmp_path: Path) -> None:
    files = [[(T0, INT64_MAX, INT64_MAX), (T0, 1, INT64_MAX - 1)]] * 3
    paths = write_source(tmp_path, SERVICE_TRAFFIC_VOLUME, files)
    got = run(engine, SERVICE_TRAFFIC_VOLUME, paths, T0, T0 + HOUR, HOUR, 2)
    assert got == [(T0, 1, INT64_MAX, 3 * INT64_MAX), (T0, 2, 1, 3 * (INT64_MAX - 1))]
    assert got == reference(SERVICE_TRAFFIC_VOLUME, files, T0, T0 + HOUR, HOUR, 2)


def test_users_with_the_largest_ids_are_exact(engine: Engine, tmp_path: Path) -> None:
    files = [[(T0, INT64_MAX, INT64_MAX), (T0, INT64_MAX, INT64_MAX - 1)],
             [(T0, INT64_MAX, INT64_MAX), (T0, 0, 0)]]
    paths = write_source(tmp_path, CELL_UNIQUE_USERS, files)
    assert run(engine, CELL_UNIQUE_USERS, paths, T0, T0 + FIVE_MIN, FIVE_MIN, 5) == [
        (T0, 1, INT64_MAX, 2), (T0, 2, 0, 1)]


@pytest.mark.parametrize("kpi", KPIS)
def test_empty_sources_have_no_rows(engine: Engine, kpi: Kpi, tmp_path: Path) -> None:
    assert run(engine, kpi, [], T0, T0 + HOUR, HOUR, 5) == []  # no file at all
    empty = write_source(tmp_path / "empty", kpi, [[], []])
    assert run(engine, kpi, empty, T0, T0 + HOUR, HOUR, 5) == []  # files without rows
    outside = write_source(tmp_path / "outside", kpi, [[(T0 + HOUR, 1, 1)]])
    assert run(engine, kpi, outside, T0, T0 + HOUR, HOUR, 5) == []  # nothing in the window


@pytest.mark.parametrize("kpi", KPIS)
def test_the_window_holds_lo_and_leaves_out_hi(engine: Engine, kpi: Kpi, tmp_path: Path) -> None:
    lo, hi = T0 + FIVE_MIN, T0 + 2 * FIVE_MIN
    files = [[(lo - FIVE_MIN, 1, 5), (lo - 1, 2, 5), (lo, 3, 5), (hi - 1, 4, 5), (hi, 5, 5)]]
    paths = write_source(tmp_path, kpi, files)
    got = run(engine, kpi, paths, lo, hi, FIVE_MIN, 10)
    assert [row[2] for row in got] == [3, 4]  # lo <= start < hi
    assert {row[0] for row in got} == {lo}  # hi - 1 is still in lo's bucket
    assert got == reference(kpi, files, lo, hi, FIVE_MIN, 10)


# -- the general rule ---------------------------------------------------------------------------

_rows = st.lists(
    st.tuples(st.integers(0, 13).map(lambda k: T0 + k * FIVE_MIN),  # past the hour's end too
              st.integers(0, 6), st.one_of(st.integers(0, 4), st.just(INT64_MAX))),
    max_size=25)


def test_any_source_matches_the_reference(engine: Engine) -> None:
    # Spark takes about a second a query even on tiny sources: fewer examples there.
    @settings(max_examples=10 if isinstance(engine, SparkEngine) else 40, deadline=None)
    @given(files=st.lists(_rows, max_size=4), top_n=st.integers(1, 5),
           traffic=st.booleans(), hourly=st.booleans(), shift=st.integers(0, 11))
    def check(files: list[list[Row]], top_n: int, traffic: bool, hourly: bool, shift: int) -> None:
        kpi = SERVICE_TRAFFIC_VOLUME if traffic else CELL_UNIQUE_USERS
        bucket_ms = HOUR if hourly else FIVE_MIN
        lo = T0 if hourly else T0 + shift * FIVE_MIN
        with tempfile.TemporaryDirectory() as folder:
            paths = write_source(Path(folder), kpi, files)
            got = run(engine, kpi, paths, lo, lo + bucket_ms, bucket_ms, top_n)
        assert got == reference(kpi, files, lo, lo + bucket_ms, bucket_ms, top_n)

    check()
