"""sweep indexes: pending and VALIDE dossiers found in id order

The validation sweep and the billing run walk their dossiers in id order, a batch at a time
(`id > last ORDER BY id LIMIT n`). An index on `to_validate` (or on `state`) gives the rows but not
their order, so every batch sorted every remaining row: quadratic in the number of dossiers.
Both indexes are partial: a dossier leaves them once validated (pending) or billed (VALIDE);
the VALIDE one is created by 0003.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_dossier_pending', table_name='dossier', postgresql_where=sa.text('to_validate'))
    op.create_index('ix_dossier_pending', 'dossier', ['id'], postgresql_where=sa.text('to_validate'))


def downgrade() -> None:
    op.drop_index('ix_dossier_pending', table_name='dossier', postgresql_where=sa.text('to_validate'))
    op.create_index('ix_dossier_pending', 'dossier', ['to_validate'], postgresql_where=sa.text('to_validate'))
