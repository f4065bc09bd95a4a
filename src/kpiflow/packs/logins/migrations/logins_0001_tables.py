"""logins: user dictionary and per-day user sets

Revision ID: logins_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from kpiflow.store import migration_ops

revision = "logins_0001"
down_revision = None
branch_labels = ("logins",)
depends_on = "core_0001"


def upgrade() -> None:
    migration_ops.create_table(
        "logins_users",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.UniqueConstraint("name", name="uq_logins_users_name"),
    )
    migration_ops.create_table(
        "logins_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("users", sa.Integer, nullable=False),
        sa.Column("logins", sa.BigInteger, nullable=False),
        sa.Column("encoding", sa.SmallInteger, nullable=False),
        sa.Column("data", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"),
                  nullable=False),
    )


def downgrade() -> None:
    for name in ("logins_days", "logins_users"):
        op.drop_table(name)
