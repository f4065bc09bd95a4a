"""network: KPI tables, content index and dirty intervals

Revision ID: network_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from kpiflow.store import migration_ops

revision = "network_0001"
down_revision = None
branch_labels = ("network",)
depends_on = "core_0001"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _kpi_table(name: str, id_column: str, value_column: str) -> None:
    migration_ops.create_table(
        name,
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("interval_start_timestamp", sa.BigInteger, nullable=False),
        sa.Column("interval_end_timestamp", sa.BigInteger, nullable=False),
        sa.Column("interval", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column(id_column, sa.BigInteger, nullable=False),
        sa.Column(value_column, sa.BigInteger, nullable=False),
        sa.UniqueConstraint("interval_start_timestamp", "interval", "rank", name=f"uq_{name}_key"),
    )
    migration_ops.create_index(f"ix_{name}_end", name, ["interval", "interval_end_timestamp"])
    migration_ops.create_index(f"ix_{name}_id", name, ["interval", id_column, "interval_end_timestamp"])


def upgrade() -> None:
    _kpi_table("kpi_service_traffic_volume", "service_id", "total_bytes")
    _kpi_table("kpi_cell_unique_users", "cell_id", "number_of_unique_users")
    migration_ops.create_table(
        "network_content_intervals",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("interval_start_timestamp", sa.BigInteger, primary_key=True),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("bad_rows", sa.BigInteger, nullable=False),
    )
    migration_ops.create_index(
        "ix_network_content_intervals_start",
        "network_content_intervals",
        ["interval_start_timestamp"],
    )
    migration_ops.create_table(
        "network_dirty_intervals",
        sa.Column("interval_start_timestamp", sa.BigInteger, primary_key=True, autoincrement=False),
    )


def downgrade() -> None:
    for name in ("network_dirty_intervals", "network_content_intervals",
                 "kpi_cell_unique_users", "kpi_service_traffic_volume"):
        op.drop_table(name)
