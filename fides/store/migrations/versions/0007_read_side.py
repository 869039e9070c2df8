"""read side: the dashboard and retention find sendings, returns, errors and creations by index

Measured on 100 000 dossiers (a year of lots, 10 % rejected, 75 % paid, 3 000 old refused files):
- a sending is found by its titre (the sending a return answers, the next sending of the same
  titre): the reject, payment and lot views scanned the invoices once per return (payments by
  month over 3 min, rejects 178 s, a lot's invoices 16 s);
- returns are found by titre (those answering a sending: the reject rate took over 3 min) and by
  file (retention deletes an old refused file only when nothing refers to it: the foreign key's
  check scanned every return once per file, 42 of the 46 s of a purge);
- a duplicate is found by the file it duplicates (the same check, on flux_file);
- a dossier's anomalies, inactive ones included (the partial index has only the active ones);
- a file's errors in line order (the first errors of a page of files, a page of a file's
  errors); the index on file_id alone goes: it is a prefix of the new one;
- a dossier's creation event is found through the file that created it, now kept on the dossier
  (`creation_file_id`): it was the smallest file id of its lines, a walk of the lines' file_id
  index until the dossier came up (40 ms a dossier page). Filled from the audit trail's creation
  events (their detail names the ids as ranges: "3 dossiers : 7-8,12"), then, for dossiers whose
  event was purged, from their lines as before. 2 s for 100 000 dossiers.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_FROM_AUDIT = r"""
UPDATE dossier d SET creation_file_id = c.file_id
FROM (SELECT e.file_id, split_part(r, '-', 1)::bigint AS low,
             coalesce(nullif(split_part(r, '-', 2), ''), split_part(r, '-', 1))::bigint AS high
      FROM audit_event e CROSS JOIN LATERAL unnest(string_to_array(split_part(e.detail, ' : ', 2), ',')) AS r
      WHERE e.event = 'creation' AND e.dossier_id IS NULL AND e.file_id IS NOT NULL
        AND r ~ '^[0-9]+(-[0-9]+)?$') c
WHERE d.id BETWEEN c.low AND c.high
"""

_FROM_LINES = """
UPDATE dossier d SET creation_file_id = m.file_id
FROM (SELECT dossier_id, min(file_id) AS file_id FROM dossier_line GROUP BY dossier_id) m
WHERE d.id = m.dossier_id AND d.creation_file_id IS NULL
"""


def upgrade() -> None:
    op.add_column('dossier', sa.Column('creation_file_id', sa.BigInteger(), nullable=True))
    op.execute(_FROM_AUDIT)
    op.execute(_FROM_LINES)
    op.create_index('ix_invoice_titre_id_created_at_id', 'invoice', ['titre_id', 'created_at', 'id'])
    op.create_index('ix_insurance_return_titre_id_kind_at', 'insurance_return', ['titre_id', 'kind', 'at'])
    op.create_index('ix_anomaly_dossier_id', 'anomaly', ['dossier_id'])
    op.create_index('ix_file_error_file_id_line_no_position_id', 'file_error', ['file_id', 'line_no', 'position', 'id'])
    op.drop_index('ix_file_error_file_id', table_name='file_error')
    op.create_index('ix_insurance_return_file_id', 'insurance_return', ['file_id'])
    op.create_index('ix_flux_file_duplicate_of', 'flux_file', ['duplicate_of'],
                    postgresql_where=sa.text('duplicate_of IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_flux_file_duplicate_of', table_name='flux_file')
    op.drop_index('ix_insurance_return_file_id', table_name='insurance_return')
    op.create_index('ix_file_error_file_id', 'file_error', ['file_id'])
    op.drop_index('ix_file_error_file_id_line_no_position_id', table_name='file_error')
    op.drop_index('ix_anomaly_dossier_id', table_name='anomaly')
    op.drop_index('ix_insurance_return_titre_id_kind_at', table_name='insurance_return')
    op.drop_index('ix_invoice_titre_id_created_at_id', table_name='invoice')
    op.drop_column('dossier', 'creation_file_id')
