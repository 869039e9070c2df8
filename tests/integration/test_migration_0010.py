"""Migration 0010 records on each existing return the sending it answers, by the rule the
dashboard used to look it up: the latest invoice of its titre sent at or before the return."""

from __future__ import annotations

import psycopg

from fides.store import schema

_FILL = """
INSERT INTO flux_file (name, flux, sha256, size, status, arl_text, destination) VALUES ('n', 'NOEMIE', 'h', 0, 'OK', '', '');
INSERT INTO dossier (finess, nda) VALUES ('990000010', 'A'), ('990000010', 'B');
INSERT INTO titre (exercice, budget, numero, complement, dossier_id)
SELECT 2025, 'H0', n, '2025H0', d.id FROM dossier d, (VALUES (1, 'A'), (2, 'B')) v(n, nda) WHERE d.nda = v.nda;
INSERT INTO lot (finess_geo, numero, organisme, exercice, b2_file, invoices, total, total_amo)
VALUES ('990000028', 1, '017510001', 2025, 'B2_1', 2, 0, 0);
INSERT INTO invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count, created_at, current)
SELECT t.dossier_id, t.id, (SELECT id FROM lot), 100, 80, 5, v.at, v.cur
FROM titre t, (VALUES (timestamptz '2025-01-01', false), (timestamptz '2025-02-01', true)) v(at, cur) WHERE t.numero = 1;
INSERT INTO insurance_return (dossier_id, titre_id, kind, amount, file_id, line_no, at)
SELECT t.dossier_id, t.id, v.kind, 80, (SELECT id FROM flux_file), v.line, v.at
FROM titre t, (VALUES ('REJET', 1, timestamptz '2025-01-15'), ('PAIEMENT', 2, timestamptz '2025-02-15')) v(kind, line, at)
WHERE t.numero = 1;
INSERT INTO insurance_return (dossier_id, titre_id, kind, amount, file_id, line_no, at)
SELECT t.dossier_id, t.id, 'PAIEMENT', 80, (SELECT id FROM flux_file), 3, timestamptz '2025-03-01' FROM titre t WHERE t.numero = 2;
"""


def test_existing_returns_get_the_sending_they_answer(empty_url):
    schema.upgrade(empty_url, "0009")
    with psycopg.connect(empty_url) as conn:
        conn.execute(_FILL)
    schema.upgrade(empty_url)
    with psycopg.connect(empty_url) as conn:
        found = conn.execute("SELECT r.line_no, i.created_at::date::text FROM insurance_return r "
                             "LEFT JOIN invoice i ON i.id = r.invoice_id ORDER BY r.line_no").fetchall()
    # the reject answers January's sending, the payment February's; titre 2 was never sent
    assert found == [(1, "2025-01-01"), (2, "2025-02-01"), (3, None)]
    assert schema.differences(empty_url) == []
