"""core: run counts owned by packs, quarantine entries from non-file sources, checkpoints

Revision ID: core_0002
Revises: core_0001

- `ingest_runs` keeps what every pass has (pack, job, times, status, error) and the pack's own
  counts as a JSON object in `counts`; the network figures of existing rows are carried over.
- `ingest_quarantine.ledger_id` may be NULL; `source` then describes where the row came from
  (a pushed batch, a database row).
- `pack_checkpoints`: a pack's named checkpoints (how far a checkpointed job has come).

Each step checks what is already there, so a run killed half-way on MariaDB (which commits
every DDL statement) is finished by the next upgrade.
"""

import json

import sqlalchemy as sa
from alembic import op

from kpiflow.store import migration_ops

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None

OLD_COUNTS = ("files_new", "files_changed", "files_unchanged", "files_rejected", "rows",
              "bad_rows", "intervals_updated", "hours_updated")
JOB_OF_PACK = {"network": "ingest", "stores": "report"}


def upgrade() -> None:
    _generic_runs()
    _quarantine_sources()
    migration_ops.create_table(
        "pack_checkpoints",
        sa.Column("pack", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def _generic_runs() -> None:
    columns = migration_ops.table_columns("ingest_runs")
    with op.batch_alter_table("ingest_runs") as batch:
        if "job" not in columns:
            batch.add_column(sa.Column("job", sa.String(64), nullable=True))
        if "counts" not in columns:
            batch.add_column(sa.Column("counts", sa.Text, nullable=True))
    old = [c for c in OLD_COUNTS if c in columns]
    runs = sa.table("ingest_runs", sa.column("id"), sa.column("pack"), sa.column("job"),
                    sa.column("counts"), *(sa.column(c) for c in old))
    bind = op.get_bind()
    rows = bind.execute(sa.select(runs).where(runs.c.counts.is_(None))).mappings().all()
    for row in rows:
        counts = {c: row[c] for c in old if row[c] is not None}
        bind.execute(
            sa.update(runs).where(runs.c.id == row["id"]).values(
                counts=json.dumps(counts), job=row["job"] or JOB_OF_PACK.get(row["pack"], "run")))
    with op.batch_alter_table("ingest_runs") as batch:
        for c in old:
            batch.drop_column(c)


def _quarantine_sources() -> None:
    columns = migration_ops.table_columns("ingest_quarantine")
    with op.batch_alter_table("ingest_quarantine") as batch:
        batch.alter_column("ledger_id", existing_type=sa.BigInteger, nullable=True)
        if "source" not in columns:
            batch.add_column(sa.Column("source", sa.String(500), nullable=True))


def downgrade() -> None:
    op.drop_table("pack_checkpoints")
    with op.batch_alter_table("ingest_quarantine") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("ingest_runs") as batch:
        batch.drop_column("counts")
        batch.drop_column("job")
