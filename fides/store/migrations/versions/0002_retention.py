"""retention: audit trail anchor after a purge

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_anchor',
    sa.Column('singleton', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('purged_to_id', sa.BigInteger(), nullable=False),
    sa.Column('purged_to_hash', sa.Text(), nullable=False),
    sa.Column('purged_rows', sa.BigInteger(), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('singleton', name=op.f('pk_audit_anchor'))
    )


def downgrade() -> None:
    op.drop_table('audit_anchor')
