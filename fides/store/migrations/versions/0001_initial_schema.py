"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('event', sa.Text(), nullable=False),
    sa.Column('dossier_id', sa.BigInteger(), nullable=True),
    sa.Column('file_id', sa.BigInteger(), nullable=True),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('from_state', sa.SmallInteger(), nullable=True),
    sa.Column('to_state', sa.SmallInteger(), nullable=True),
    sa.Column('detail', sa.Text(), server_default=sa.text("''"), nullable=False),
    sa.Column('prev_hash', sa.Text(), nullable=False),
    sa.Column('hash', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    op.create_index('ix_audit_event_dossier_id', 'audit_event', ['dossier_id'], unique=False)
    op.create_table('audit_head',
    sa.Column('singleton', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('singleton', name=op.f('pk_audit_head'))
    )
    op.create_table('dossier',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('finess', sa.Text(), nullable=False),
    sa.Column('nda', sa.Text(), nullable=False),
    sa.Column('state', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('state_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('to_validate', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_flow_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('never_b2', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('billable_b2', sa.Boolean(), nullable=True),
    sa.Column('extract_reason', sa.Text(), nullable=True),
    sa.Column('entry_date', sa.Date(), nullable=True),
    sa.Column('exit_date', sa.Date(), nullable=True),
    sa.Column('last_code', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier')),
    sa.UniqueConstraint('finess', 'nda', name=op.f('uq_dossier_finess_nda'))
    )
    op.create_index('ix_dossier_exit_date', 'dossier', ['exit_date'], unique=False)
    op.create_index('ix_dossier_pending', 'dossier', ['to_validate'], unique=False, postgresql_where=sa.text('to_validate'))
    op.create_index('ix_dossier_state', 'dossier', ['state'], unique=False)
    op.create_table('flux_file',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('flux', sa.Text(), nullable=False),
    sa.Column('finess', sa.Text(), nullable=True),
    sa.Column('sha256', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('applied', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('duplicate_of', sa.BigInteger(), nullable=True),
    sa.Column('lines_read', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('lines_integrated', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('lines_refused', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('errors_total', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('arl_text', sa.Text(), nullable=False),
    sa.Column('destination', sa.Text(), nullable=False),
    sa.Column('finished', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('processed_by', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['duplicate_of'], ['flux_file.id'], name=op.f('fk_flux_file_duplicate_of')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flux_file'))
    )
    op.create_index('ix_flux_file_name_sha256', 'flux_file', ['name', 'sha256'], unique=False)
    op.create_index('ix_flux_file_sha256_applied', 'flux_file', ['sha256'], unique=True, postgresql_where=sa.text('applied'))
    op.create_index('ix_flux_file_unfinished', 'flux_file', ['finished'], unique=False, postgresql_where=sa.text('NOT finished'))
    op.create_table('job_run',
    sa.Column('job', sa.Text(), nullable=False),
    sa.Column('period', sa.Text(), nullable=False),
    sa.Column('claimed_by', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('job', 'period', name=op.f('pk_job_run'))
    )
    op.create_table('lot',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('finess_geo', sa.Text(), nullable=False),
    sa.Column('numero', sa.Integer(), nullable=False),
    sa.Column('organisme', sa.Text(), nullable=False),
    sa.Column('exercice', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('b2_file', sa.Text(), nullable=False),
    sa.Column('invoices', sa.Integer(), nullable=False),
    sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('total_amo', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('arl_status', sa.Text(), nullable=True),
    sa.Column('arl_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('arl_code', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot'))
    )
    op.create_index('ix_lot_finess_geo_numero', 'lot', ['finess_geo', 'numero'], unique=False)
    op.create_table('lot_counter',
    sa.Column('finess_geo', sa.Text(), nullable=False),
    sa.Column('last_numero', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('finess_geo', name=op.f('pk_lot_counter'))
    )
    op.create_table('referential_load',
    sa.Column('table_name', sa.Text(), nullable=False),
    sa.Column('checksum', sa.Text(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('table_name', name=op.f('pk_referential_load'))
    )
    op.create_table('referential_row',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('table_name', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referential_row'))
    )
    op.create_index('ix_referential_row_table_key', 'referential_row', ['table_name', 'key'], unique=False)
    op.create_table('titre_counter',
    sa.Column('exercice', sa.Integer(), nullable=False),
    sa.Column('budget', sa.Text(), nullable=False),
    sa.Column('next_numero', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('exercice', 'budget', name=op.f('pk_titre_counter'))
    )
    op.create_table('anomaly',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('dossier_id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('severity', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('origin', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_anomaly_dossier_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anomaly'))
    )
    op.create_index('ix_anomaly_active', 'anomaly', ['dossier_id'], unique=False, postgresql_where=sa.text('active'))
    op.create_table('dossier_line',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('dossier_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('subtype', sa.Text(), nullable=False),
    sa.Column('layout', sa.Text(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('file_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('current', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_line'))
    )
    op.create_index('ix_dossier_line_current', 'dossier_line', ['dossier_id', 'kind', 'subtype'], unique=False, postgresql_where=sa.text('current'))
    op.create_index('ix_dossier_line_file_id', 'dossier_line', ['file_id'], unique=False)
    op.create_table('file_error',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('file_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('severity', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['flux_file.id'], name=op.f('fk_file_error_file_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_file_error'))
    )
    op.create_index(op.f('ix_file_error_file_id'), 'file_error', ['file_id'], unique=False)
    op.create_table('pending_output',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('file_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['flux_file.id'], name=op.f('fk_pending_output_file_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_output'))
    )
    op.create_table('titre',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('exercice', sa.Integer(), nullable=False),
    sa.Column('budget', sa.Text(), nullable=False),
    sa.Column('numero', sa.BigInteger(), nullable=False),
    sa.Column('complement', sa.Text(), nullable=False),
    sa.Column('dossier_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_titre_dossier_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_titre')),
    sa.UniqueConstraint('exercice', 'budget', 'numero', name=op.f('uq_titre_exercice_budget_numero'))
    )
    op.create_index('ix_titre_dossier_id', 'titre', ['dossier_id'], unique=False)
    op.create_index('ix_titre_numero_complement', 'titre', ['numero', 'complement'], unique=False)
    op.create_table('unite_medicale',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('finess', sa.Text(), nullable=False),
    sa.Column('um', sa.Text(), nullable=False),
    sa.Column('finess_geo', sa.Text(), nullable=False),
    sa.Column('type_autorisation', sa.Text(), nullable=False),
    sa.Column('date_effet', sa.Date(), nullable=False),
    sa.Column('mode_hospitalisation', sa.Text(), nullable=False),
    sa.Column('file_id', sa.BigInteger(), nullable=False),
    sa.Column('current', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['flux_file.id'], name=op.f('fk_unite_medicale_file_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unite_medicale'))
    )
    op.create_index('ix_unite_medicale_lookup', 'unite_medicale', ['finess', 'um', 'date_effet'], unique=False, postgresql_where=sa.text('current'))
    op.create_table('insurance_return',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('dossier_id', sa.BigInteger(), nullable=False),
    sa.Column('titre_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('codes', sa.Text(), server_default=sa.text("''"), nullable=False),
    sa.Column('labels', sa.Text(), server_default=sa.text("''"), nullable=False),
    sa.Column('file_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_insurance_return_dossier_id')),
    sa.ForeignKeyConstraint(['file_id'], ['flux_file.id'], name=op.f('fk_insurance_return_file_id')),
    sa.ForeignKeyConstraint(['titre_id'], ['titre.id'], name=op.f('fk_insurance_return_titre_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insurance_return'))
    )
    op.create_index('ix_insurance_return_dossier_id', 'insurance_return', ['dossier_id'], unique=False)
    op.create_table('invoice',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('dossier_id', sa.BigInteger(), nullable=False),
    sa.Column('titre_id', sa.BigInteger(), nullable=False),
    sa.Column('lot_id', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('total_amo', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('current', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_invoice_dossier_id')),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_invoice_lot_id')),
    sa.ForeignKeyConstraint(['titre_id'], ['titre.id'], name=op.f('fk_invoice_titre_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice'))
    )
    op.create_index('ix_invoice_dossier_id', 'invoice', ['dossier_id'], unique=False)
    op.create_index('ix_invoice_lot_id', 'invoice', ['lot_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_invoice_lot_id', table_name='invoice')
    op.drop_index('ix_invoice_dossier_id', table_name='invoice')
    op.drop_table('invoice')
    op.drop_index('ix_insurance_return_dossier_id', table_name='insurance_return')
    op.drop_table('insurance_return')
    op.drop_index('ix_unite_medicale_lookup', table_name='unite_medicale', postgresql_where=sa.text('current'))
    op.drop_table('unite_medicale')
    op.drop_index('ix_titre_numero_complement', table_name='titre')
    op.drop_index('ix_titre_dossier_id', table_name='titre')
    op.drop_table('titre')
    op.drop_table('pending_output')
    op.drop_index(op.f('ix_file_error_file_id'), table_name='file_error')
    op.drop_table('file_error')
    op.drop_index('ix_dossier_line_file_id', table_name='dossier_line')
    op.drop_index('ix_dossier_line_current', table_name='dossier_line', postgresql_where=sa.text('current'))
    op.drop_table('dossier_line')
    op.drop_index('ix_anomaly_active', table_name='anomaly', postgresql_where=sa.text('active'))
    op.drop_table('anomaly')
    op.drop_table('titre_counter')
    op.drop_index('ix_referential_row_table_key', table_name='referential_row')
    op.drop_table('referential_row')
    op.drop_table('referential_load')
    op.drop_table('lot_counter')
    op.drop_index('ix_lot_finess_geo_numero', table_name='lot')
    op.drop_table('lot')
    op.drop_table('job_run')
    op.drop_index('ix_flux_file_unfinished', table_name='flux_file', postgresql_where=sa.text('NOT finished'))
    op.drop_index('ix_flux_file_sha256_applied', table_name='flux_file', postgresql_where=sa.text('applied'))
    op.drop_index('ix_flux_file_name_sha256', table_name='flux_file')
    op.drop_table('flux_file')
    op.drop_index('ix_dossier_state', table_name='dossier')
    op.drop_index('ix_dossier_pending', table_name='dossier', postgresql_where=sa.text('to_validate'))
    op.drop_index('ix_dossier_exit_date', table_name='dossier')
    op.drop_table('dossier')
    op.drop_table('audit_head')
    op.drop_index('ix_audit_event_dossier_id', table_name='audit_event')
    op.drop_table('audit_event')
