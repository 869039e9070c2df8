"""pending outputs stored uncompressed: a billing run's B2 files go through without pglz

Every output waits in `pending_output` until its transaction commits, then is written to disk and
deleted (fides.engine.process): a row lives for seconds. A billing run of 100 000 invoices queues
about 100 MB of B2 files; compressing them with pglz on the way in and decompressing them on the
way out cost about 1.5 s of the run (measured on 24 MB of B2 lots: 0.36 s to insert compressed,
0.05 s uncompressed). The rows are larger on disk for those seconds, which is all they live.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE pending_output ALTER COLUMN content SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("ALTER TABLE pending_output ALTER COLUMN content SET STORAGE EXTENDED")
