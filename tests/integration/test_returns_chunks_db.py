"""A NOEMIE file applied a chunk at a time gives what it gave applied as one batch (real PostgreSQL).

Each scenario runs twice on the same billed dossiers, rolled back in between: with the default
chunk size (the whole file is one chunk) and with a tiny one, so that the file spans several
chunks and titres repeat across them."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest
from test_returns_db import PAID, arl, billed, content, invoice, lot, noemie, run

from fides import audit
from fides.dossiers import FACTURE, REJETE, VALIDE
from fides.returns import noemie_parse

UNKNOWN = 99999
# 1 applied, unknown titre, 2 applied (578: with another amount), 3 applied, 1 again, 4 applied,
# 5 not FACTURE, 2 again, 6 applied. The 105 entity of the k-th invoice is entity 6 + 6k in the
# 578 (6 entities an invoice), 6 + 5k in the 908 (5).
FILE = [1, UNKNOWN, 2, 3, 1, 4, 5, 2, 6]


def result(conn, r) -> dict:
    """What a run leaves, named by N° administratif and entity (ids differ from run to run)."""
    def rows(sql):
        return conn.execute(sql).fetchall()

    return {
        "outcome": (r.status, r.counts),
        "findings": [(f.code, f.line_no, f.message) for f in r.sink.kept],
        "dossiers": rows("SELECT nda, state, last_code FROM dossier ORDER BY nda"),
        "returns": rows("SELECT d.nda, r.kind, r.amount, r.line_no FROM insurance_return r "
                        "JOIN dossier d ON d.id = r.dossier_id ORDER BY r.line_no"),
        "anomalies": rows("SELECT d.nda, a.code, a.message FROM anomaly a JOIN dossier d ON d.id = a.dossier_id "
                          "ORDER BY d.nda"),
        # a chunk's events come in dossier order, chunk after chunk: compared as a set
        "events": sorted(rows("SELECT e.event, d.nda, e.line_no, e.from_state, e.to_state, e.detail "
                              "FROM audit_event e JOIN dossier d ON d.id = e.dossier_id")),
        "audit": audit.verify(conn),
    }


def applied(conn, tmp_path, reference: int, chunk: int) -> dict:
    with conn.transaction(force_rollback=True):
        lot1 = lot(conn)
        for n in range(1, 7):
            billed(conn, f"25000010{n}", n, lot1, state=VALIDE if n == 5 else FACTURE)
        if reference == 578:
            invoices = [invoice(n, Decimal("3400.00") if n == 2 else PAID) for n in FILE]
        else:
            invoices = [invoice(n, None, [("R", "R1234", "ASSURE INCONNU")]) for n in FILE]
        r = run(conn, tmp_path, "NOEMIE", content(noemie(reference, *invoices)), chunk_size=chunk)
        return result(conn, r)


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_578_in_chunks_as_in_one(conn, tmp_path, chunk):
    whole = applied(conn, tmp_path, 578, noemie_parse.CHUNK)
    assert applied(conn, tmp_path, 578, chunk) == whole
    assert whole["outcome"] == ("PARTIEL", (59, 57, 2))
    assert [(code, at) for code, at, _ in whole["findings"]] == [
        ("RET004", 12), ("RET008", 18), ("RET007", 30), ("RET006", 42), ("RET007", 48)]
    assert "déjà présent plus haut dans ce fichier (n° 6)" in whole["findings"][2][2]
    assert "(n° 18)" in whole["findings"][4][2]
    assert [(nda, line) for nda, _, _, line in whole["returns"]] == [
        ("250000101", 6), ("250000102", 18), ("250000103", 24), ("250000104", 36), ("250000106", 54)]
    assert [nda for nda, *_ in whole["anomalies"]] == ["250000102"]
    assert len(whole["events"]) == 5 and whole["audit"] == []


@pytest.mark.parametrize("chunk", [1, 4])
def test_908_in_chunks_as_in_one(conn, tmp_path, chunk):
    whole = applied(conn, tmp_path, 908, noemie_parse.CHUNK)
    assert applied(conn, tmp_path, 908, chunk) == whole
    assert [(code, at) for code, at, _ in whole["findings"]] == [
        ("RET004", 11), ("RET007", 26), ("RET006", 36), ("RET007", 41)]
    assert "(n° 6)" in whole["findings"][1][2] and "(n° 16)" in whole["findings"][3][2]
    assert [last for _, _, last in whole["dossiers"]] == ["R1234"] * 4 + [None, "R1234"]


def test_930_in_chunks_as_in_one(conn, tmp_path):
    def acknowledged(chunk: int) -> tuple:
        with conn.transaction(force_rollback=True):
            lots = [lot(conn, numero=n) for n in (1, 2)]
            for n, lot_id in enumerate(lots, 1):
                billed(conn, f"25000010{n}", n, lot_id)
            r = run(conn, tmp_path, "NOEMIE", content(arl((1, "N", "E042"), (2, "P", ""), (1, "N", ""), (3, "P", ""))),
                    chunk_size=chunk)
            return r.codes, r.counts, result(conn, r)["dossiers"], conn.execute(
                "SELECT numero, arl_status, arl_code FROM lot ORDER BY numero").fetchall()

    whole = acknowledged(noemie_parse.CHUNK)
    assert acknowledged(1) == whole
    assert whole[:2] == ([("RET007", 5), ("RET010", 6)], (7, 6, 1))
    assert [state for _, state, _ in whole[2]] == [VALIDE, FACTURE]
    assert whole[3] == [(1, "NEGATIF", "E042"), (2, "POSITIF", None)]


WAITING_FOR_A_LOCK = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s"


@pytest.mark.parametrize("chunk", [1, noemie_parse.CHUNK])
def test_repeat_of_a_return_refused_at_the_lock(conn, db_url, tmp_path, chunk):
    """Another process changes the dossier between the reading of the titres and their lock: the
    return is refused (RET006), and the titre's repeat, in the same chunk or a later one, is a
    repeat (RET007) as in a single batch."""
    billed(conn, "250000101", 1, lot(conn))
    conn.commit()
    text = content(noemie(578, invoice(1), invoice(1)))
    with psycopg.connect(db_url) as other, psycopg.connect(db_url, autocommit=True) as watch:
        other.execute("UPDATE dossier SET state = %s WHERE nda = '250000101'", (REJETE,))  # not committed yet
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(run, conn, tmp_path, "NOEMIE", text, chunk_size=chunk)
            deadline = time.monotonic() + 30
            while not watch.execute(WAITING_FOR_A_LOCK, (conn.info.backend_pid,)).fetchone()[0]:
                assert time.monotonic() < deadline, "the flow never waited for the dossier's lock"
                time.sleep(0.01)
            other.commit()
            r = running.result(timeout=30)
    assert r.codes == [("RET006", 6), ("RET007", 12)]
    assert "déjà présent plus haut dans ce fichier (n° 6)" in r.sink.kept[1].message
    assert conn.execute("SELECT count(*) FROM insurance_return").fetchone()[0] == 0
