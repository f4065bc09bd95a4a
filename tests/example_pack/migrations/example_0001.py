"""example: one table

Revision ID: example_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "example_0001"
down_revision = None
branch_labels = ("example",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table("example_things", sa.Column("id", sa.BigInteger, primary_key=True))


def downgrade() -> None:
    op.drop_table("example_things")
