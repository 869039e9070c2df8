"""a pending output may wait in a staged file instead of its row (pending_output.staged)

A billing run queued each B2 lot's file in `pending_output.content`: 100 MB for 100 000 invoices
written through PostgreSQL (its WAL and TOAST) in the run's transaction, then read back and
written to out/b2 after the commit. The run now writes each lot's file under out/.staging
(fsynced before the commit) and its row names that file; after the commit the file is renamed
into place. Rows of other outputs keep their content; `staged` is NULL for them.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('pending_output', sa.Column('staged', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('pending_output', 'staged')
