"""hosts: per-name 5-second partials for get-all, an index on alarm states

Revision ID: hosts_0002
Revises: hosts_0001
"""

import sqlalchemy as sa
from alembic import op

from kpiflow.store import migration_ops

revision = "hosts_0002"
down_revision = "hosts_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_ops.create_table(
        "hosts_name_partials",
        sa.Column("bucket_ms", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("resource", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("total", sa.Double, nullable=False),
    )
    partials = sa.table("hosts_name_partials", sa.column("bucket_ms"), sa.column("name"),
                        sa.column("resource"), sa.column("n"), sa.column("total"))
    buffered = sa.table("hosts_samples", sa.column("ts_ms"), sa.column("name"),
                        sa.column("resource"), sa.column("value"))
    conn = op.get_bind()
    if conn.execute(sa.select(sa.func.count()).select_from(partials)).scalar_one() == 0:
        # The samples already buffered (a re-run after a crash finds them added already).
        b = buffered.c
        bucket = b.ts_ms - b.ts_ms % 5000
        op.execute(partials.insert().from_select(
            ["bucket_ms", "name", "resource", "n", "total"],
            sa.select(bucket, b.name, b.resource, sa.func.count(), sa.func.sum(b.value))
            .group_by(bucket, b.name, b.resource)))
    migration_ops.create_index("ix_hosts_alarms_state", "hosts_alarms", ["state"])


def downgrade() -> None:
    op.drop_index("ix_hosts_alarms_state", table_name="hosts_alarms")
    op.drop_table("hosts_name_partials")
