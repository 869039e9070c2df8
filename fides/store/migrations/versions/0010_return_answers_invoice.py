"""each NOEMIE return records the sending it answers (insurance_return.invoice_id)

The dashboard's payments and rejects pages, and the reject rate, looked up for every return the
latest invoice of its titre sent before it: a million payments took 2.6 s for the payments per
month. The returns flow already knows that invoice when it applies a return (it checks the
amount against it): it is now kept on the return, and the pages join it by its key. Existing
returns get it here, by the same rule the pages used (latest invoice of the titre sent at or
before the return); none for a return whose titre has no invoice.

No foreign key, as on the invoices themselves (migration 0008): invoices are never deleted and
`fides doctor` counts returns naming a missing one.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('insurance_return', sa.Column('invoice_id', sa.BigInteger(), nullable=True))
    op.execute("""
        UPDATE insurance_return r SET invoice_id = (
            SELECT i.id FROM invoice i WHERE i.titre_id = r.titre_id AND i.created_at <= r.at
            ORDER BY i.created_at DESC, i.id DESC LIMIT 1)
        WHERE r.titre_id IS NOT NULL
    """)


def downgrade() -> None:
    op.drop_column('insurance_return', 'invoice_id')
