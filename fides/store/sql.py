"""Every SQL statement of the integration path, named, in one place.

Set-based on purpose: a file of a million lines is applied with a handful of statements per chunk
of thousands of lines, never one statement per line.
"""


def int_array(values) -> str:
    """Integers as a PostgreSQL array literal, for a `%s::bigint[]` parameter: psycopg dumps a
    list element by element in Python (measured: 1.8 ms of CPU per 2 000 ids, 0.36 ms this way;
    a billing run passes a dozen such lists per chunk of 2 000 dossiers)."""
    return "{" + ",".join(map(str, values)) + "}"


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

# An output may be queued in several parts (rows with the same path): the file is their contents
# in id order. A billing run queues its report and FACT_SYNT.TXT that way, a part at a time, so
# that its memory does not grow with the number of dossiers.
ADD_OUTPUT = "INSERT INTO pending_output (path, content, file_id) VALUES (%s, %s, %s)"
# An output whose content waits in a file staged under out/.staging (fides.engine.tree.Tree.stage):
# a billing run's B2 lots, hundreds of MB that need not go through PostgreSQL. One row, no content.
ADD_STAGED_OUTPUT = "INSERT INTO pending_output (path, content, file_id, staged) VALUES (%s, '', %s, %s)"
STAGED_OUTPUTS = "SELECT staged FROM pending_output WHERE staged IS NOT NULL"
# Listed first, then read one part at a time: a billing run's reports together weigh tens of MB.
PENDING_OUTPUTS = """
SELECT path, array_agg(id ORDER BY id), max(staged) FROM pending_output WHERE file_id IS NOT DISTINCT FROM %s
GROUP BY path ORDER BY min(id)
"""
OUTPUT_CONTENT = "SELECT content FROM pending_output WHERE id = %s"
DROP_OUTPUT = "DELETE FROM pending_output WHERE id = ANY(%s)"

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
# A file is applied in chunks of a few thousand lines, each with a fixed number of statements:
# the chunk's dossiers are created or locked, then its lines are COPYed once, straight into
# dossier_line (no staging table: every line is written once). A chunk's values are passed as one
# text each, joined by the unit separator (chr 31, which no checked field contains; an empty
# element is NULL): splitting in the server costs far less than adapting a list per element.

# Every chunk statement touches a few thousand rows of tables of millions through their indexes.
# Inside a file's transaction the tables grow faster than their statistics, and the planner then
# chose to scan a whole index or table per chunk (measured: 250 000 FICHCOMP lines on 1 000 000
# dossiers took 17 s, quadratic in the table's size); index probes are forced for the transaction.
# Materialize too: a table never analyzed (a first file, then a second one within the minute
# autovacuum waits) is believed to hold a dozen rows, so the planner read every dossier_line of the
# kind once, materialized it and compared it with every dossier of the chunk (2 001 dossiers sent
# again: 349 ms instead of 27 ms, and growing with the table).
PLAN_BY_INDEX = """
SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off;
SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL enable_material = off
"""

# New dossiers start in EN_COURS (state 0 by default), already touched by this file, with the bit
# of the lines' kind in `line_kinds` (dossier_lines.Part.bit), as every touch below sets it. The
# creating file is kept on the dossier: its history finds its creation event through it (the
# web's DOSSIER_HISTORY).
# A chunk whose dossiers are all new (a first send) COPYs them in a savepoint, with ids taken
# beforehand from the table's sequence, in the file's order: its lines then need no id read back,
# and COPY costs less than INSERT … RETURNING (1 000 000 dossiers: 4.2-4.5 s -> 3.6-3.7 s plus
# 0.4 s for the ids; a named sequence, as pg_get_serial_sequence() per row cost 2.6 s).
# Only when another process created one of them meanwhile does the savepoint roll back and the
# careful statement (ON CONFLICT DO NOTHING, a speculative insertion per row) run instead; its new
# ids come back as two texts (ids, N°s), not as a row each (10 000 rows as Python tuples cost the
# applying side 16 ms).
RESERVE_DOSSIER_IDS = """
SELECT string_agg(id::text, chr(31) ORDER BY id)
FROM (SELECT nextval('dossier_id_seq'::regclass) AS id FROM generate_series(1, %s)) AS s
"""
COPY_DOSSIERS = """
COPY dossier (id, finess, nda, entry_date, exit_date, last_flow_at, creation_file_id, line_kinds) FROM STDIN
(FORMAT BINARY)
"""
CREATE_DOSSIERS_RACED = """
WITH created AS (
    INSERT INTO dossier (finess, nda, entry_date, exit_date, last_flow_at, creation_file_id, line_kinds)
    SELECT %(finess)s, k.nda, k.entry_date, k.exit_date, %(at)s, %(file_id)s, %(bit)s
    FROM unnest(string_to_array(%(nda)s, chr(31)), string_to_array(%(entry)s, chr(31), '')::date[],
                string_to_array(%(exit)s, chr(31), '')::date[]) AS k(nda, entry_date, exit_date)
    ON CONFLICT (finess, nda) DO NOTHING
    RETURNING id, nda
)
SELECT string_agg(id::text, chr(31)), string_agg(nda, chr(31)) FROM created
"""

# The chunk's other dossiers, locked in id order (no deadlock between processes); a dossier not
# EN_COURS refuses its lines. Each N° administratif is looked up through the (finess, nda) index
# (OFFSET 0 keeps it a lookup per N°: as a plain join on a table without statistics, the planner
# walked every dossier of the FINESS for each N° of the chunk, 2 001 dossiers: 240 ms instead of
# 8 ms), then the rows are locked by {key}:
# - ctid, where the lookup found them: no second index probe (24 000 dossiers: 75 -> 67 ms). For a
#   row another transaction updated meanwhile, PostgreSQL 16 locks its latest version (a test checks
#   it); versions that check the moved row against the ctid list leave it out: its N° then looks
#   missing, and the careful creation finds it and locks it by
# - id, through the primary key, which follows a row to its latest version.
# The answer is six texts: the EN_COURS dossiers' ids, N°s and ctids (the touch finds them by it:
# locked, they cannot move), those of their N°s that hold lines of the kind (`bit`), and the other
# dossiers' N°s and states.
LOCK_DOSSIERS = """
SELECT string_agg(l.id::text, chr(31)) FILTER (WHERE l.state = %(en_cours)s),
       string_agg(l.nda, chr(31)) FILTER (WHERE l.state = %(en_cours)s),
       string_agg(l.ctid::text, chr(31)) FILTER (WHERE l.state = %(en_cours)s),
       string_agg(l.nda, chr(31)) FILTER (WHERE l.state = %(en_cours)s AND l.line_kinds & %(bit)s <> 0),
       string_agg(l.nda, chr(31)) FILTER (WHERE l.state <> %(en_cours)s),
       string_agg(l.state::text, chr(31)) FILTER (WHERE l.state <> %(en_cours)s)
FROM (SELECT d.id, d.nda, d.state, d.line_kinds, d.ctid FROM dossier d
      WHERE d.{key} = ANY(ARRAY(SELECT f.{key} FROM unnest(string_to_array(%(nda)s, chr(31))) AS k(nda)
                                CROSS JOIN LATERAL (SELECT {key} FROM dossier WHERE finess = %(finess)s
                                                    AND nda = k.nda OFFSET 0) AS f))
      ORDER BY d.id FOR UPDATE) AS l
"""

# The previous current lines of the same part. {scope} is "" (the whole kind is replaced) or
# "AND dl.subtype = k.subtype" (FICHCOMP: one type de prestation). Lines of this same file stay
# current (an RSS's RUMs may span two chunks), except for single-line kinds where the last wins.
# Looked up per dossier through ix_dossier_line_current (as a join, a constant on `kind` without
# statistics looked selective and the planner walked every current line of the kind for each
# dossier of the chunk, 2 001 dossiers: 733 ms instead of 27), then updated where the lookup found
# them (ctid): no primary-key probe. Nothing else moves them meanwhile: a process changes a
# dossier's lines only once it holds the dossier's lock.
RETIRE_LINES = """
UPDATE dossier_line SET current = false, replaced_at = %(at)s
WHERE ctid = ANY(ARRAY(
    SELECT dl.ctid FROM unnest(string_to_array(%(id)s, chr(31))::bigint[],
                               string_to_array(%(subtype)s, chr(31), '')) AS k(dossier_id, subtype)
    CROSS JOIN LATERAL (SELECT ctid FROM dossier_line dl WHERE dl.dossier_id = k.dossier_id
                        AND dl.kind = %(kind)s AND dl.current {scope}
                        AND (dl.file_id <> %(file_id)s OR %(single)s) OFFSET 0) AS dl))
"""

# In binary COPY format (fides.store.binary), as COPY_DOSSIERS.
COPY_LINES = """
COPY dossier_line (dossier_id, kind, subtype, layout, line, seq, file_id, line_no, current) FROM STDIN (FORMAT BINARY)
"""

# Existing dossiers the chunk touched: to validate again. VIDHOSP gives the stay's dates;
# FICHCOMP none; RSS its RUMs' span, only while no VIDHOSP line gives the stay's own dates (its
# bit in line_kinds, 1; and widened, not replaced, when an earlier chunk of this file set them).
# Found by their ctid, as LOCK_DOSSIERS answered it (24 000 dossiers: 71 -> 64 ms).
TOUCH_DOSSIERS = """
UPDATE dossier d SET to_validate = true, last_flow_at = %(at)s, line_kinds = d.line_kinds | %(bit)s
FROM unnest(string_to_array(%(tid)s, chr(31))::tid[]) AS k(tid) WHERE d.ctid = k.tid
"""

TOUCH_DOSSIERS_FROM_VIDHOSP = """
UPDATE dossier d SET to_validate = true, last_flow_at = %(at)s, entry_date = k.entry_date, exit_date = k.exit_date,
       line_kinds = d.line_kinds | %(bit)s
FROM unnest(string_to_array(%(tid)s, chr(31))::tid[], string_to_array(%(entry)s, chr(31), '')::date[],
            string_to_array(%(exit)s, chr(31), '')::date[]) AS k(tid, entry_date, exit_date)
WHERE d.ctid = k.tid
"""

TOUCH_DOSSIERS_FROM_RSS = """
UPDATE dossier d SET to_validate = true, last_flow_at = %(at)s, line_kinds = d.line_kinds | %(bit)s,
       entry_date = CASE WHEN d.line_kinds & 1 <> 0 THEN d.entry_date WHEN d.last_flow_at = %(at)s
                         THEN least(d.entry_date, k.entry_date) ELSE k.entry_date END,
       exit_date = CASE WHEN d.line_kinds & 1 <> 0 THEN d.exit_date WHEN d.last_flow_at = %(at)s
                        THEN greatest(d.exit_date, k.exit_date) ELSE k.exit_date END
FROM unnest(string_to_array(%(tid)s, chr(31))::tid[], string_to_array(%(entry)s, chr(31), '')::date[],
            string_to_array(%(exit)s, chr(31), '')::date[]) AS k(tid, entry_date, exit_date)
WHERE d.ctid = k.tid
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
WHERE d.id = ANY(%s::bigint[]) ORDER BY d.id, l.kind, l.seq
"""

UNITES_MEDICALES = """
SELECT um, date_effet, finess_geo, type_autorisation FROM unite_medicale
WHERE finess = %s AND current ORDER BY um, date_effet
"""

# --- dossier states (used only by fides.dossiers) ----------------------------------------------

# Lock the rows in id order (no deadlock between processes) and learn their state.
LOCK_STATES = "SELECT id, state FROM dossier WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE"

# Before a large validation sweep (fides.engine.validation._analyze).
ANALYZE_DOSSIERS = "ANALYZE (SKIP_LOCKED) dossier"

# An UPDATE joining a batch's values (an unnest) on `dossier` repeats the batch's ids as
# `d.id = ANY(ids)`: with the join alone, the planner hashed the whole table for each batch (a
# sequential scan of 100 000 dossiers to move 2 000: 30-64 ms a batch instead of 13-14, and
# growing with the table); with the ids, it reads the batch's rows through the primary key.
BY_IDS = "d.id = ANY(%(ids)s::bigint[])"

# Move the rows of one from-state. {extra}: the trigger's own assignments. {values}/{assign}: an
# optional join on per-dossier values (unnest of the ids and one array per column) and their
# assignments; without values, {values} is "" and the rows are `d.id = ANY(%(ids)s::bigint[])`.
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
