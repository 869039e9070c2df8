"""each dossier knows the kinds of its current lines (dossier.line_kinds)

Applying a chunk of lines to existing dossiers looked, for every dossier, for its current lines
of the same kind to retire them, and RSS also for a current VIDHOSP line (whose dates win over the
RUMs'): two index probes a dossier, most of them finding nothing when a kind arrives for the first
time (RSS after VIDHOSP: ~2 s of a million dossiers). The dossier now carries the kinds of its
current lines as bits (VIDHOSP 1, RSS 2, FICHCOMP 4), set with its lines. A bit is never cleared:
a line stops being current only when a line of its kind replaces it.

Existing dossiers get theirs from their current lines. The column has a constant default: added
without rewriting the table; the fill rewrites the rows of the dossiers that have lines.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('dossier', sa.Column('line_kinds', sa.SmallInteger(), server_default=sa.text('0'),
                                       nullable=False))
    op.execute("""
        UPDATE dossier d SET line_kinds = k.kinds
        FROM (SELECT dossier_id, bit_or(CASE kind WHEN 'VIDHOSP' THEN 1 WHEN 'RSS' THEN 2
                                                  WHEN 'FICHCOMP' THEN 4 ELSE 0 END)::smallint AS kinds
              FROM dossier_line WHERE current GROUP BY dossier_id) k
        WHERE d.id = k.dossier_id
    """)


def downgrade() -> None:
    op.drop_column('dossier', 'line_kinds')
