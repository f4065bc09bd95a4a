"""Read the pipeline's KPI tables into the reference's shape."""

from __future__ import annotations

from sqlalchemy import create_engine, select

from kpiflow.packs.network import tables

from .reference import Kpis


def read_kpis(database_url: str) -> Kpis:
    """Every KPI row, keyed like `reference.kpis`."""
    engine = create_engine(database_url)
    out: Kpis = {}
    with engine.connect() as conn:
        for name, table in (("service", tables.service_traffic_volume),
                            ("cell", tables.cell_unique_users)):
            id_col, value_col = list(table.c)[-2:]
            t = table.c
            stmt = select(t.interval_start_timestamp, t.interval_end_timestamp, t.interval,
                          t.rank, id_col, value_col).order_by(
                t.interval_start_timestamp, t.interval, t.rank)
            for start, end, minutes, rank, ident, value in conn.execute(stmt):
                assert end - start == minutes * 60_000
                out.setdefault((name, start, minutes), []).append((rank, ident, value))
    engine.dispose()
    return out
