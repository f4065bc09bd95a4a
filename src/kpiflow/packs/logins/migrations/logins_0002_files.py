"""logins: the local days each source file holds logins of

Revision ID: logins_0002
Revises: logins_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from kpiflow.store import migration_ops

revision = "logins_0002"
down_revision = "logins_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    migration_ops.create_table(
        "logins_files",
        sa.Column("ledger_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("rules", sa.String(64), nullable=False),
        sa.Column("days", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"),
                  nullable=False),
    )


def downgrade() -> None:
    op.drop_table("logins_files")
