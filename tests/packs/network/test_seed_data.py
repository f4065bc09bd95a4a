"""The seed sample files give the published results, on every database."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import create_engine, select

from kpiflow.config import Settings
from kpiflow.packs.network import tables
from tests.helpers import run_pack

SAMPLE = Path(__file__).resolve().parents[3] / "sample-data" / "network"
FIRST = 1488355200000  # 2017-03-01 08:00 UTC


def _run(tmp_path: Path, database_url: str, top_n: int) -> Settings:
    data = tmp_path / "data"
    if not data.exists():
        shutil.copytree(SAMPLE, data)
    settings = Settings(database_url=database_url, data_dir=data, state_dir=tmp_path / "state")
    run_pack(settings, "network", top_n=top_n)
    return settings


def _rows(database_url: str, table, start: int, interval: int) -> list[tuple]:
    id_col, value_col = list(table.c)[-2:]
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stmt = (select(table.c.rank, id_col, value_col)
                .where(table.c.interval_start_timestamp == start, table.c.interval == interval)
                .order_by(table.c.rank))
        rows = [tuple(r) for r in conn.execute(stmt)]
    engine.dispose()
    return rows


def test_published_five_minute_results(tmp_path: Path, database_url: str) -> None:
    _run(tmp_path, database_url, top_n=3)
    assert _rows(database_url, tables.service_traffic_volume, FIRST, 5) == [
        (1, 1, 16100), (2, 3, 11500), (3, 2, 9260)]
    # 1000 and 5005 tie at 3 users: the lower id ranks first.
    assert _rows(database_url, tables.cell_unique_users, FIRST, 5) == [
        (1, 1001, 4), (2, 1000, 3), (3, 5005, 3)]
    # The second interval holds the same rows shifted by five minutes.
    assert _rows(database_url, tables.service_traffic_volume, FIRST + 300_000, 5) == [
        (1, 1, 16100), (2, 3, 11500), (3, 2, 9260)]


def test_exact_hourly_results_top3_and_default(tmp_path: Path, database_url: str) -> None:
    _run(tmp_path, database_url, top_n=3)
    # Bytes double over the two identical intervals; the same subscribers return, so the
    # hour's distinct users equal one interval's, not the sum of the two.
    assert _rows(database_url, tables.service_traffic_volume, FIRST, 60) == [
        (1, 1, 32200), (2, 3, 23000), (3, 2, 18520)]
    assert _rows(database_url, tables.cell_unique_users, FIRST, 60) == [
        (1, 1001, 4), (2, 1000, 3), (3, 5005, 3)]


def test_default_top_n_keeps_every_id_when_fewer_than_ten(tmp_path: Path, database_url: str) -> None:
    _run(tmp_path, database_url, top_n=10)
    assert _rows(database_url, tables.service_traffic_volume, FIRST, 60) == [
        (1, 1, 32200), (2, 3, 23000), (3, 2, 18520), (4, 4, 13100), (5, 5, 5820)]
    assert _rows(database_url, tables.cell_unique_users, FIRST, 60) == [
        (1, 1001, 4), (2, 1000, 3), (3, 5005, 3), (4, 1002, 2), (5, 1003, 2), (6, 5003, 2)]
