"""NOEMIEARLNEGATIF, MANAGEREJECT and CANCELPAIDREQUEST on real PostgreSQL."""

from __future__ import annotations

from test_returns_db import NOW, billed, content, arl, lot, run, state

from fides.dossiers import EN_COURS, FACTURE, PAYE, REJETE, VALIDE


def managereject(nda="", titre: int | None = None, action="A", complement="202500", motif="") -> str:
    titre_part = f"{titre:09d}{complement}" if titre is not None else " " * 15
    return f"{nda:<20}{titre_part}{action}20250322{motif}".rstrip()


def cancelpaid(nda="", titre: int | None = None, complement="202500", motif="RECTIFICATION PMSI") -> str:
    titre_part = f"{titre:09d}{complement}" if titre is not None else " " * 15
    return f"{nda:<20}{titre_part}20250325{motif}"


def arl_negatif(numero=1, day="20250310", organisme="017810000", geo="990000028", code="E042") -> str:
    return f"{geo}{numero:03d}{day}{organisme}{code}000012345"


def crlf(*lines: str) -> str:
    return "".join(line + "\r\n" for line in lines)


# --- NOEMIEARLNEGATIF ---------------------------------------------------------------------------------

def test_arl_negatif_puts_the_lot_back_to_valide(conn, tmp_path):
    lot1 = lot(conn)
    billed(conn, "250000101", 12345, lot1)
    billed(conn, "250000102", 12346, lot1)
    r = run(conn, tmp_path, "NOEMIEARLNEGATIF", crlf(arl_negatif()))
    assert r.status == "OK" and r.counts == (1, 1, 0) and r.codes == []
    assert (state(conn, "250000101"), state(conn, "250000102")) == (VALIDE, VALIDE)
    assert conn.execute("SELECT arl_status, arl_code FROM lot").fetchone() == ("NEGATIF", "E042")
    assert conn.execute("SELECT count(*) FROM invoice WHERE current").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM titre WHERE cancelled_at IS NULL").fetchone()[0] == 2


def test_arl_negatif_refusals(conn, tmp_path):
    lot1 = lot(conn)
    positive = lot(conn, numero=2)
    billed(conn, "250000101", 12345, lot1)
    conn.execute("UPDATE lot SET arl_status = 'POSITIF' WHERE id = %s", (positive,))
    lines = [arl_negatif(organisme="017810001"), arl_negatif(numero=2), arl_negatif(numero=3),
             arl_negatif(day="20250311"), arl_negatif(geo="990000036")]
    r = run(conn, tmp_path, "NOEMIEARLNEGATIF", crlf(*lines))
    assert r.status == "PARTIEL" and r.counts == (5, 0, 5)
    assert r.codes == [("CTL007", 1), ("CTL008", 2), ("CTL006", 3), ("CTL006", 4), ("CTL006", 5)]
    assert state(conn, "250000101") == FACTURE


def test_arl_negatif_after_the_raw_930_is_already_done(conn, tmp_path):
    billed(conn, "250000101", 12345, lot(conn))
    run(conn, tmp_path, "NOEMIE", content(arl((1, "N", ""))))
    r = run(conn, tmp_path, "NOEMIEARLNEGATIF", crlf(arl_negatif()))
    assert r.status == "OK" and r.codes == [("CTL005", 1)]


def test_arl_negatif_format_error_applies_nothing(conn, tmp_path):
    billed(conn, "250000101", 12345, lot(conn))
    r = run(conn, tmp_path, "NOEMIEARLNEGATIF", crlf(arl_negatif(), arl_negatif(day="20251340")))
    assert r.status == "KO" and r.codes == [("FMT004", 2)]
    assert state(conn, "250000101") == FACTURE


# --- MANAGEREJECT -------------------------------------------------------------------------------------

def test_managereject_a_cancels_the_titre(conn, tmp_path):
    d = billed(conn, "250000101", 12345, lot(conn), state=REJETE)
    r = run(conn, tmp_path, "MANAGEREJECT", crlf(managereject("250000101", 12345, "A")))
    assert r.status == "OK" and r.codes == []
    row = conn.execute("SELECT state, to_validate FROM dossier WHERE id = %s", (d,)).fetchone()
    assert row == (EN_COURS, False)
    assert conn.execute("SELECT cancelled_at FROM titre").fetchone()[0] == NOW
    assert conn.execute("SELECT current FROM invoice").fetchone()[0] is False
    event = conn.execute("SELECT event, line_no, detail FROM audit_event WHERE dossier_id = %s", (d,)).fetchone()
    assert event == ("managereject_annulation", 1, "MANAGEREJECT A")
    again = run(conn, tmp_path, "MANAGEREJECT", crlf(managereject("250000101", 12345, "A")), "again.txt")
    assert again.status == "OK" and again.codes == [("CTL005", 1)]


def test_managereject_c_keeps_the_titre(conn, tmp_path):
    billed(conn, "250000101", 12345, lot(conn), state=REJETE)
    r = run(conn, tmp_path, "MANAGEREJECT", crlf(managereject(titre=12345, action="C", motif="R1234")))
    assert r.status == "OK"
    assert state(conn, "250000101") == VALIDE
    assert conn.execute("SELECT cancelled_at FROM titre").fetchone()[0] is None
    assert conn.execute("SELECT current FROM invoice").fetchone()[0] is False
    assert conn.execute("SELECT detail FROM audit_event WHERE event = 'managereject_confirmation'").fetchone()[0] == \
        "MANAGEREJECT C R1234"


def test_managereject_refusals_one_line_each(conn, tmp_path):
    lot1 = lot(conn)
    billed(conn, "250000101", 12345, lot1, state=REJETE)
    billed(conn, "250000102", 12346, lot1)  # FACTURE
    billed(conn, "250000103", 12347, lot1, state=REJETE)
    lines = [
        managereject("250000999", action="A"),  # unknown N°
        managereject("250000101", 12346, "A"),  # N° and titre of two dossiers
        managereject("", 99999, "C"),  # unknown titre
        managereject("250000102", action="A"),  # wrong state
        managereject("", None, "C"),  # nothing to designate
        managereject("250000103", 12347, "C"),  # fine
    ]
    r = run(conn, tmp_path, "MANAGEREJECT", crlf(*lines))
    assert r.status == "PARTIEL" and r.counts == (6, 1, 5)
    assert r.codes == [("CTL001", 1), ("CTL002", 2), ("CTL003", 3), ("CTL004", 4), ("CTL009", 5)]
    assert [state(conn, n) for n in ("250000101", "250000102", "250000103")] == [REJETE, FACTURE, VALIDE]


def test_managereject_old_titre_of_a_dossier_billed_again(conn, tmp_path):
    lot1 = lot(conn)
    d = billed(conn, "250000101", 12345, lot1, state=REJETE)
    conn.execute("UPDATE titre SET cancelled_at = %s WHERE dossier_id = %s", (NOW, d))
    conn.execute("INSERT INTO titre (exercice, budget, numero, complement, dossier_id) VALUES (2025, '00', 12400, "
                 "'202500', %s)", (d,))
    r = run(conn, tmp_path, "MANAGEREJECT", crlf(managereject("", 12345, "C")))
    assert r.codes == [("CTL003", 1)] and "annulé" in r.sink.kept[0].message
    assert state(conn, "250000101") == REJETE


def test_managereject_bad_action_rejects_the_file(conn, tmp_path):
    billed(conn, "250000101", 12345, lot(conn), state=REJETE)
    r = run(conn, tmp_path, "MANAGEREJECT", crlf(managereject("250000101", action="A"), managereject("250000101", action="X")))
    assert r.status == "KO" and r.codes == [("FMT006", 2)]
    assert state(conn, "250000101") == REJETE


def test_managereject_sample_line(conn, tmp_path):
    billed(conn, "250000101", 12345, lot(conn), state=REJETE)
    r = run(conn, tmp_path, "MANAGEREJECT", "250000101           000012345202500A20250322\r\n")
    assert r.status == "OK" and state(conn, "250000101") == EN_COURS


# --- CANCELPAIDREQUEST --------------------------------------------------------------------------------

def test_cancelpaid_back_to_en_cours_never_billable(conn, tmp_path):
    d = billed(conn, "250000101", 12345, lot(conn), state=PAYE)
    r = run(conn, tmp_path, "CANCELPAIDREQUEST", crlf(cancelpaid("250000101", 12345)))
    assert r.status == "OK" and r.codes == []
    assert conn.execute("SELECT state, never_b2, to_validate FROM dossier WHERE id = %s", (d,)).fetchone() == \
        (EN_COURS, True, False)
    assert conn.execute("SELECT event FROM audit_event WHERE dossier_id = %s", (d,)).fetchone()[0] == "cancelpaid"
    again = run(conn, tmp_path, "CANCELPAIDREQUEST", crlf(cancelpaid("250000101")), "again.txt")
    assert again.status == "OK" and again.codes == [("CTL005", 1)]


def test_cancelpaid_refused_when_not_paid(conn, tmp_path):
    billed(conn, "250000101", 12345, lot(conn))
    r = run(conn, tmp_path, "CANCELPAIDREQUEST", crlf(cancelpaid("250000101"), cancelpaid("nope")))
    assert r.status == "PARTIEL" and r.codes == [("CTL004", 1), ("CTL001", 2)]
    assert state(conn, "250000101") == FACTURE


def test_cancelpaid_without_date_rejects_the_file(conn, tmp_path):
    billed(conn, "250000101", 12345, lot(conn), state=PAYE)
    r = run(conn, tmp_path, "CANCELPAIDREQUEST", crlf("250000101"))
    assert r.status == "KO" and r.codes == [("FMT005", 1)]


def test_empty_control_file_is_ko(conn, tmp_path):
    r = run(conn, tmp_path, "MANAGEREJECT", "\r\n  \r\n")
    assert r.status == "KO" and r.codes == [("FIC001", 0)]
