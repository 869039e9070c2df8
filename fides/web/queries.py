"""Every SQL statement of the dashboard and the JSON API, named, in one place.

All of them read; the only write of the web part (MANAGEREJECT from a button) goes through
`fides.web.actions`, which uses the returns' own statements and `fides.dossiers.change`.
Lists return their total (`count(*) OVER ()`, or a count apart when that is cheaper) as their last
column so one statement gives a page and its total.
Months and days are those of the session time zone, set to the server's local zone by the pool.
"""

# --- overview ---------------------------------------------------------------------------------

# Dossiers per state, and those of them kept out of B2 (not billable, or B2 forbidden): one pass.
STATE_COUNTS = """
SELECT state, count(*), count(*) FILTER (WHERE billable_b2 = false OR never_b2)
FROM dossier WHERE finess = %(finess)s GROUP BY state ORDER BY state
"""

FILE_STATUS_COUNTS = "SELECT status, count(*) FROM flux_file GROUP BY status ORDER BY status"

# Invoices of the dossiers currently in a lot (the latest sending of each) and what was paid.
MONEY = """
SELECT s.invoices, s.billed, p.paid
FROM (SELECT count(*) AS invoices, coalesce(sum(i.total), 0) AS billed
      FROM invoice i JOIN dossier d ON d.id = i.dossier_id WHERE i.current AND d.finess = %(finess)s) s,
     (SELECT coalesce(sum(r.amount), 0) AS paid
      FROM insurance_return r JOIN dossier d ON d.id = r.dossier_id
      WHERE r.kind = 'PAIEMENT' AND d.finess = %(finess)s) p
"""

# Per month of sending: invoices sent, and those of them a NOEMIE 908 rejected. The sending a
# reject answers is found from the reject (there are far fewer of them; it is recorded on it):
# looking for a reject per sending took over a minute for 100 000. MATERIALIZED: every month is
# counted anyway; planned for the last few months only, the join with dossier became a lookup per
# sending.
REJECT_RATE = """
WITH sent AS MATERIALIZED (
  SELECT to_char(i.created_at, 'YYYY-MM') AS month, count(*) AS n
  FROM invoice i JOIN dossier d ON d.id = i.dossier_id
  WHERE d.finess = %(finess)s GROUP BY 1
), rejected AS MATERIALIZED (
  SELECT to_char(s.created_at, 'YYYY-MM') AS month, count(DISTINCT s.id) AS n
  FROM insurance_return r JOIN invoice s ON s.id = r.invoice_id
  JOIN dossier d ON d.id = s.dossier_id
  WHERE r.kind = 'REJET' AND d.finess = %(finess)s GROUP BY 1
)
SELECT s.month, s.n, coalesce(x.n, 0) FROM sent s LEFT JOIN rejected x ON x.month = s.month
ORDER BY 1 DESC LIMIT %(months)s
"""

# Billable dossiers per month of exit and state, in the last months any dossier left: what is
# still to complete, to bill, or done. One pass over the dossiers (the months were a second one).
BACKLOG = """
SELECT month, state, n FROM (
  SELECT to_char(exit_date, 'YYYY-MM') AS month, state,
         count(*) FILTER (WHERE coalesce(billable_b2, true) AND NOT never_b2) AS n,
         dense_rank() OVER (ORDER BY to_char(exit_date, 'YYYY-MM') DESC) AS recent
  FROM dossier
  WHERE finess = %(finess)s AND exit_date IS NOT NULL
  GROUP BY 1, 2
) m
WHERE recent <= %(months)s AND n > 0
ORDER BY 1, 2
"""

# --- files --------------------------------------------------------------------------------------

FILES = """
SELECT id, name, flux, status, lines_read, lines_integrated, lines_refused, errors_total,
       destination, received_at, processed_at, duplicate_of, count(*) OVER ()
FROM flux_file
WHERE (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(flux)s::text IS NULL OR flux = %(flux)s)
  AND (%(name)s::text IS NULL OR strpos(lower(name), lower(%(name)s)) > 0)
ORDER BY processed_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""

FLUX_NAMES = "SELECT DISTINCT flux FROM flux_file ORDER BY flux"

# The first errors of each file of a page, in line order: read a file at a time through the
# errors' index, only as many as shown (a numbering of all the errors read them all: 100 000 for
# one file of a 100 000-line NOEMIE).
FIRST_ERRORS = """
SELECT f.id, e.line_no, e.position, e.code, e.severity, e.message
FROM flux_file f CROSS JOIN LATERAL (
  SELECT line_no, position, code, severity, message, id FROM file_error
  WHERE file_id = f.id ORDER BY line_no, position, id LIMIT %(per_file)s
) e
WHERE f.id = ANY(%(ids)s)
ORDER BY f.id, e.line_no, e.position, e.id
"""

FILE = """
SELECT id, name, flux, status, lines_read, lines_integrated, lines_refused, errors_total,
       destination, received_at, processed_at, duplicate_of, finess, sha256, size, applied,
       processed_by
FROM flux_file WHERE id = %(id)s
"""

# The total apart: counted from the index alone, where a window count read every error's row.
FILE_ERRORS = """
SELECT line_no, position, code, severity, message, (SELECT count(*) FROM file_error WHERE file_id = %(id)s)
FROM file_error WHERE file_id = %(id)s
ORDER BY line_no, position, id
LIMIT %(limit)s OFFSET %(offset)s
"""

FILE_ARL = "SELECT name, arl_text FROM flux_file WHERE id = %(id)s"

# --- dossiers -----------------------------------------------------------------------------------

# nda: a prefix of the N° administratif (the search box). The page is chosen first (with the
# total), then only its rows get their titre and count of active anomalies.
DOSSIERS = """
WITH chosen AS (
  SELECT d.id, d.nda, count(*) OVER () AS total
  FROM dossier d
  WHERE d.finess = %(finess)s
    AND (%(nda)s::text IS NULL OR left(d.nda, length(%(nda)s)) = %(nda)s)
    AND (%(state)s::smallint IS NULL OR d.state = %(state)s)
    AND (NOT %(with_anomalies)s OR EXISTS (SELECT 1 FROM anomaly a WHERE a.dossier_id = d.id AND a.active))
  ORDER BY d.nda
  LIMIT %(limit)s OFFSET %(offset)s
)
SELECT d.nda, d.state, d.state_at, d.entry_date, d.exit_date, d.billable_b2, d.never_b2,
       d.last_code, t.numero, t.complement,
       (SELECT count(*) FROM anomaly a WHERE a.dossier_id = d.id AND a.active) AS anomalies,
       c.total
FROM chosen c JOIN dossier d ON d.id = c.id
LEFT JOIN LATERAL (
  SELECT numero, complement FROM titre WHERE dossier_id = d.id AND cancelled_at IS NULL
  ORDER BY id DESC LIMIT 1
) t ON true
ORDER BY c.nda
"""

DOSSIER = """
SELECT d.id, d.nda, d.state, d.state_at, d.created_at, d.last_flow_at, d.entry_date, d.exit_date,
       d.billable_b2, d.extract_reason, d.never_b2, d.last_code, d.to_validate,
       t.numero, t.complement, l.id, l.numero, l.finess_geo
FROM dossier d
LEFT JOIN LATERAL (
  SELECT numero, complement FROM titre WHERE dossier_id = d.id AND cancelled_at IS NULL
  ORDER BY id DESC LIMIT 1
) t ON true
LEFT JOIN LATERAL (
  SELECT lot_id FROM invoice WHERE dossier_id = d.id AND current ORDER BY id DESC LIMIT 1
) i ON true
LEFT JOIN lot l ON l.id = i.lot_id
WHERE d.finess = %(finess)s AND d.nda = %(nda)s
"""

# The lines in force (VIDHOSP part, RUMs, FICHCOMP) with the file that brought each.
DOSSIER_LINES = """
SELECT l.kind, l.subtype, l.layout, l.seq, l.line, f.id, f.name, l.line_no
FROM dossier_line l JOIN flux_file f ON f.id = l.file_id
WHERE l.dossier_id = %(id)s AND l.current
ORDER BY l.kind DESC, l.subtype, l.seq, l.file_id, l.line_no
"""

DOSSIER_ANOMALIES = """
SELECT code, severity, message, origin, at, active FROM anomaly
WHERE dossier_id = %(id)s ORDER BY active DESC, at DESC, id DESC
"""

DOSSIER_TITRES = """
SELECT numero, complement, exercice, created_at, cancelled_at FROM titre
WHERE dossier_id = %(id)s ORDER BY id
"""

DOSSIER_INVOICES = """
SELECT i.created_at, t.numero, t.complement, l.id, l.numero, l.finess_geo, l.organisme, l.b2_file,
       i.total, i.total_amo, i.current
FROM invoice i JOIN titre t ON t.id = i.titre_id JOIN lot l ON l.id = i.lot_id
WHERE i.dossier_id = %(id)s ORDER BY i.id
"""

DOSSIER_RETURNS = """
SELECT r.kind, r.at, t.numero, t.complement, r.amount, r.codes, r.labels, f.id, f.name, r.line_no
FROM insurance_return r JOIN flux_file f ON f.id = r.file_id
LEFT JOIN titre t ON t.id = r.titre_id
WHERE r.dossier_id = %(id)s ORDER BY r.at, r.id
"""

# A dossier's creation is one event per batch of the file that created it (dossier_id NULL, the
# ids in its detail: fides.dossiers.created_in picks the right batch), found through that file.
DOSSIER_HISTORY = """
SELECT e.id, e.at, e.actor, e.event, e.from_state, e.to_state, e.detail, f.id, f.name, e.line_no, false
FROM audit_event e LEFT JOIN flux_file f ON f.id = e.file_id
WHERE e.dossier_id = %(id)s
UNION ALL
SELECT e.id, e.at, e.actor, e.event, e.from_state, e.to_state, e.detail, f.id, f.name, e.line_no, true
FROM audit_event e JOIN flux_file f ON f.id = e.file_id
WHERE e.dossier_id IS NULL AND e.event = 'creation'
  AND e.file_id = (SELECT creation_file_id FROM dossier WHERE id = %(id)s)
ORDER BY 1
"""


# A return answers a sending (invoice i) when it came after it and before the next sending of
# the same titre (MANAGEREJECT C and ARL négatif send the same titre again in a new lot).
_ANSWERS = """r.titre_id = i.titre_id AND r.at >= i.created_at
  AND NOT EXISTS (SELECT 1 FROM invoice n WHERE n.titre_id = i.titre_id
                  AND (n.created_at, n.id) > (i.created_at, i.id) AND n.created_at <= r.at)"""

# --- lots --------------------------------------------------------------------------------------

# The returns of one kind answering the sendings of lot l, looked up per invoice through the
# titre indexes (OFFSET 0 keeps them lookups: as a join, the planner read every payment once per
# lot, 1.3 s for a page of 50 lots).
_LOT_RETURNS = """FROM invoice i CROSS JOIN LATERAL (
          SELECT r.amount FROM insurance_return r WHERE r.kind = '{kind}' AND """ + _ANSWERS + """ OFFSET 0) r
        WHERE i.lot_id = l.id"""

LOTS = f"""
SELECT l.id, l.finess_geo, l.numero, l.organisme, l.exercice, l.created_at, l.b2_file, l.invoices,
       l.total, l.total_amo, l.arl_status, l.arl_at, l.arl_code,
       (SELECT count(*) {_LOT_RETURNS.format(kind="REJET")}) AS rejected,
       (SELECT coalesce(sum(r.amount), 0) {_LOT_RETURNS.format(kind="PAIEMENT")}) AS paid,
       count(*) OVER ()
FROM lot l
WHERE (%(finess_geo)s::text IS NULL OR l.finess_geo = %(finess_geo)s)
  AND (%(arl)s::text IS NULL OR coalesce(l.arl_status, 'ATTENTE') = %(arl)s)
ORDER BY l.created_at DESC, l.id DESC
LIMIT %(limit)s OFFSET %(offset)s
"""

LOTS_TOTALS = """
SELECT count(*), coalesce(sum(invoices), 0), coalesce(sum(total), 0), coalesce(sum(total_amo), 0) FROM lot l
WHERE (%(finess_geo)s::text IS NULL OR l.finess_geo = %(finess_geo)s)
  AND (%(arl)s::text IS NULL OR coalesce(l.arl_status, 'ATTENTE') = %(arl)s)
"""

LOT = """
SELECT l.id, l.finess_geo, l.numero, l.organisme, l.exercice, l.created_at, l.b2_file, l.invoices,
       l.total, l.total_amo, l.arl_status, l.arl_at, l.arl_code
FROM lot l WHERE l.id = %(id)s
"""

LOT_INVOICES = f"""
SELECT d.nda, d.state, t.numero, t.complement, i.total, i.total_amo, i.record_count, i.current,
       (SELECT string_agg(r.kind || coalesce(' ' || nullif(r.codes, ''), ''), ', ' ORDER BY r.at)
        FROM insurance_return r WHERE {_ANSWERS}) AS returns
FROM invoice i JOIN dossier d ON d.id = i.dossier_id JOIN titre t ON t.id = i.titre_id
WHERE i.lot_id = %(id)s ORDER BY d.nda
"""

# --- rejects and payments -------------------------------------------------------------------------

# A return with its dossier, file, titre and the sending it answers (its amounts and lot, whose
# organisme is the caisse), recorded on the return when it was applied (migration 0010).
_RETURN_AND_SENDING = """FROM insurance_return r
JOIN dossier d ON d.id = r.dossier_id
JOIN flux_file f ON f.id = r.file_id
LEFT JOIN titre t ON t.id = r.titre_id
LEFT JOIN invoice i ON i.id = r.invoice_id
LEFT JOIN lot l ON l.id = i.lot_id
"""

# Every NOEMIE 908 reject, with the sending it answers and the dossier's last RUM (its UM is
# the one billing uses for the FINESS géographique). Filters on month, UM and code are applied by
# the caller (fides.web.data), which parses the RUM with its layout.
REJECTS = f"""
SELECT r.id, r.at, d.nda, d.state, t.numero, t.complement, r.codes, r.labels,
       i.total, i.total_amo, l.id, l.numero, l.finess_geo, l.organisme, rss.layout, rss.line,
       f.id, f.name
{_RETURN_AND_SENDING}LEFT JOIN LATERAL (
  SELECT layout, line FROM dossier_line
  WHERE dossier_id = d.id AND kind = 'RSS' AND current ORDER BY seq DESC, file_id DESC, line_no DESC LIMIT 1
) rss ON true
WHERE r.kind = 'REJET' AND d.finess = %(finess)s
  AND (%(organisme)s::text IS NULL OR l.organisme = %(organisme)s)
  AND (NOT %(pending)s OR d.state = 3)
ORDER BY r.at DESC, r.id DESC
"""

# The matching payments are counted first, then only the page's rows get their sending, titre and
# lot: the total counted every payment with all of them (1.6 s for 75 000 payments). MATERIALIZED:
# planned for every payment (a hash join on dossier), not for the page's first rows (a lookup each).
PAYMENTS = f"""
WITH matching AS MATERIALIZED (
  SELECT r.id, r.at, count(*) OVER () AS total
  FROM insurance_return r JOIN dossier d ON d.id = r.dossier_id
  WHERE r.kind = 'PAIEMENT' AND d.finess = %(finess)s
    AND (%(month)s::text IS NULL OR to_char(r.at, 'YYYY-MM') = %(month)s)
    AND (NOT %(gap)s OR r.amount IS DISTINCT FROM (SELECT total_amo FROM invoice WHERE id = r.invoice_id))
)
SELECT r.at, d.nda, d.state, t.numero, t.complement, r.amount, i.total_amo, i.total, l.id, l.numero,
       l.finess_geo, l.organisme, f.id, f.name, p.total
{_RETURN_AND_SENDING}JOIN (SELECT id, at, total FROM matching ORDER BY at DESC, id DESC
      LIMIT %(limit)s OFFSET %(offset)s) p ON p.id = r.id
ORDER BY r.at DESC, r.id DESC
"""

PAYMENTS_BY_MONTH = """
SELECT to_char(r.at, 'YYYY-MM'), count(*), coalesce(sum(r.amount), 0), coalesce(sum(i.total_amo), 0)
FROM insurance_return r
JOIN dossier d ON d.id = r.dossier_id
LEFT JOIN invoice i ON i.id = r.invoice_id
WHERE r.kind = 'PAIEMENT' AND d.finess = %(finess)s
GROUP BY 1 ORDER BY 1 DESC
"""

# --- scheduled jobs and referentials ----------------------------------------------------------------

JOBS = """
SELECT job, period, claimed_by, started_at, finished_at, outcome, count(*) OVER ()
FROM job_run ORDER BY started_at DESC, job, period
LIMIT %(limit)s OFFSET %(offset)s
"""

# Each loaded table with how many of its rows are in force today and its validity span.
REFERENTIALS = """
SELECT l.table_name, l.rows, l.checksum, l.loaded_at,
       count(r.id) FILTER (WHERE (r.valid_from IS NULL OR r.valid_from <= current_date)
                             AND (r.valid_to IS NULL OR r.valid_to >= current_date)) AS in_force,
       min(r.valid_from), max(r.valid_to)
FROM referential_load l LEFT JOIN referential_row r ON r.table_name = l.table_name
GROUP BY l.table_name, l.rows, l.checksum, l.loaded_at
ORDER BY l.table_name
"""

UNITES_MEDICALES = """
SELECT u.um, u.finess_geo, u.type_autorisation, u.date_effet, u.mode_hospitalisation, f.id, f.name
FROM unite_medicale u JOIN flux_file f ON f.id = u.file_id
WHERE u.finess = %(finess)s AND u.current
ORDER BY u.um, u.date_effet
"""

# --- the MANAGEREJECT button ---------------------------------------------------------------------

LOCK_DOSSIER = "SELECT id FROM dossier WHERE finess = %(finess)s AND nda = %(nda)s FOR UPDATE"
