"""stores: stores, polls, business hours and report runs

Revision ID: stores_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from kpiflow.store import migration_ops

revision = "stores_0001"
down_revision = None
branch_labels = ("stores",)
depends_on = "core_0001"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    migration_ops.create_table(
        "stores_stores",
        sa.Column("store_key", Id, primary_key=True, autoincrement=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.UniqueConstraint("store_id", name="uq_stores_stores_store_id"),
    )
    migration_ops.create_table(
        "stores_polls",
        sa.Column("store_key", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts_us", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("active", sa.SmallInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    migration_ops.create_table(
        "stores_hours",
        sa.Column("store_key", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("day", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("start_s", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("end_s", sa.Integer, primary_key=True, autoincrement=False),
    )
    migration_ops.create_table(
        "stores_reports",
        sa.Column("report_id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("now_us", sa.BigInteger, nullable=True),
        sa.Column("detail", sa.SmallInteger, nullable=False),
        sa.Column("max_hold_s", sa.BigInteger, nullable=True),
        sa.Column("stores_done", sa.Integer, nullable=False),
        sa.Column("stores_total", sa.Integer, nullable=False),
        sa.Column("rows", sa.Integer, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for name in ("stores_reports", "stores_hours", "stores_polls", "stores_stores"):
        op.drop_table(name)
