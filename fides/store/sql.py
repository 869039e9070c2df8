"""Every SQL statement of the integration path, named, in one place.

Set-based on purpose: a file of a million lines is COPYed into a staging table and merged with a
handful of statements, never one statement per line.
"""

# --- input files -----------------------------------------------------------------------------

INSERT_FILE = """
INSERT INTO flux_file (name, flux, finess, sha256, size, status, arl_text, destination,
                       received_at, processed_by)
VALUES (%(name)s, %(flux)s, %(finess)s, %(sha256)s, %(size)s, 'EN_COURS', '', '',
        %(received_at)s, %(processed_by)s)
RETURNING id
"""

FINISH_FILE_RECORD = """
UPDATE flux_file SET status = %(status)s, applied = %(applied)s, duplicate_of = %(duplicate_of)s,
       lines_read = %(lines_read)s, lines_integrated = %(lines_integrated)s,
       lines_refused = %(lines_refused)s, errors_total = %(errors_total)s,
       arl_text = %(arl_text)s, destination = %(destination)s, processed_at = %(at)s
WHERE id = %(id)s
"""

MARK_FINISHED = "UPDATE flux_file SET finished = true WHERE id = %s"

APPLIED_WITH_HASH = "SELECT id, name FROM flux_file WHERE sha256 = %s AND applied"

UNFINISHED_WITH_NAME = """
SELECT id, sha256, arl_text, destination FROM flux_file
WHERE name = %s AND NOT finished ORDER BY id
"""

UNFINISHED = "SELECT id, name, sha256, arl_text, destination FROM flux_file WHERE NOT finished ORDER BY id"

ADD_OUTPUT = "INSERT INTO pending_output (path, content, file_id) VALUES (%s, %s, %s)"
PENDING_OUTPUTS = "SELECT id, path, content FROM pending_output WHERE file_id IS NOT DISTINCT FROM %s ORDER BY id"
DROP_OUTPUT = "DELETE FROM pending_output WHERE id = %s"

COPY_FILE_ERRORS = "COPY file_error (file_id, line_no, position, code, severity, message) FROM STDIN"

# Fix (several processes): two processes given the same content under two names both saw it
# not yet applied, both applied it, and the second commit hit the unique index on applied hashes
# (UniqueViolation: `fides run` stopped). The content hash is now locked for the transaction
# before the duplicate check, so the second one waits for the first and sees a DOUBLON.
LOCK_CONTENT = "SELECT pg_advisory_xact_lock(hashtext('fides-sha256'), hashtext(%s))"

# Fix (several processes): `recover` lists the unfinished rows, then claims each; a row listed
# while its owner was between commit and finish was "recovered" again once the owner let go (a
# no-op, except that an identical file dropped again under that name meanwhile was archived
# unanswered). The row is read again once claimed.
STILL_UNFINISHED = "SELECT 1 FROM flux_file WHERE id = %s AND NOT finished"

# Session-level lock on a file name: held from claim to move, so two processes never handle the
# same file and a crashed process's claim disappears with its connection.
TRY_CLAIM = "SELECT pg_try_advisory_lock(hashtext('fides-file'), hashtext(%s))"
RELEASE_CLAIM = "SELECT pg_advisory_unlock(hashtext('fides-file'), hashtext(%s))"

# --- dossier lines (VIDHOSP, RSS, FICHCOMP) ------------------------------------------------------

CREATE_STAGE = """
CREATE TEMP TABLE stage_line (
    line_no integer NOT NULL, finess text NOT NULL, nda text NOT NULL, subtype text NOT NULL,
    layout text NOT NULL, seq integer NOT NULL, entry_date date, exit_date date, line text NOT NULL,
    dossier_id bigint, locked boolean
) ON COMMIT DROP
"""

COPY_STAGE = """
COPY stage_line (line_no, finess, nda, subtype, layout, seq, entry_date, exit_date, line) FROM STDIN
"""

# New dossiers are created in EN_COURS (state 0 by default), already up to date: their
# last_flow_at is the file's time, which the TOUCH statements below use to skip them.
CREATE_DOSSIERS = """
INSERT INTO dossier (finess, nda, entry_date, exit_date, last_flow_at)
SELECT DISTINCT ON (finess, nda) finess, nda, entry_date, exit_date, %(at)s FROM stage_line
ORDER BY finess, nda, line_no DESC
ON CONFLICT (finess, nda) DO NOTHING
RETURNING id
"""

# Lock the touched dossiers in id order (no deadlock between processes), learn their state and
# bind the staged lines to them, in one pass.
BIND_STAGE = """
WITH locked AS (
    SELECT d.id, d.finess, d.nda, d.state FROM dossier d
    JOIN (SELECT DISTINCT finess, nda FROM stage_line) k USING (finess, nda)
    ORDER BY d.id FOR UPDATE OF d
)
UPDATE stage_line s SET dossier_id = l.id, locked = (l.state <> 0)
FROM locked l WHERE l.finess = s.finess AND l.nda = s.nda
"""

LOCKED_STAGE_LINES = """
SELECT s.line_no, s.nda, d.state FROM stage_line s JOIN dossier d ON d.id = s.dossier_id
WHERE s.locked ORDER BY s.line_no
"""

# {scope} is "" (whole kind replaced) or "AND dl.subtype = s.subtype" (FICHCOMP: per type).
RETIRE_LINES = """
UPDATE dossier_line dl SET current = false, replaced_at = %(at)s
FROM (SELECT DISTINCT dossier_id, subtype FROM stage_line WHERE NOT locked) s
WHERE dl.dossier_id = s.dossier_id AND dl.kind = %(kind)s AND dl.current {scope}
"""

# Within one file the last line of a dossier wins for single-line kinds (VIDHOSP).
INSERT_LINES = """
INSERT INTO dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no, current)
SELECT s.dossier_id, %(kind)s, s.subtype, s.layout, s.seq, s.line, %(file_id)s, s.line_no,
       CASE WHEN %(single)s THEN s.line_no = max(s.line_no) OVER (PARTITION BY s.dossier_id) ELSE true END
FROM stage_line s WHERE NOT s.locked
"""

TOUCH_DOSSIERS_FROM_VIDHOSP = """
UPDATE dossier d SET to_validate = true, last_flow_at = %(at)s,
       entry_date = s.entry_date, exit_date = s.exit_date
FROM (SELECT DISTINCT ON (dossier_id) dossier_id, entry_date, exit_date FROM stage_line
      WHERE NOT locked ORDER BY dossier_id, line_no DESC) s
WHERE d.id = s.dossier_id AND d.last_flow_at <> %(at)s
"""

# RSS dates only fill in while no VIDHOSP gives the stay's own dates.
TOUCH_DOSSIERS_FROM_RSS = """
UPDATE dossier d SET to_validate = true, last_flow_at = %(at)s,
       entry_date = CASE WHEN v.dossier_id IS NULL THEN s.entry_date ELSE d.entry_date END,
       exit_date = CASE WHEN v.dossier_id IS NULL THEN s.exit_date ELSE d.exit_date END
FROM (SELECT dossier_id, min(entry_date) AS entry_date, max(exit_date) AS exit_date
      FROM stage_line WHERE NOT locked GROUP BY dossier_id) s
LEFT JOIN (SELECT DISTINCT dossier_id FROM dossier_line WHERE kind = 'VIDHOSP' AND current) v
       ON v.dossier_id = s.dossier_id
WHERE d.id = s.dossier_id AND d.last_flow_at <> %(at)s
"""

TOUCH_DOSSIERS = """
UPDATE dossier d SET to_validate = true, last_flow_at = %(at)s
FROM (SELECT DISTINCT dossier_id FROM stage_line WHERE NOT locked) s
WHERE d.id = s.dossier_id AND d.last_flow_at <> %(at)s
"""

# --- UM referential (IUM) ----------------------------------------------------------------------

RETIRE_UMS = "UPDATE unite_medicale SET current = false WHERE finess = %s AND current"

COPY_UMS = """
COPY unite_medicale (finess, um, finess_geo, type_autorisation, date_effet, mode_hospitalisation,
                     file_id) FROM STDIN
"""

UM_FINESS_GEO = """
SELECT um, finess_geo, date_effet FROM unite_medicale WHERE finess = %s AND current
ORDER BY um, date_effet
"""

# --- validation and billing: dossiers read back, a batch at a time -----------------------------

# The current lines of a batch of dossiers, grouped by dossier (fides.store.dossier_data.read).
# Each dossier's lines are fetched through the index, whatever the planner believes: OFFSET 0
# keeps the LATERAL subquery a per-dossier lookup. As a plain join, statistics not yet gathered
# after a large load (the usual case right after ingestion) made it hash the whole dossier_line
# table for every batch: 140 ms instead of 19 ms per 2 000 dossiers, quadratic in the end.
DOSSIER_LINES = """
SELECT d.id, d.finess, d.nda, l.kind, l.subtype, l.layout, l.line
FROM dossier d LEFT JOIN LATERAL (
    SELECT kind, subtype, layout, line, seq FROM dossier_line
    WHERE dossier_id = d.id AND current OFFSET 0
) l ON true
WHERE d.id = ANY(%s) ORDER BY d.id, l.kind, l.seq
"""

UNITES_MEDICALES = """
SELECT um, date_effet, finess_geo, type_autorisation FROM unite_medicale
WHERE finess = %s AND current ORDER BY um, date_effet
"""

# --- dossier states (used only by fides.dossiers) ----------------------------------------------

# Lock the rows in id order (no deadlock between processes) and learn their state.
LOCK_STATES = "SELECT id, state FROM dossier WHERE id = ANY(%s) ORDER BY id FOR UPDATE"

# Move the rows of one from-state. {extra}: the trigger's own assignments. {values}/{assign}: an
# optional join on per-dossier values (unnest of the ids and one array per column) and their
# assignments; without values, {values} is "" and the rows are `d.id = ANY(%(ids)s)`.
# (One statement joining the lock, the transitions and the values was tried: without statistics,
# right after a large load, the planner nested the values under a one-row estimate and compared
# every row of a batch with every other, 0.6 s per 2 000 dossiers.)
SET_STATE = """
UPDATE dossier d SET state = %(to)s, state_at = %(at)s{extra}{assign}
{values}
WHERE {rows} AND d.state = %(from)s
"""

# --- audit trail (used only by fides.audit) ------------------------------------------------------

LOCK_AUDIT_HEAD = "SELECT last_id, last_hash FROM audit_head WHERE singleton FOR UPDATE"
INIT_AUDIT_HEAD = """
INSERT INTO audit_head (singleton, last_id, last_hash) VALUES (true, 0, %s)
ON CONFLICT (singleton) DO NOTHING
"""
MOVE_AUDIT_HEAD = "UPDATE audit_head SET last_id = %s, last_hash = %s WHERE singleton"
COPY_AUDIT = """
COPY audit_event (id, at, actor, event, dossier_id, file_id, line_no, from_state, to_state, detail,
                  prev_hash, hash) FROM STDIN
"""
READ_AUDIT = """
SELECT id, at, actor, event, dossier_id, file_id, line_no, from_state, to_state, detail, prev_hash, hash
FROM audit_event ORDER BY id
"""
