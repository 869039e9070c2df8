"""The declared schema. Migrations (`fides/store/migrations`) must produce exactly this; a test
compares the migrated database with these tables."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)


# Identifiers and codes (N° administratif, FINESS, budget, flux kind, file name...) compare byte
# for byte: an index on them then never calls the locale's collation, which on a French server
# (fr_FR.UTF-8) made the dossier key's insertions ~50 % dearer and its lookups 3x slower
# (migration 0011). Every text column of an index or a key is one (a test checks it).
Code = Text(collation="C")


def _id() -> Column:
    return Column("id", BigInteger, Identity(), primary_key=True)


def _now(name: str) -> Column:
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


# One row per input file seen: its identity, outcome and the acknowledgement to (re)write.
flux_file = Table(
    "flux_file",
    metadata,
    _id(),
    Column("name", Code, nullable=False),
    Column("flux", Text, nullable=False),
    Column("finess", Text),
    Column("sha256", Code, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("status", Text, nullable=False),  # OK, KO, PARTIEL, DOUBLON
    Column("applied", Boolean, nullable=False, server_default=text("false")),
    Column("duplicate_of", BigInteger, ForeignKey("flux_file.id")),
    Column("lines_read", Integer, nullable=False, server_default=text("0")),
    Column("lines_integrated", Integer, nullable=False, server_default=text("0")),
    Column("lines_refused", Integer, nullable=False, server_default=text("0")),
    Column("errors_total", Integer, nullable=False, server_default=text("0")),
    Column("arl_text", Text, nullable=False),
    Column("destination", Text, nullable=False),  # path relative to the root
    Column("finished", Boolean, nullable=False, server_default=text("false")),
    Column("received_at", DateTime(timezone=True)),
    _now("processed_at"),
    Column("processed_by", Text),
    Index("ix_flux_file_sha256_applied", "sha256", unique=True, postgresql_where=text("applied")),
    Index("ix_flux_file_name_sha256", "name", "sha256"),
    Index("ix_flux_file_unfinished", "finished", postgresql_where=text("NOT finished")),
    # deleting a file (retention) checks that no duplicate names it (migration 0007)
    Index("ix_flux_file_duplicate_of", "duplicate_of", postgresql_where=text("duplicate_of IS NOT NULL")),
)

file_error = Table(
    "file_error",
    metadata,
    _id(),
    Column("file_id", BigInteger, ForeignKey("flux_file.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("code", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("message", Text, nullable=False),
    # a file's errors are read in this order, a page or the first few at a time (migration 0007)
    Index("ix_file_error_file_id_line_no_position_id", "file_id", "line_no", "position", "id"),
)

dossier = Table(
    "dossier",
    metadata,
    _id(),
    Column("finess", Code, nullable=False),
    Column("nda", Code, nullable=False),
    Column("state", SmallInteger, nullable=False, server_default=text("0")),
    _now("state_at"),
    _now("created_at"),
    Column("to_validate", Boolean, nullable=False, server_default=text("true")),
    _now("last_flow_at"),
    Column("never_b2", Boolean, nullable=False, server_default=text("false")),
    Column("billable_b2", Boolean),
    Column("extract_reason", Text),
    Column("entry_date", Date),
    Column("exit_date", Date),
    Column("last_code", Text),
    # the file whose lines created the dossier: its creation event is found through it (migration
    # 0007); no foreign key, as on dossier_line: a per-row check on the ingestion's hot path
    Column("creation_file_id", BigInteger),
    # the kinds of its current lines, a bit each (VIDHOSP 1, RSS 2, FICHCOMP 4; migration 0012): set
    # with the lines, never cleared (a line stops being current only when one of its kind replaces
    # it), so the merge skips looking for lines to retire, or for a VIDHOSP line, a probe each
    Column("line_kinds", SmallInteger, nullable=False, server_default=text("0")),
    UniqueConstraint("finess", "nda"),
    # the validation sweep and the billing run walk these in id order, a batch at a time;
    # new dossiers (EN_COURS) skip the VALIDE one
    Index("ix_dossier_pending", "id", postgresql_where=text("to_validate")),
    Index("ix_dossier_valide", "id", postgresql_where=text("state = 1")),
    postgresql_with={"fillfactor": 50},  # room for HOT updates (migrations 0003, 0005)
)

# Every version of every integrated line; `current` marks the one in force. A row is the line
# `line_no` of the file `file_id`: that is its key (migration 0009, no surrogate id).
# No foreign keys on this hot table: rows are only written by the set-based merge, which takes
# both ids from rows it has just read; per-row FK triggers cost more than the insert itself
# (measured: 560 of 885 ms for 50 000 lines).
dossier_line = Table(
    "dossier_line",
    metadata,
    Column("dossier_id", BigInteger, nullable=False),
    Column("kind", Code, nullable=False),  # VIDHOSP, RSS, FICHCOMP
    Column("subtype", Code, nullable=False),  # FICHCOMP type de prestation, VIDHOSP part, '' for RSS
    Column("layout", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("line", Text, nullable=False),
    Column("file_id", BigInteger, primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("current", Boolean, nullable=False, server_default=text("true")),
    Column("replaced_at", DateTime(timezone=True)),
    Index("ix_dossier_line_current", "dossier_id", "kind", "subtype", postgresql_where=text("current")),
)

# UM -> FINESS géographique, from IUM files; the latest file replaces the list.
unite_medicale = Table(
    "unite_medicale",
    metadata,
    _id(),
    Column("finess", Code, nullable=False),  # FINESS e-PMSI of the establishment
    Column("um", Code, nullable=False),
    Column("finess_geo", Text, nullable=False),
    Column("type_autorisation", Text, nullable=False),
    Column("date_effet", Date, nullable=False),
    Column("mode_hospitalisation", Text, nullable=False),
    Column("file_id", BigInteger, ForeignKey("flux_file.id"), nullable=False),
    Column("current", Boolean, nullable=False, server_default=text("true")),
    Index("ix_unite_medicale_lookup", "finess", "um", "date_effet", postgresql_where=text("current")),
)

referential_row = Table(
    "referential_row",
    metadata,
    _id(),
    Column("table_name", Code, nullable=False),
    Column("key", Code, nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("data", JSONB, nullable=False),
    Index("ix_referential_row_table_key", "table_name", "key"),
)

referential_load = Table(
    "referential_load",
    metadata,
    Column("table_name", Code, primary_key=True),
    Column("checksum", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    _now("loaded_at"),
)

anomaly = Table(
    "anomaly",
    metadata,
    _id(),
    Column("dossier_id", BigInteger, nullable=False),  # no foreign key: migration 0008
    Column("code", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("origin", Text, nullable=False),  # validation, billing, return
    _now("at"),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Index("ix_anomaly_active", "dossier_id", postgresql_where=text("active")),
    Index("ix_anomaly_dossier_id", "dossier_id"),  # a dossier's history, inactive ones too
)

# Tamper-evident trail: each row's hash covers its content and the previous row's hash.
audit_event = Table(
    "audit_event",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("dossier_id", BigInteger),
    Column("file_id", BigInteger),
    Column("line_no", Integer),
    Column("from_state", SmallInteger),
    Column("to_state", SmallInteger),
    Column("detail", Text, nullable=False, server_default=text("''")),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Index("ix_audit_event_dossier_id", "dossier_id"),
    Index("ix_audit_event_file_id", "file_id", postgresql_where=text("dossier_id IS NULL")),  # creation batches
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("singleton", Boolean, primary_key=True, server_default=text("true")),
    Column("last_id", BigInteger, nullable=False),
    Column("last_hash", Text, nullable=False),
)

# Outputs decided in a transaction and written to disk after its commit (and again by recovery
# if the process died in between); a row disappears once its file is in place.
pending_output = Table(
    "pending_output",
    metadata,
    _id(),
    Column("path", Text, nullable=False),  # relative to the root
    Column("content", LargeBinary, nullable=False),  # stored uncompressed (migration 0006)
    Column("file_id", BigInteger, ForeignKey("flux_file.id")),
    Column("staged", Text),  # the content's file under out/.staging instead (migration 0013)
    _now("created_at"),
)

job_run = Table(
    "job_run",
    metadata,
    Column("job", Code, primary_key=True),
    Column("period", Code, primary_key=True),
    Column("claimed_by", Text, nullable=False),
    _now("started_at"),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", Text),
)

# --- billing ----------------------------------------------------------------------------------
titre_counter = Table(
    "titre_counter",
    metadata,
    Column("exercice", Integer, primary_key=True),
    Column("budget", Code, primary_key=True),
    Column("next_numero", BigInteger, nullable=False),
)

titre = Table(
    "titre",
    metadata,
    _id(),
    Column("exercice", Integer, nullable=False),
    Column("budget", Code, nullable=False),
    Column("numero", BigInteger, nullable=False),
    Column("complement", Code, nullable=False),
    Column("dossier_id", BigInteger, nullable=False),  # no foreign key: migration 0008
    _now("created_at"),
    Column("cancelled_at", DateTime(timezone=True)),
    UniqueConstraint("exercice", "budget", "numero"),
    Index("ix_titre_numero_complement", "numero", "complement"),
    Index("ix_titre_dossier_id", "dossier_id"),
)

lot_counter = Table(
    "lot_counter",
    metadata,
    Column("finess_geo", Code, primary_key=True),
    Column("last_numero", Integer, nullable=False),
)

lot = Table(
    "lot",
    metadata,
    _id(),
    Column("finess_geo", Code, nullable=False),
    Column("numero", Integer, nullable=False),
    Column("organisme", Text, nullable=False),
    Column("exercice", Integer, nullable=False),
    _now("created_at"),
    Column("b2_file", Text, nullable=False),
    Column("invoices", Integer, nullable=False),
    Column("total", Numeric(12, 2), nullable=False),
    Column("total_amo", Numeric(12, 2), nullable=False),
    Column("arl_status", Text),  # None, POSITIF, NEGATIF
    Column("arl_at", DateTime(timezone=True)),
    Column("arl_code", Text),
    Index("ix_lot_finess_geo_numero", "finess_geo", "numero"),
)

invoice = Table(
    "invoice",
    metadata,
    _id(),
    # no foreign keys: written by the billing run alone, with ids it locked or inserted (migration 0008)
    Column("dossier_id", BigInteger, nullable=False),
    Column("titre_id", BigInteger, nullable=False),
    Column("lot_id", BigInteger, nullable=False),
    Column("total", Numeric(12, 2), nullable=False),
    Column("total_amo", Numeric(12, 2), nullable=False),
    Column("record_count", Integer, nullable=False),
    _now("created_at"),
    Column("current", Boolean, nullable=False, server_default=text("true")),
    Index("ix_invoice_dossier_id", "dossier_id"),
    Index("ix_invoice_lot_id", "lot_id"),
    # the sending a return answers: the latest of its titre before it (migration 0007)
    Index("ix_invoice_titre_id_created_at_id", "titre_id", "created_at", "id"),
)

insurance_return = Table(
    "insurance_return",
    metadata,
    _id(),
    Column("dossier_id", BigInteger, ForeignKey("dossier.id"), nullable=False),
    Column("titre_id", BigInteger, ForeignKey("titre.id")),
    Column("invoice_id", BigInteger),  # the sending it answers (migration 0010); no foreign key, as 0008
    Column("kind", Code, nullable=False),  # REJET, PAIEMENT
    Column("amount", Numeric(12, 2)),
    Column("codes", Text, nullable=False, server_default=text("''")),
    Column("labels", Text, nullable=False, server_default=text("''")),
    Column("file_id", BigInteger, ForeignKey("flux_file.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    _now("at"),
    Index("ix_insurance_return_dossier_id", "dossier_id"),
    # the returns that answer a sending; a file's returns, checked when retention deletes a file
    # (migration 0007)
    Index("ix_insurance_return_titre_id_kind_at", "titre_id", "kind", "at"),
    Index("ix_insurance_return_file_id", "file_id"),
)

# --- returns, control flows, extracts (fides/returns) -----------------------------------------

# --- service: scheduler, retention, archives --------------------------------------------------
# Where the audit trail starts once its oldest rows have been purged (fides/engine/retention.py):
# the last purged row's id and hash, so that `fides audit verify` checks the chain from there.
# A `purge_journal` event in the remaining trail attests the same anchor.
audit_anchor = Table(
    "audit_anchor",
    metadata,
    Column("singleton", Boolean, primary_key=True, server_default=text("true")),
    Column("purged_to_id", BigInteger, nullable=False),
    Column("purged_to_hash", Text, nullable=False),
    Column("purged_rows", BigInteger, nullable=False),
    Column("purged_at", DateTime(timezone=True), nullable=False),
)
