"""Every SQL statement of fides/returns, named, in one place.

Returns are resolved set-based (one statement for all the titres of a file); control lines are few
and resolved one by one. States change only through `fides.dossiers.change`.
"""

# --- NOEMIE 908 / 578 -------------------------------------------------------------------------

# One row per return of a chunk of the file, in file order: the titre it names, its dossier, the
# invoice the titre was last sent with (its lot and AMO amount, and its id: the sending the return
# answers, kept on the return for the dashboard), whether a return of the same kind
# was already recorded for that sending, and the entity of this file's return recorded for the
# titre by an earlier chunk (the titre is repeated in the file). The lot is looked up by its key
# for the one invoice kept: joined outside the lateral, a plan was seen scanning `lot` for every
# return, and joined inside it, right after a large billing run (no statistics), hashing every lot
# for every return (200 lots: 18 of a 2 000-line chunk's 54 ms).
RESOLVE_RETURNS = """
SELECT s.ord, t.id, t.dossier_id, d.nda, d.state, t.cancelled_at IS NOT NULL, i.lot, i.total_amo,
       coalesce(r.already, false), r.earlier, i.id
FROM unnest(%(numeros)s::bigint[], %(complements)s::text[]) WITH ORDINALITY AS s(numero, complement, ord)
LEFT JOIN titre t ON t.numero = s.numero AND t.complement = s.complement
LEFT JOIN dossier d ON d.id = t.dossier_id
LEFT JOIN LATERAL (
    SELECT i.id, (SELECT l.numero FROM lot l WHERE l.id = i.lot_id) AS lot, i.total_amo, i.created_at FROM invoice i
    WHERE i.dossier_id = t.dossier_id AND i.titre_id = t.id ORDER BY i.current DESC, i.id DESC LIMIT 1
) i ON true
LEFT JOIN LATERAL (
    SELECT bool_or(r.at >= coalesce(i.created_at, '-infinity'::timestamptz)) AS already,
           min(r.line_no) FILTER (WHERE r.file_id = %(file_id)s) AS earlier
    FROM insurance_return r WHERE r.dossier_id = t.dossier_id AND r.titre_id = t.id AND r.kind = %(kind)s
) r ON true
ORDER BY s.ord
"""

COPY_RETURNS = """
COPY insurance_return (dossier_id, titre_id, invoice_id, kind, amount, codes, labels, file_id, line_no, at) FROM STDIN
"""

COPY_ANOMALIES = "COPY anomaly (dossier_id, code, severity, message, origin, at) FROM STDIN"

SET_LAST_CODES = """
UPDATE dossier d SET last_code = v.code
FROM (SELECT unnest(%(ids)s::bigint[]) AS id, unnest(%(codes)s::text[]) AS code) v
WHERE d.id = v.id AND d.id = ANY(%(ids)s::bigint[])  -- the ids again: see fides.store.sql.BY_IDS
"""

# --- lots: NOEMIE 930 and NOEMIEARLNEGATIF --------------------------------------------------------

LOTS_NUMBERED = """
SELECT id, finess_geo, numero, organisme, created_at, arl_status, arl_at FROM lot
WHERE numero = %(numero)s AND (%(geo)s::text IS NULL OR finess_geo = %(geo)s)
ORDER BY id FOR UPDATE
"""

LOT_INVOICES = """
SELECT i.id, i.dossier_id, d.nda FROM invoice i JOIN dossier d ON d.id = i.dossier_id
WHERE i.lot_id = %s AND i.current ORDER BY i.dossier_id
"""

RECORD_ARL = "UPDATE lot SET arl_status = %(status)s, arl_at = %(at)s, arl_code = %(code)s WHERE id = %(id)s"

# An invoice stops being current when its sending is void (ARL négatif, MANAGEREJECT A or C):
# the dossier is billed again, in a new lot, with a new invoice row.
RETIRE_INVOICES = "UPDATE invoice SET current = false WHERE id = ANY(%s::bigint[])"
RETIRE_DOSSIER_INVOICES = "UPDATE invoice SET current = false WHERE dossier_id = ANY(%s) AND current"

# --- MANAGEREJECT, CANCELPAIDREQUEST ---------------------------------------------------------------

DOSSIER_BY_NDA = "SELECT id FROM dossier WHERE finess = %s AND nda = %s"

# complement NULL: the line gave the N° only; the caller refuses an ambiguous answer.
TITRES_NUMBERED = """
SELECT id, dossier_id, cancelled_at IS NOT NULL FROM titre
WHERE numero = %(numero)s AND (%(complement)s::text IS NULL OR complement = %(complement)s)
ORDER BY id
"""

SUBJECT = """
SELECT d.id, d.nda, d.state, d.never_b2,
       EXISTS (SELECT 1 FROM titre t WHERE t.dossier_id = d.id AND t.cancelled_at IS NULL)
FROM dossier d WHERE d.id = %s
"""

CANCEL_TITRES = "UPDATE titre SET cancelled_at = %(at)s WHERE dossier_id = ANY(%(ids)s) AND cancelled_at IS NULL"

# --- STATEREQUEST ---------------------------------------------------------------------------------

# {where} is "d.nda = ANY(%(ndas)s)" or "true" (`*`); the titre is the one the dossier holds, the
# lot the one of its current invoice.
STATES = """
SELECT d.nda, d.state, t.numero, t.complement, l.numero, d.state_at, d.last_code
FROM dossier d
LEFT JOIN LATERAL (
    SELECT numero, complement FROM titre WHERE dossier_id = d.id AND cancelled_at IS NULL ORDER BY id DESC LIMIT 1
) t ON true
LEFT JOIN LATERAL (
    SELECT lot_id FROM invoice WHERE dossier_id = d.id AND current ORDER BY id DESC LIMIT 1
) i ON true
LEFT JOIN lot l ON l.id = i.lot_id
WHERE d.finess = %(finess)s AND {where}
ORDER BY d.nda
"""

# --- EXTRACTEPMSI -----------------------------------------------------------------------------------

# The dossiers of a month: exit date in it, a current VIDHOSP and a current RSS, billable or not.
# Lines are read in the order they are written: per file (subtype), per dossier, in file order.
EXTRACT_LINES = """
WITH chosen AS (
    SELECT d.id, d.nda FROM dossier d
    WHERE d.finess = %(finess)s AND d.exit_date >= %(start)s AND d.exit_date < %(end)s
      AND EXISTS (SELECT 1 FROM dossier_line v WHERE v.dossier_id = d.id AND v.kind = 'VIDHOSP' AND v.current)
      AND EXISTS (SELECT 1 FROM dossier_line r WHERE r.dossier_id = d.id AND r.kind = 'RSS' AND r.current)
)
SELECT l.subtype, l.line FROM chosen c
JOIN dossier_line l ON l.dossier_id = c.id AND l.kind = %(kind)s AND l.current
ORDER BY l.subtype, c.nda, l.seq, l.file_id, l.line_no
"""

EXTRACT_COUNT = """
SELECT count(*) FROM dossier d
WHERE d.finess = %(finess)s AND d.exit_date >= %(start)s AND d.exit_date < %(end)s
  AND EXISTS (SELECT 1 FROM dossier_line v WHERE v.dossier_id = d.id AND v.kind = 'VIDHOSP' AND v.current)
  AND EXISTS (SELECT 1 FROM dossier_line r WHERE r.dossier_id = d.id AND r.kind = 'RSS' AND r.current)
"""
