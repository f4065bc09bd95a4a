"""core: ingest ledger, quarantine and run log

Revision ID: core_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from kpiflow.store import migration_ops

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    migration_ops.create_table(
        "ingest_ledger",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pack", sa.String(32), nullable=False),
        sa.Column("path", sa.String(700), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("ctime_ns", sa.BigInteger, nullable=False),
        sa.Column("inode", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("bad_rows", sa.BigInteger, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("pack", "path", name="uq_ingest_ledger_pack_path"),
    )
    migration_ops.create_index("ix_ingest_ledger_sha256", "ingest_ledger", ["sha256"])
    migration_ops.create_table(
        "ingest_quarantine",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pack", sa.String(32), nullable=False),
        sa.Column("ledger_id", sa.BigInteger, nullable=False),
        sa.Column("line", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
    )
    migration_ops.create_index("ix_ingest_quarantine_ledger_id", "ingest_quarantine", ["ledger_id"])
    migration_ops.create_table(
        "ingest_runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pack", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("files_new", sa.Integer, nullable=False),
        sa.Column("files_changed", sa.Integer, nullable=False),
        sa.Column("files_unchanged", sa.Integer, nullable=False),
        sa.Column("files_rejected", sa.Integer, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("bad_rows", sa.BigInteger, nullable=False),
        sa.Column("intervals_updated", sa.Integer, nullable=False),
        sa.Column("hours_updated", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("ingest_runs")
    op.drop_table("ingest_quarantine")
    op.drop_table("ingest_ledger")
