"""ingestion indexes: dossiers found by state only when VALIDE; creation events found by file

A new dossier (EN_COURS) no longer enters a state index: only VALIDE ones are looked up by state
(billing `*`), and each index on `dossier` costs 1 to 2 µs per created dossier. The exit date
index goes: its readers (the monthly EXTRACTEPMSI, the dashboard's monthly charts) read a month or
more of dossiers, for which a scan is as fast. Creation is audited
once per batch (dossier_id NULL), found through the file that created the dossier. Dossier pages
keep 30 % free so that the update each new flow makes (to validate again, last flow time) stays
on its page without touching the indexes (a HOT update).

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
    op.execute("ALTER TABLE dossier SET (fillfactor = 70)")
    op.drop_index('ix_dossier_state', table_name='dossier')
    op.drop_index('ix_dossier_exit_date', table_name='dossier')
    op.create_index('ix_dossier_valide', 'dossier', ['id'], postgresql_where=sa.text('state = 1'))
    op.create_index('ix_audit_event_file_id', 'audit_event', ['file_id'], postgresql_where=sa.text('dossier_id IS NULL'))


def downgrade() -> None:
    op.execute("ALTER TABLE dossier RESET (fillfactor)")
    op.drop_index('ix_audit_event_file_id', table_name='audit_event')
    op.drop_index('ix_dossier_valide', table_name='dossier')
    op.create_index('ix_dossier_state', 'dossier', ['state'])
    op.create_index('ix_dossier_exit_date', 'dossier', ['exit_date'])
