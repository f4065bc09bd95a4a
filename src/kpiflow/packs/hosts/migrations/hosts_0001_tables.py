"""hosts: batches, hosts, sample buffer, rollups, alarms and alarm events

Revision ID: hosts_0001
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from kpiflow.store import migration_ops
from kpiflow.store.tables import UtcDateTime

revision = "hosts_0001"
down_revision = None
branch_labels = ("hosts",)
depends_on = "core_0001"

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ("hosts_alarm_events", "hosts_alarms", "hosts_rollups", "hosts_parquet_files",
          "hosts_samples", "hosts_hosts", "hosts_batches")


def _series() -> list[sa.Column[Any]]:
    return [sa.Column("host_id", sa.String(64), nullable=False),
            sa.Column("pid", sa.BigInteger, nullable=False),
            sa.Column("started_ms", sa.BigInteger, nullable=False),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("resource", sa.SmallInteger, nullable=False)]


def _evidence() -> list[sa.Column[Any]]:
    return [sa.Column("value", sa.Double, nullable=False),
            sa.Column("slope_per_min", sa.Double, nullable=True),
            sa.Column("r2", sa.Double, nullable=True),
            sa.Column("n", sa.Integer, nullable=False),
            sa.Column("crossing_ms", sa.BigInteger, nullable=True)]


def upgrade() -> None:
    migration_ops.create_table(
        "hosts_batches",
        sa.Column("batch_key", sa.String(100), primary_key=True),
        sa.Column("host_id", sa.String(64), nullable=False),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
        sa.Column("samples", sa.Integer, nullable=False),
    )
    migration_ops.create_table(
        "hosts_hosts",
        sa.Column("host_id", sa.String(64), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("cores", sa.Integer, nullable=True),
        sa.Column("interval_s", sa.Double, nullable=True),
        sa.Column("first_ms", sa.BigInteger, nullable=False),
        sa.Column("last_ms", sa.BigInteger, nullable=False),
    )
    migration_ops.create_index("ix_hosts_hosts_ip", "hosts_hosts", ["ip"])
    migration_ops.create_table(
        "hosts_samples",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        *_series(),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("flushed", sa.SmallInteger, nullable=False),
        sa.Column("judged", sa.SmallInteger, nullable=False),
    )
    migration_ops.create_index("ix_hosts_samples_flushed", "hosts_samples", ["flushed"])
    migration_ops.create_index("ix_hosts_samples_judged", "hosts_samples", ["judged"])
    migration_ops.create_index("ix_hosts_samples_ts", "hosts_samples", ["ts_ms"])
    migration_ops.create_table(
        "hosts_parquet_files",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("hour_ms", sa.BigInteger, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("min_ms", sa.BigInteger, nullable=False),
        sa.Column("max_ms", sa.BigInteger, nullable=False),
    )
    migration_ops.create_table(
        "hosts_rollups",
        sa.Column("minute_ms", sa.BigInteger, nullable=False),
        *_series(),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("total", sa.Double, nullable=False),
        sa.Column("peak", sa.Double, nullable=False),
    )
    migration_ops.create_index("ix_hosts_rollups_series", "hosts_rollups",
                               ["host_id", "pid", "started_ms", "resource", "minute_ms"])
    migration_ops.create_index("ix_hosts_rollups_minute", "hosts_rollups", ["minute_ms"])
    migration_ops.create_table(
        "hosts_alarms",
        sa.Column("host_id", sa.String(64), primary_key=True),
        sa.Column("pid", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("started_ms", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("resource", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("since_ms", sa.BigInteger, nullable=False),
        sa.Column("red_pending_ms", sa.BigInteger, nullable=True),
        sa.Column("amber_pending_ms", sa.BigInteger, nullable=True),
        sa.Column("last_ms", sa.BigInteger, nullable=False),
        *_evidence(),
        sa.Column("evaluated_ms", sa.BigInteger, nullable=False),
    )
    migration_ops.create_table(
        "hosts_alarm_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        *_series(),
        sa.Column("from_state", sa.String(8), nullable=False),
        sa.Column("to_state", sa.String(8), nullable=False),
        *_evidence(),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("delivered", sa.SmallInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
