"""NOEMIE 930 / 908 / 578 applied on real PostgreSQL through the flow handler (no engine, no disk).

The helpers here (billed dossiers, NOEMIE builders, running a flow) are shared with the other
returns integration tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from fides import audit, config, flows
from fides.dossiers import EN_COURS, FACTURE, PAYE, REJETE, VALIDE
from fides.engine.tree import Tree
from fides.flows.base import FileJob, FindingSink

UTC = dt.timezone.utc
FINESS, GEO, ORGANISME = "990000010", "990000028", "017810000"
NOW = dt.datetime(2025, 3, 25, 10, 15, tzinfo=UTC)
LOT_AT = dt.datetime(2025, 3, 10, 10, 15, tzinfo=UTC)
PAID = Decimal("3511.68")


# --- set-up: billed dossiers written as the billing side writes them ------------------------------

def lot(conn, numero=1, created=LOT_AT, organisme=ORGANISME, geo=GEO) -> int:
    return conn.execute(
        "INSERT INTO lot (finess_geo, numero, organisme, exercice, created_at, b2_file, invoices, total, total_amo) "
        "VALUES (%s, %s, %s, 2025, %s, 'B2_990000028_20250310101500_0000.b2', 1, 4352.10, %s) RETURNING id",
        (geo, numero, organisme, created, PAID)).fetchone()[0]


def billed(conn, nda, numero, lot_id, state=FACTURE, complement="202500", amo=PAID) -> int:
    """A dossier in `state` holding titre `numero` whose current invoice is in lot `lot_id`."""
    dossier_id = conn.execute(
        "INSERT INTO dossier (finess, nda, state, state_at, to_validate) VALUES (%s, %s, %s, %s, false) RETURNING id",
        (FINESS, nda, state, LOT_AT)).fetchone()[0]
    titre_id = conn.execute(
        "INSERT INTO titre (exercice, budget, numero, complement, dossier_id, created_at) "
        "VALUES (2025, '00', %s, %s, %s, %s) RETURNING id", (numero, complement, dossier_id, LOT_AT)).fetchone()[0]
    conn.execute(
        "INSERT INTO invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count, created_at) "
        "VALUES (%s, %s, %s, 4352.10, %s, 9, %s)", (dossier_id, titre_id, lot_id, amo, LOT_AT))
    return dossier_id


def state(conn, nda) -> int:
    return conn.execute("SELECT state FROM dossier WHERE nda = %s", (nda,)).fetchone()[0]


# --- NOEMIE content ---------------------------------------------------------------------------------

def header(reference: int) -> str:
    return f"000OR{ORGANISME:<14}ES{FINESS:<14}250320{'':20}{reference}"


def invoice(numero: int, amount: Decimal | None = PAID, motifs=(), complement="202500") -> list[str]:
    cents = None if amount is None else int(amount * 100)
    ents = [f"10005{numero:09d}", f"10505{complement}{numero:09d}", "11005185057800608491 ASSURE", "1500510"]
    if cents is not None:
        ents.append(f"22006GHS  25030325030700100420210080{'':10}{cents:08d}")
    ents += [f"29006{kind}{code:<5}{label}" for kind, code, label in motifs]
    if cents is not None:
        ents.append(f"99005000010{'':19}{cents:011d}")  # niveau 05: closes the invoice
    return ents


def noemie(reference: int, *invoices: list[str], lot_no=1, lot_day="250310") -> list[str]:
    body = [e for inv in invoices for e in inv]
    return [header(reference), f"04002{GEO}", "07003250320", f"08004{lot_day}{lot_no:03d}", *body, "99900000099"]


def arl(*lots: tuple[int, str, str], day="250310") -> list[str]:
    """A 930: (lot N°, 'P' or 'N', reject code) per lot."""
    return [header(930), f"04002{GEO}", *[f"08004{day}{n:03d}{status}{code:<4}000000000" for n, status, code in lots],
            "99900000004"]


def content(entities: list[str]) -> str:
    return "".join(e + "@\r\n" for e in entities)


# --- running a flow handler inside a transaction, as the engine does --------------------------------

class Run:
    def __init__(self, outcome, findings: FindingSink, file_id: int) -> None:
        self.outcome, self.sink, self.file_id = outcome, findings, file_id

    @property
    def status(self) -> str:
        return self.outcome.status

    @property
    def counts(self) -> tuple[int, int, int]:
        o = self.outcome
        return o.lines_read, o.lines_integrated, o.lines_refused

    @property
    def codes(self) -> list[tuple[str, int]]:
        return [(f.code, f.line_no) for f in self.sink.kept]


def run(conn, root: Path, flux: str, text: str, name: str | None = None, **options) -> Run:
    """`options`: passed to the flow's handler (NOEMIE: `chunk_size`)."""
    name = name or f"{flux}_{FINESS}_20250325101500_0001.txt"
    file_id = conn.execute(
        "INSERT INTO flux_file (name, flux, sha256, size, status, arl_text, destination) "
        "VALUES (%s, %s, 'x', %s, 'EN_COURS', '', '') RETURNING id", (name, flux, len(text))).fetchone()[0]
    cfg = config.from_mapping(root, {"establishment": {"finess": FINESS}})
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()

    def read_blocks():
        return iter([(1, [line.rstrip("\r") for line in lines], False)])

    sink = FindingSink(1000)
    job = FileJob(conn, cfg, Tree(root), name, flux, FINESS, file_id, NOW, read_blocks, sink, "test", {})
    with conn.transaction():
        outcome = flows.REGISTRY[flux].handle(job, **options)
    return Run(outcome, sink, file_id)


# --- 578 payments -----------------------------------------------------------------------------------

@pytest.fixture
def lot1(conn):
    return lot(conn)


def test_578_pays_with_the_amount(conn, tmp_path, lot1):
    d = billed(conn, "250000101", 12345, lot1)
    r = run(conn, tmp_path, "NOEMIE", content(noemie(578, invoice(12345))))
    assert r.status == "OK" and r.codes == []
    assert r.counts == (11, 11, 0)
    assert state(conn, "250000101") == PAYE
    rows = conn.execute("SELECT kind, amount, codes, file_id, line_no FROM insurance_return").fetchall()
    assert rows == [("PAIEMENT", PAID, "", r.file_id, 6)]
    sending = conn.execute("SELECT i.id FROM invoice i JOIN titre t ON t.id = i.titre_id WHERE t.numero = 12345").fetchone()
    assert conn.execute("SELECT invoice_id FROM insurance_return").fetchone() == sending  # the sending it answers
    event = conn.execute("SELECT event, dossier_id, file_id, line_no, from_state, to_state, detail "
                         "FROM audit_event WHERE event = 'paiement_noemie'").fetchone()
    assert event == ("paiement_noemie", d, r.file_id, 6, FACTURE, PAYE, "NOEMIE 578 titre 000012345 complément 202500")
    assert audit.verify(conn) == []
    assert conn.execute("SELECT count(*) FROM anomaly").fetchone()[0] == 0


def test_578_other_amount_pays_and_leaves_an_anomaly(conn, tmp_path, lot1):
    d = billed(conn, "250000101", 12345, lot1)
    r = run(conn, tmp_path, "NOEMIE", content(noemie(578, invoice(12345, Decimal("3400.00")))))
    assert r.status == "OK" and r.codes == [("RET008", 6)]
    assert state(conn, "250000101") == PAYE
    anomaly = conn.execute("SELECT dossier_id, code, severity, origin, active, message FROM anomaly").fetchone()
    assert anomaly[:5] == (d, "RET008", "A", "return", True)
    assert "payé 3400.00 €, facturé 3511.68 €" in anomaly[5]
    assert conn.execute("SELECT last_code FROM dossier WHERE id = %s", (d,)).fetchone()[0] == "RET008"
    assert conn.execute("SELECT amount FROM insurance_return").fetchone()[0] == Decimal("3400.00")


def test_578_unknown_titre_and_unexpected_state_refuse_only_their_invoice(conn, tmp_path, lot1):
    billed(conn, "250000101", 12345, lot1)
    billed(conn, "250000102", 12346, lot1, state=VALIDE)
    text = content(noemie(578, invoice(99999), invoice(12345), invoice(12346)))
    r = run(conn, tmp_path, "NOEMIE", text)
    assert r.status == "PARTIEL"
    assert r.codes == [("RET004", 6), ("RET006", 18)]
    assert r.counts == (23, 21, 2)
    by_code = {f.code: f.message for f in r.sink.kept}
    assert by_code["RET004"] == "titre 000099999 complément 202500"
    assert "dossier 250000102" in by_code["RET006"] and "VALIDE" in by_code["RET006"]
    assert (state(conn, "250000101"), state(conn, "250000102")) == (PAYE, VALIDE)


def test_578_malformed_entity_refuses_its_invoice_only(conn, tmp_path, lot1):
    billed(conn, "250000101", 12345, lot1)
    billed(conn, "250000102", 12346, lot1)
    bad = invoice(12346)
    bad[1] = bad[1][:-3] + "4X6"
    r = run(conn, tmp_path, "NOEMIE", content(noemie(578, invoice(12345), bad)))
    assert r.status == "PARTIEL" and r.codes == [("RET003", 12)]
    assert r.sink.kept[0].position == 12
    assert (state(conn, "250000101"), state(conn, "250000102")) == (PAYE, FACTURE)


def test_578_replayed_in_another_file_changes_nothing(conn, tmp_path, lot1):
    billed(conn, "250000101", 12345, lot1)
    billed(conn, "250000102", 12346, lot1)
    run(conn, tmp_path, "NOEMIE", content(noemie(578, invoice(12345))))
    r = run(conn, tmp_path, "NOEMIE", content(noemie(578, invoice(12345, Decimal("1.00")), invoice(12346))), "other.txt")
    assert r.status == "OK" and r.codes == [("RET007", 6)]
    assert "déjà PAYE" in r.sink.kept[0].message
    rows = conn.execute("SELECT d.nda, r.amount FROM insurance_return r JOIN dossier d ON d.id = r.dossier_id "
                        "ORDER BY r.id").fetchall()
    assert rows == [("250000101", PAID), ("250000102", PAID)]
    assert conn.execute("SELECT count(*) FROM anomaly").fetchone()[0] == 0
    paid = conn.execute("SELECT count(*) FROM audit_event WHERE event = 'paiement_noemie'").fetchone()[0]
    assert paid == 2


def test_578_same_titre_twice_in_one_file(conn, tmp_path, lot1):
    billed(conn, "250000101", 12345, lot1)
    r = run(conn, tmp_path, "NOEMIE", content(noemie(578, invoice(12345), invoice(12345))))
    assert r.codes == [("RET007", 12)]
    assert conn.execute("SELECT count(*) FROM insurance_return").fetchone()[0] == 1


def test_578_cancelled_titre_and_earlier_sending(conn, tmp_path, lot1):
    billed(conn, "250000101", 12345, lot1)
    billed(conn, "250000102", 12346, lot(conn, numero=2))
    conn.execute("UPDATE titre SET cancelled_at = %s WHERE numero = 12345", (NOW,))
    r = run(conn, tmp_path, "NOEMIE", content(noemie(578, invoice(12345), invoice(12346), lot_no=1)))
    assert r.codes == [("RET005", 6), ("RET012", 12)]
    assert "retour du lot 001, facture actuelle dans le lot 002" in r.sink.kept[1].message
    assert (state(conn, "250000101"), state(conn, "250000102")) == (FACTURE, FACTURE)


def test_578_many_invoices_set_based(conn, tmp_path, lot1):
    invoices = []
    for i in range(300):
        billed(conn, f"2500{i:05d}", 100000 + i, lot1)
        invoices.append(invoice(100000 + i))
    r = run(conn, tmp_path, "NOEMIE", content(noemie(578, *invoices)))
    assert r.status == "OK"
    assert conn.execute("SELECT count(*) FROM dossier WHERE state = %s", (PAYE,)).fetchone()[0] == 300
    assert audit.verify(conn) == []


# --- 908 rejects ------------------------------------------------------------------------------------

def test_908_rejects_with_codes_and_labels(conn, tmp_path, lot1):
    d = billed(conn, "250000101", 12345, lot1)
    motifs = [("S", "S0001", "SIGNALEMENT"), ("R", "R1234", "ASSURE INCONNU")]
    r = run(conn, tmp_path, "NOEMIE", content(noemie(908, invoice(12345, None, motifs))))
    assert r.status == "OK" and r.codes == []
    assert state(conn, "250000101") == REJETE
    row = conn.execute("SELECT kind, amount, codes, labels, line_no FROM insurance_return").fetchone()
    assert row == ("REJET", None, "S0001,R1234", "SIGNALEMENT | ASSURE INCONNU", 6)
    assert conn.execute("SELECT last_code FROM dossier WHERE id = %s", (d,)).fetchone()[0] == "R1234"
    again = run(conn, tmp_path, "NOEMIE", content(noemie(908, invoice(12345, None, motifs))), "again.txt")
    assert again.codes == [("RET007", 6)]
    assert conn.execute("SELECT count(*) FROM insurance_return").fetchone()[0] == 1


def test_908_without_motif_is_a_warning(conn, tmp_path, lot1):
    billed(conn, "250000101", 12345, lot1)
    r = run(conn, tmp_path, "NOEMIE", content(noemie(908, invoice(12345, None))))
    assert r.status == "OK" and r.codes == [("RET014", 6)]
    assert state(conn, "250000101") == REJETE
    assert conn.execute("SELECT last_code FROM dossier").fetchone()[0] == "RET014"


def test_908_on_a_paid_dossier_is_refused(conn, tmp_path, lot1):
    billed(conn, "250000101", 12345, lot1, state=PAYE)
    r = run(conn, tmp_path, "NOEMIE", content(noemie(908, invoice(12345, None, [("R", "R1", "X")]))))
    assert r.status == "PARTIEL" and r.codes == [("RET006", 6)]
    assert state(conn, "250000101") == PAYE


# --- 930 ARL ----------------------------------------------------------------------------------------

def test_930_positive_is_recorded_on_the_lot(conn, tmp_path, lot1):
    billed(conn, "250000101", 12345, lot1)
    r = run(conn, tmp_path, "NOEMIE", content(arl((1, "P", ""))))
    assert r.status == "OK" and r.counts == (4, 4, 0)
    assert conn.execute("SELECT arl_status, arl_at, arl_code FROM lot").fetchone() == ("POSITIF", NOW, None)
    assert state(conn, "250000101") == FACTURE


def test_930_negative_puts_the_lot_back_to_valide_keeping_titres(conn, tmp_path, lot1):
    billed(conn, "250000101", 12345, lot1)
    billed(conn, "250000102", 12346, lot1)
    other = billed(conn, "250000103", 12347, lot(conn, numero=2))
    r = run(conn, tmp_path, "NOEMIE", content(arl((1, "N", "E042"))))
    assert r.status == "OK" and r.codes == []
    assert conn.execute("SELECT arl_status, arl_code FROM lot WHERE numero = 1").fetchone() == ("NEGATIF", "E042")
    assert (state(conn, "250000101"), state(conn, "250000102"), state(conn, "250000103")) == (VALIDE, VALIDE, FACTURE)
    assert conn.execute("SELECT count(*) FROM titre WHERE cancelled_at IS NULL").fetchone()[0] == 3
    current = conn.execute("SELECT dossier_id FROM invoice WHERE current").fetchall()
    assert current == [(other,)]
    events = conn.execute("SELECT count(*), min(line_no) FROM audit_event WHERE event = 'arl_negatif'").fetchone()
    assert events == (2, 3)


def test_930_replayed_contrary_and_unknown(conn, tmp_path, lot1):
    billed(conn, "250000101", 12345, lot1)
    run(conn, tmp_path, "NOEMIE", content(arl((1, "N", ""))))
    r = run(conn, tmp_path, "NOEMIE", content(arl((1, "N", ""), (1, "P", ""), (7, "N", ""))), "again.txt")
    assert r.status == "PARTIEL"
    assert r.codes == [("RET007", 3), ("RET011", 4), ("RET010", 5)]
    assert "lot 007 du 10/03/2025 (FINESS géographique 990000028)" in r.sink.kept[2].message
    assert state(conn, "250000101") == VALIDE


def test_930_lot_numbers_cycle_the_date_picks_the_lot(conn, tmp_path):
    old = lot(conn, numero=1, created=dt.datetime(2024, 3, 10, 10, 15, tzinfo=UTC))
    new = lot(conn, numero=1)
    billed(conn, "250000101", 12345, old, state=PAYE)
    billed(conn, "250000102", 12346, new)
    run(conn, tmp_path, "NOEMIE", content(arl((1, "N", ""))))
    assert conn.execute("SELECT id, arl_status FROM lot ORDER BY id").fetchall() == [(old, None), (new, "NEGATIF")]
    assert state(conn, "250000102") == VALIDE


# --- whole-file refusals ----------------------------------------------------------------------------

def test_file_without_header_is_ko(conn, tmp_path):
    r = run(conn, tmp_path, "NOEMIE", content(noemie(578, invoice(1))[1:]))
    assert r.status == "KO" and r.codes == [("RET001", 1)]


def test_reference_not_handled_is_ko(conn, tmp_path):
    r = run(conn, tmp_path, "NOEMIE", content(noemie(580, invoice(1))))
    assert r.status == "KO" and r.codes == [("RET002", 1)]


def test_empty_noemie_is_ko(conn, tmp_path):
    r = run(conn, tmp_path, "NOEMIE", "\r\n")
    assert r.status == "KO" and r.codes == [("RET001", 0)]


@pytest.mark.parametrize("reference", [578, 908])
def test_nothing_applied_by_an_unusable_file(conn, tmp_path, lot1, reference):
    billed(conn, "250000101", 12345, lot1)
    r = run(conn, tmp_path, "NOEMIE", content(noemie(reference, invoice(99999))))
    assert r.status == "PARTIEL" and r.counts[2] == 1
    assert state(conn, "250000101") == FACTURE
    assert EN_COURS == 0  # the state codes the STATEREQUEST contract relies on
