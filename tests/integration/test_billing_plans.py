"""A billing run's chunk statements probe the titres and invoices of each dossier of the chunk
through their dossier_id index, whatever the planner believes: a first large run fills those
tables by thousands of rows that have no statistics, and `dossier_id = ANY(ids)` then read them
whole for each chunk (quadratic in the run's size). Checked on the plans themselves."""

from __future__ import annotations

import pytest

from fides.billing import run
from fides.store import sql

N = 2000
BILLED = 20 * N  # titres and invoices already written by the run's earlier chunks


def _billed(conn) -> list[int]:
    """BILLED dossiers with a titre and an invoice each, none analyzed; the ids of the last N."""
    conn.execute("INSERT INTO dossier (finess, nda) SELECT '990000010', 'N' || g FROM generate_series(1, %s) g",
                 (BILLED,))
    conn.execute("INSERT INTO titre (exercice, budget, numero, complement, dossier_id) "
                 "SELECT 2025, 'H', id, '2025H0', id FROM dossier")
    lot = conn.execute("INSERT INTO lot (finess_geo, numero, organisme, exercice, b2_file, invoices, total, "
                       "total_amo) VALUES ('990000028', 1, '017510001', 2025, 'B2', 0, 0, 0) RETURNING id").fetchone()[0]
    conn.execute("INSERT INTO invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count) "
                 "SELECT dossier_id, id, %s, 10, 8, 5 FROM titre", (lot,))
    conn.commit()
    stats = conn.execute("SELECT count(*) FROM pg_stats WHERE tablename IN ('titre', 'invoice')").fetchone()[0]
    assert stats == 0  # the situation this is about
    return [r[0] for r in conn.execute("SELECT id FROM dossier ORDER BY id DESC LIMIT %s", (N,))]


def _plan(conn, query: str, params) -> list[dict]:
    """Every node of the plan the run gets (its own settings: no index forced), executed in a
    rolled-back transaction."""
    (doc,) = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query, params, prepare=False).fetchone()
    conn.rollback()
    nodes, stack = [], [doc[0]["Plan"]]
    while stack:
        nodes.append(stack.pop())
        stack.extend(nodes[-1].get("Plans", ()))
    return nodes


@pytest.mark.parametrize("statement, table, index", [
    (run._TITRES, "titre", "ix_titre_dossier_id"),
    (run._RETIRE_INVOICES, "invoice", "ix_invoice_dossier_id"),
], ids=["titres", "invoices retired"])
def test_a_chunk_probes_its_dossiers(conn, statement, table, index):
    ids = _billed(conn)
    nodes = _plan(conn, statement, (sql.int_array(ids),))
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == table]
    probes = [n for n in nodes if n.get("Index Name") == index]
    assert probes and sum(n["Actual Rows"] * n["Actual Loops"] for n in probes) == N  # each found once


def test_a_return_finds_its_lot_by_its_key(conn):
    """NOEMIE returns right after a large billing run (fides.returns.queries.RESOLVE_RETURNS): the
    lot of each return's invoice is read by its primary key, not by hashing every lot for every
    return (without statistics, 200 lots made most of a 2 000-line chunk's time)."""
    from fides.returns import queries

    _billed(conn)
    conn.execute("INSERT INTO lot (finess_geo, numero, organisme, exercice, b2_file, invoices, total, total_amo) "
                 "SELECT '990000028', g, '017510001', 2025, 'B2', 0, 0, 0 FROM generate_series(2, 200) g")
    conn.execute("UPDATE invoice SET lot_id = (SELECT min(id) FROM lot) + id % 200")
    conn.commit()
    numeros = list(range(BILLED - N + 1, BILLED + 1))
    nodes = _plan(conn, queries.RESOLVE_RETURNS, {"numeros": numeros, "complements": ["2025H0"] * N,
                                                  "file_id": None, "kind": "578"})
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "lot"]
    by_key = [n for n in nodes if n.get("Index Name") == "pk_lot"]
    assert by_key and sum(n["Actual Rows"] * n["Actual Loops"] for n in by_key) == N  # one lot per return
