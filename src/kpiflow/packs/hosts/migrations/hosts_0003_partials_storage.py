"""hosts: PostgreSQL keeps free room in the per-name partials' pages and vacuums them often

Every accepted batch adds to the same few hundred rows of `hosts_name_partials` (its 5-second
bucket's names), so at 6,000 values/s PostgreSQL writes ~6,000 row versions a second there. With
full pages each version went to a new page: the table grew to 3,000 pages of dead versions for
12,000 live rows within two minutes, and `get-all`'s scan of it took 70 ms. Half-empty pages keep
the new versions beside the old ones (HOT updates, pruned on the next visit), and autovacuum visits
the table whatever its size. Other databases update rows in place: nothing to do there.

Revision ID: hosts_0003
Revises: hosts_0002
"""

from alembic import op

revision = "hosts_0003"
down_revision = "hosts_0002"
branch_labels = None
depends_on = None

STORAGE = ("fillfactor = 50, autovacuum_vacuum_scale_factor = 0, "
           "autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE hosts_name_partials SET ({STORAGE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE hosts_name_partials RESET (fillfactor, "
                   "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
                   "autovacuum_vacuum_cost_delay)")
