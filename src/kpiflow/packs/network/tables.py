"""Tables of the network pack: the two KPI tables (as the spec asks) and the content index."""

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, UniqueConstraint

from kpiflow.store.tables import Id

metadata = MetaData()


def kpi_table(name: str, id_column: str, value_column: str) -> Table:
    """A top-N KPI table: one row per (interval start, interval length, rank)."""
    return Table(
        name,
        metadata,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("interval_start_timestamp", BigInteger, nullable=False),
        Column("interval_end_timestamp", BigInteger, nullable=False),
        Column("interval", Integer, nullable=False),
        Column("rank", Integer, nullable=False),
        Column(id_column, BigInteger, nullable=False),
        Column(value_column, BigInteger, nullable=False),
        UniqueConstraint("interval_start_timestamp", "interval", "rank", name=f"uq_{name}_key"),
        Index(f"ix_{name}_end", "interval", "interval_end_timestamp"),
        # One id across a long range (the dashboard's time series) without a full scan.
        Index(f"ix_{name}_id", "interval", id_column, "interval_end_timestamp"),
    )


service_traffic_volume = kpi_table("kpi_service_traffic_volume", "service_id", "total_bytes")
cell_unique_users = kpi_table("kpi_cell_unique_users", "cell_id", "number_of_unique_users")

# Which content (by sha256) has rows in which 5-minute interval: the coverage of every
# interval and hour, and the index that finds the state files an interval is computed from.
content_intervals = Table(
    "network_content_intervals",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("interval_start_timestamp", BigInteger, primary_key=True),
    Column("rows", BigInteger, nullable=False),
    Column("bad_rows", BigInteger, nullable=False),
    Index("ix_network_content_intervals_start", "interval_start_timestamp"),
)

# Intervals whose KPIs must be recomputed; written in the same transaction as the ledger,
# cleared in the same transaction as the KPI upsert, so a crash in between loses nothing.
dirty_intervals = Table(
    "network_dirty_intervals",
    metadata,
    # Not auto-increment: MariaDB would turn an inserted 0 (1970-01-01 00:00) into a new id.
    Column("interval_start_timestamp", BigInteger, primary_key=True, autoincrement=False),
)
