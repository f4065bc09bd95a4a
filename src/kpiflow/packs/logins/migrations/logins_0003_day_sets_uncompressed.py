"""logins: day sets stored uncompressed on PostgreSQL (read twice as fast)

Revision ID: logins_0003
Revises: logins_0002

PostgreSQL compresses large `bytea` values with pglz (TOAST storage EXTENDED); reading two
years of day bitmaps then spends most of its time decompressing them on the server. EXTERNAL
keeps them out of line but uncompressed: in a probe of 730 bitmaps of 12.5 kB, 39 ms against
73 ms, for 10 MB on disk instead of 6 MB (docs/benchmarks.md, Logins). It applies to values
written from now on. Other databases have no such setting.
"""

from alembic import op

revision = "logins_0003"
down_revision = "logins_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE logins_days ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE logins_days ALTER COLUMN data SET STORAGE EXTENDED")
