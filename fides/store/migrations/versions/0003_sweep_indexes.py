"""sweep indexes: pending and VALIDE dossiers found in id order

The validation sweep and the billing run walk their dossiers in id order, a batch at a time
(`id > last ORDER BY id LIMIT n`). An index on `to_validate` (or on `state`) gives the rows but not
their order, so every batch sorted every remaining row: quadratic in the number of dossiers.
Both indexes are partial: a dossier leaves them once validated (pending) or billed (VALIDE).

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_dossier_pending', table_name='dossier', postgresql_where=sa.text('to_validate'))
    op.create_index('ix_dossier_pending', 'dossier', ['id'], postgresql_where=sa.text('to_validate'))
    op.create_index('ix_dossier_valide', 'dossier', ['id'], postgresql_where=sa.text('state = 1'))


def downgrade() -> None:
    op.drop_index('ix_dossier_valide', table_name='dossier', postgresql_where=sa.text('state = 1'))
    op.drop_index('ix_dossier_pending', table_name='dossier', postgresql_where=sa.text('to_validate'))
    op.create_index('ix_dossier_pending', 'dossier', ['to_validate'], postgresql_where=sa.text('to_validate'))
