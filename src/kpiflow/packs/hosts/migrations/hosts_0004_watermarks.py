"""hosts: the flush and the alarm job keep watermarks in `hosts_progress` instead of flags

The samples lose their `flushed` and `judged` columns and indexes (see `tables.progress` for why
watermarks are safe and cheaper). Each watermark is set below the oldest sample its job had not
taken yet. Samples above the flush's watermark that were flushed already (a flush takes them in id
order, so only a crash-free race leaves any) are deleted from the buffer, as they are in Parquet;
samples above the alarm job's that it had judged are judged again, which the rules skip (they
judge only what is newer than a series' last judged sample). On SQLite the table is rebuilt with
AUTOINCREMENT so that ids are never handed out twice.

Every step can run again after a crash half-way (MariaDB commits each DDL statement at once).

Revision ID: hosts_0004
Revises: hosts_0003
"""

import sqlalchemy as sa
from alembic import op

from kpiflow.store import migration_ops

revision = "hosts_0004"
down_revision = "hosts_0003"
branch_labels = None
depends_on = None

_FLAGS = ("flushed", "judged")
_progress = sa.table("hosts_progress", sa.column("name", sa.String), sa.column("upto", sa.BigInteger))
_samples = sa.table("hosts_samples", sa.column("id", sa.BigInteger),
                    *(sa.column(flag, sa.SmallInteger) for flag in _FLAGS))


def _watermark(conn: sa.Connection, flag: str) -> int:
    """Just below the oldest sample not taken yet; the newest sample when all were."""
    s = _samples.c
    oldest = conn.execute(sa.select(sa.func.min(s.id)).where(s[flag] == 0)).scalar()
    if oldest is not None:
        return int(oldest) - 1
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(s.id), 0))).scalar_one())


def upgrade() -> None:
    migration_ops.create_table(
        "hosts_progress",
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("upto", sa.BigInteger, nullable=False),
    )
    conn = op.get_bind()
    has_flags = set(_FLAGS) <= migration_ops.table_columns("hosts_samples")
    if not conn.execute(sa.select(sa.func.count()).select_from(_progress)).scalar_one():
        marks = {flag: _watermark(conn, flag) if has_flags else 0 for flag in _FLAGS}
        conn.execute(sa.insert(_progress), [{"name": "batches", "upto": 0}] + [
            {"name": name, "upto": upto} for name, upto in marks.items()])
    if has_flags:
        flushed = sa.select(_progress.c.upto).where(_progress.c.name == "flushed").scalar_subquery()
        conn.execute(sa.delete(_samples).where(_samples.c.flushed == 1, _samples.c.id > flushed))
    for flag in _FLAGS:
        migration_ops.drop_index(f"ix_hosts_samples_{flag}", "hosts_samples")
    left = [flag for flag in _FLAGS if flag in migration_ops.table_columns("hosts_samples")]
    if conn.dialect.name == "sqlite":
        with op.batch_alter_table("hosts_samples", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}) as batch:
            for flag in left:
                batch.drop_column(flag)
        return
    for flag in left:
        op.drop_column("hosts_samples", flag)


def downgrade() -> None:
    conn = op.get_bind()
    for flag in _FLAGS:
        op.add_column("hosts_samples", sa.Column(flag, sa.SmallInteger, nullable=False,
                                                 server_default="0"))
        upto = sa.select(_progress.c.upto).where(_progress.c.name == flag).scalar_subquery()
        conn.execute(sa.update(_samples).where(_samples.c.id <= upto).values({flag: 1}))
        migration_ops.create_index(f"ix_hosts_samples_{flag}", "hosts_samples", [flag])
    op.drop_table("hosts_progress")
