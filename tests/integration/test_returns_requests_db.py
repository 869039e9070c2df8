"""STATEREQUEST answers and EXTRACTEPMSI archives on real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import zipfile

from test_returns_db import FINESS, LOT_AT, NOW, UTC, billed, lot, run

from fides.dossiers import EN_COURS, PAYE
from fides.engine.tree import Tree
from fides.returns import extract_epmsi, state_request


def local(at: dt.datetime) -> str:
    return f"{at.astimezone():%Y%m%d%H%M%S}"


# --- STATEREQUEST -------------------------------------------------------------------------------

def test_state_lines_field_by_field(conn):
    billed(conn, "250000101", 12345, lot(conn, numero=7))
    conn.execute("UPDATE dossier SET last_code = 'R1234' WHERE nda = '250000101'")
    conn.execute("INSERT INTO dossier (finess, nda, state, state_at, to_validate) VALUES (%s, '250000100', 0, %s, false)",
                 (FINESS, NOW))
    lines = list(state_request.lines(conn, FINESS, ["250000101", "nope", "250000100", "250000101"]))
    assert lines == [
        f"ETAT;250000101;2;FACTURE;000012345;202500;007;{local(LOT_AT)};R1234",
        "ETAT;nope;-1;INCONNU;;;;;",
        f"ETAT;250000100;0;EN_COURS;;;;{local(NOW)};",
    ]
    assert [len(line.split(";")) for line in lines] == [9, 9, 9]


def test_state_all_in_nda_order_and_other_establishments_unseen(conn):
    billed(conn, "250000102", 12346, lot(conn))
    billed(conn, "250000101", 12345, lot(conn, numero=2), state=PAYE)
    conn.execute("INSERT INTO dossier (finess, nda) VALUES ('990000036', '250000100')")
    lines = list(state_request.lines(conn, FINESS, None))
    assert [line.split(";")[1:4] for line in lines] == [["250000101", "4", "PAYE"], ["250000102", "2", "FACTURE"]]


def test_state_after_cancelled_titre_and_retired_invoice(conn):
    d = billed(conn, "250000101", 12345, lot(conn))
    conn.execute("UPDATE titre SET cancelled_at = now() WHERE dossier_id = %s", (d,))
    conn.execute("UPDATE invoice SET current = false WHERE dossier_id = %s", (d,))
    (line,) = state_request.lines(conn, FINESS, ["250000101"])
    assert line.split(";")[4:7] == ["", "", ""]


def test_staterequest_flow_writes_the_answer(conn, tmp_path):
    billed(conn, "250000101", 12345, lot(conn))
    r = run(conn, tmp_path, "STATEREQUEST", "250000101\r\n\r\nnope\r\n")
    assert r.status == "OK" and r.counts == (2, 2, 0)
    ((path, data),) = r.outcome.outputs
    assert path == tmp_path / "out" / "reports" / "STATEREQUEST_990000010_20250325101500_0001.txt.arl"
    assert data.decode().splitlines() == [
        f"ETAT;250000101;2;FACTURE;000012345;202500;001;{local(LOT_AT)};", "ETAT;nope;-1;INCONNU;;;;;"]


def test_staterequest_star_and_bad_line(conn, tmp_path):
    billed(conn, "250000101", 12345, lot(conn))
    r = run(conn, tmp_path, "STATEREQUEST", "*\r\n" + "X" * 25 + "\r\n")
    assert r.status == "PARTIEL" and r.counts == (2, 1, 1) and r.codes == [("FMT002", 2)]
    assert r.outcome.outputs[0][1].decode().count("ETAT;") == 1


def test_staterequest_empty_is_ko(conn, tmp_path):
    r = run(conn, tmp_path, "STATEREQUEST", "\r\n")
    assert r.status == "KO" and r.outcome.outputs == []


# --- EXTRACTEPMSI -------------------------------------------------------------------------------

def dossier_with_lines(conn, nda: str, exit_date: dt.date, kinds: dict[str, list[str]], state=EN_COURS) -> int:
    d = conn.execute("INSERT INTO dossier (finess, nda, state, exit_date) VALUES (%s, %s, %s, %s) RETURNING id",
                     (FINESS, nda, state, exit_date)).fetchone()[0]
    file_id = conn.execute("INSERT INTO flux_file (name, flux, sha256, size, status, arl_text, destination) "
                           "VALUES ('f', 'VIDHOSP', 'x', 0, 'OK', '', '') RETURNING id").fetchone()[0]
    line_no = 0
    for kind, lines in kinds.items():
        for seq, line in enumerate(lines, 1):
            subtype = line[9:11] if kind == "FICHCOMP" else ("complet" if kind == "VIDHOSP" else "")
            line_no += 1  # the line's place in its (one) file: the row's key
            conn.execute("INSERT INTO dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no) "
                         "VALUES (%s, %s, %s, 'x', %s, %s, %s, %s)", (d, kind, subtype, seq, line, file_id, line_no))
    return d


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_extract_month_is_byte_identical_and_crlf(conn, tmp_path):
    vh = "VIDHOSP ligne avec accent é et ÿ  "  # latin-1 text as stored, trailing spaces kept
    a = dossier_with_lines(conn, "A1", dt.date(2025, 4, 30), {
        "VIDHOSP": [vh], "RSS": ["RSS A1 rum 1", "RSS A1 rum 2"],
        "FICHCOMP": ["990000010061A1 med", "990000010021A1 dmi", "990000010991A1 enquête"]})
    dossier_with_lines(conn, "B2", dt.date(2025, 4, 1), {"VIDHOSP": ["VH B2"], "RSS": ["RSS B2"]}, state=PAYE)
    dossier_with_lines(conn, "C3", dt.date(2025, 4, 15), {"VIDHOSP": ["VH C3 sans RSS"]})
    dossier_with_lines(conn, "D4", dt.date(2025, 5, 1), {"VIDHOSP": ["VH D4"], "RSS": ["RSS D4"]})
    dossier_with_lines(conn, "E5", dt.date(2025, 3, 31), {"VIDHOSP": ["VH E5"], "RSS": ["RSS E5"]})
    old = conn.execute("INSERT INTO dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no, current) "
                       "SELECT dossier_id, 'RSS', '', 'x', 0, 'RSS A1 remplacé', file_id, 99, false FROM dossier_line "
                       "WHERE dossier_id = %s LIMIT 1 RETURNING line_no", (a,)).fetchone()
    assert old
    extract = extract_epmsi.export(conn, FINESS, Tree(tmp_path), 2025, 4, NOW)
    assert extract.dossiers == 2
    assert extract.path == tmp_path / "out" / "reports" / f"990000010.2025.4.{local(NOW)}.in.zip"
    files = members(extract.path)
    assert files == {
        "990000010.2025.4.vidhosp.txt": vh.encode("latin-1") + b"\r\nVH B2\r\n",
        "990000010.2025.4.rss.txt": b"RSS A1 rum 1\r\nRSS A1 rum 2\r\nRSS B2\r\n",
        "990000010.2025.4.dmi.txt": b"990000010021A1 dmi\r\n",
        "990000010.2025.4.med.txt": b"990000010061A1 med\r\n",
        "990000010.2025.4.fichcomp99.txt": "990000010991A1 enquête\r\n".encode("latin-1"),
    }
    assert extract.lines["990000010.2025.4.rss.txt"] == 3
    assert not [p for p in (tmp_path / "out" / "reports").iterdir() if p.name.startswith(".")]


def test_extract_empty_month_still_has_its_two_files(conn, tmp_path):
    extract = extract_epmsi.export(conn, FINESS, Tree(tmp_path), 2025, 12, NOW)
    assert extract.dossiers == 0
    assert members(extract.path) == {"990000010.2025.12.vidhosp.txt": b"", "990000010.2025.12.rss.txt": b""}


def test_monthly_is_the_previous_month(conn, tmp_path):
    dossier_with_lines(conn, "A1", dt.date(2024, 12, 31), {"VIDHOSP": ["VH"], "RSS": ["RSS"]})
    extract = extract_epmsi.monthly(conn, FINESS, Tree(tmp_path), dt.datetime(2025, 1, 15, 12, tzinfo=UTC))
    assert extract.path.name.startswith("990000010.2024.12.") and extract.dossiers == 1
    assert extract_epmsi.previous_month(dt.date(2025, 3, 1)) == (2025, 2)


def test_extract_flow(conn, tmp_path):
    dossier_with_lines(conn, "A1", dt.date(2025, 3, 8), {"VIDHOSP": ["VH"], "RSS": ["RSS"]})
    r = run(conn, tmp_path, "EXTRACTEPMSI", "202503\r\n")
    assert r.status == "OK" and r.codes == [] and r.outcome.outputs == []
    (zip_path,) = (tmp_path / "out" / "reports").glob("*.in.zip")
    assert set(members(zip_path)) == {"990000010.2025.3.vidhosp.txt", "990000010.2025.3.rss.txt"}
    bad = run(conn, tmp_path, "EXTRACTEPMSI", "202513\r\n", "bad.txt")
    assert bad.status == "KO" and bad.codes == [("CTL010", 1)]
    empty = run(conn, tmp_path, "EXTRACTEPMSI", "202501\r\n", "empty.txt")
    assert empty.status == "OK" and empty.codes == [("CTL011", 1)]


def test_parse_month():
    assert extract_epmsi.parse_month("202503") == (2025, 3)
    assert extract_epmsi.parse_month(" 202512 ") == (2025, 12)
    for bad in ("202500", "202513", "2025-3", "20250", "2025031", "AAAAMM", ""):
        assert extract_epmsi.parse_month(bad) is None, bad
