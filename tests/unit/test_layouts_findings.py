"""Each finding code from a crafted line, at the right (1-based) position; and the codec's edge
cases: V016 counter width, trimmed lines, restreint form, render errors."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fides.errors import Finding
from fides.layouts import LayoutError, Record, detect, load

EX = Path(__file__).resolve().parents[1] / "data" / "examples"


def lines(name: str) -> list[str]:
    return (EX / name).read_bytes().decode("latin-1").split("\r\n")[:-1]


V15 = lines("vidhosp_V015.txt")[0]  # 518 chars, 1 DMT
V15_ANON = lines("vidhosp_V015.txt")[2]
V16 = lines("vidhosp_V016.txt")[1]  # 520 chars, nb_dmt on 4
RSS = lines("rss_grp_122.txt")[0]
MED = lines("fichcomp_med.txt")[0]
V15_LAY = load("vidhosp_V015")


def put(line: str, pos: int, text: str) -> str:
    """`text` written at 1-based position `pos`."""
    return line[: pos - 1] + text + line[pos - 1 + len(text):]


def codes(findings: list[Finding]) -> list[tuple[str, int]]:
    return [(f.code, f.position) for f in findings]


def raised(fn, *args) -> list[tuple[str, int]]:
    with pytest.raises(LayoutError) as exc:
        fn(*args)
    return codes(exc.value.findings)


# --- one crafted line per code ----------------------------------------------------------------
def test_fmt001_unknown_version():
    assert raised(detect, "VIDHOSP", put(V15, 49, "V099")) == [("FMT001", 49)]
    assert raised(detect, "RSS", put(RSS, 10, "199")) == [("FMT001", 10)]
    with pytest.raises(LayoutError) as exc:
        detect("VIDHOSP", put(V15, 49, "V099"), line_no=7)
    (f,) = exc.value.findings
    assert f.line_no == 7 and "V099" in f.message and "49-52" in f.message


def test_fmt002_wrong_length():
    assert codes(V15_LAY.check(V15[:400])) == [("FMT002", 0)]  # neither restreint (389) nor complet (468+)
    assert codes(V15_LAY.check(V15[:250])) == [("FMT002", 0)]  # too short even for the restreint form
    assert raised(V15_LAY.parse, V15[:400]) == [("FMT002", 0)]
    assert raised(detect, "IUM", "1201990000028530101202003") == [("FMT002", 0)]
    assert raised(detect, "VIDHOSP", "1850775123456") == [("FMT002", 0)]  # cannot even read 49-52
    long_med = MED + "0"  # type 06 but 106 characters: still the MED layout, wrong length
    lay = detect("FICHCOMP", long_med)
    assert lay.name == "fichcomp_med" and codes(lay.check(long_med)) == [("FMT002", 0)]
    assert codes(lay.check(MED[:70])) == [("FMT002", 0)]  # cut inside an amount: not a trimmed line
    assert codes(load("hosp_pmsi").check(lines("hosp_pmsi.txt")[0] + "X")) == [("FMT002", 0)]
    # a length that no number of DMT blocks can give is a length error, not a counter error
    assert codes(V15_LAY.check(V15 + "12345")) == [("FMT002", 0)]
    assert codes(V15_LAY.check(V15 + "0" * 50)) == [("FMT009", 467)]


def test_fmt003_not_a_number():
    (f,) = V15_LAY.check(put(V15, 86, "00A1"), line_no=3)
    assert (f.code, f.position, f.line_no) == ("FMT003", 86, 3)
    assert "Nombre de venues" in f.message and "00A1" in f.message
    assert codes(V15_LAY.check(put(V15, 86, "00²1"))) == [("FMT003", 86)]  # a latin-1 digit is not a digit
    assert codes(V15_LAY.check(put(V15, 86, " 001"))) == [("FMT003", 86)]  # space-padded, not zero-padded
    bad_counter = put(V15, 467, "0A")
    assert codes(V15_LAY.check(bad_counter)) == [("FMT003", 467)]  # the line cannot be cut
    assert raised(V15_LAY.parse, bad_counter) == [("FMT003", 467)]


def test_fmt004_bad_date():
    (f,) = V15_LAY.check(put(V15, 275, "31022025"))
    assert (f.code, f.position) == ("FMT004", 275) and "31022025" in f.message and "Date d'entrée" in f.message
    assert codes(V15_LAY.check(put(V15, 275, "00000000"))) == [("FMT004", 275)]
    assert codes(V15_LAY.check(put(V15, 275, "2025-3-3"))) == [("FMT004", 275)]
    (f,) = V15_LAY.check(put(V15, 468 + 6, "32032025"))  # DMT block 1, date de début (offset 6)
    assert (f.code, f.position) == ("FMT004", 474) and f.message.startswith("DMT n°1 : ")
    assert codes(V15_LAY.check(put(V15, 20, "29021985"))) == [("FMT004", 20)]  # not a leap year
    assert V15_LAY.check(put(V15, 20, "29021984")) == []
    b2 = lines("b2_noemie/B2_990000028_20250310101500_0000.b2")[2]
    assert codes(load("b2_2").check(put(b2, 103, "250230"))) == [("FMT004", 103)]  # AAMMJJ


def test_fmt005_required_blank():
    assert codes(V15_LAY.check(put(V15, 275, " " * 8))) == [("FMT005", 275)]
    assert codes(V15_LAY.check(put(V15, 194, "   "))) == [("FMT005", 194)]  # caisse gestionnaire
    # an anonymous / AME dossier ('XX' régime) has no caisse: blank accepted, the line is FMT101
    assert V15_ANON[193:200] == " " * 7 and codes(V15_LAY.check(V15_ANON)) == [("FMT101", 1)]
    assert codes(V15_LAY.check(put(V15, 83, " "))) == [("FMT005", 83)]  # séjour facturable
    assert codes(V15_LAY.check(put(V15, 468 + 1, "   "))) == [("FMT005", 469)]  # DMT discipline (O in V015)
    assert codes(load("managereject").check("250000101           000012345202500")) == [("FMT005", 36)]


def test_fmt006_value_not_in_list_or_referential():
    (f,) = V15_LAY.check(put(V15, 28, "5"))
    assert (f.code, f.position) == ("FMT006", 28) and "« 5 »" in f.message and "1, 2, 3" in f.message
    refs = {"regimes": {"01", "02"}, "mode_traitement": ["03", "04"]}
    line = put(V15, 16, "03")
    assert V15_LAY.check(line) == []  # a table not given is not checked
    assert codes(V15_LAY.check(line, refs)) == [("FMT006", 16)]
    assert codes(V15_LAY.check(line, {"regimes": {"01", "02", "03"}})) == []
    assert codes(V15_LAY.check(put(V15, 468 + 4, "19"), refs)) == [("FMT006", 472)]  # DMT mode de traitement
    assert codes(load("vidhosp_V010").check(put(lines("vidhosp_V010.txt")[1], 28, "3"))) == [("FMT006", 28)]  # 3 from V014
    assert codes(load("extractepmsi").check("202513")) == [("FMT006", 5)]  # enumerated numeric field
    assert codes(load("noemie_080").check("08104250310001")) == [("FMT006", 1)]  # entity number
    assert codes(V15_LAY.check(line, {"regimes": [" 03 ", 1]})) == []  # referential codes are stripped


def test_fmt007_nir_key_without_printing_the_nir():
    for pos, name in ((14, "cle_nir_assure"), (75, "cle_nir_individuel")):
        (f,) = V15_LAY.check(put(V15, pos, "09"))
        assert (f.code, f.position) == ("FMT007", pos)
        assert "1850775123456" not in f.message and "09" not in f.message
    (f,) = V15_LAY.check(put(V15, 387, "09"))  # INS (13 + 2) in one field
    assert (f.code, f.position) == ("FMT007", 374) and "185077512345609" not in f.message
    assert codes(V15_LAY.check(put(V15, 1, "1850775123457"))) == [("FMT007", 14)]
    assert codes(V15_LAY.check(put(V15, 62, " " * 15))) == []  # optional NIR absent with its key
    assert codes(V15_LAY.check(put(V15, 75, "  "))) == [("FMT007", 75)]  # a NIR without its key
    corsica = put(put(V15, 1, "299052A20281758"), 62, "299052B20281785")
    assert V15_LAY.check(corsica) == []
    b2 = lines("b2_noemie/B2_990000028_20250310101500_0000.b2")[2]
    (f,) = load("b2_2").check(put(b2, 25, "92"))
    assert (f.code, f.position) == ("FMT007", 25) and "1850578006084" not in f.message


def test_fmt008_finess():
    (f,) = V15_LAY.check(put(V15, 53, "990000011"))
    assert (f.code, f.position) == ("FMT008", 53) and "990000011" in f.message
    assert codes(V15_LAY.check(put(V15, 439, "990000029     "))) == [("FMT008", 439)]  # établissement de transfert
    assert V15_LAY.check(put(V15, 439, "990000028     ")) == []
    assert codes(load("fichcomp_med").check(put(MED, 1, "99000001A"))) == [("FMT008", 1)]


def test_fmt009_counter_inconsistent_with_length():
    (f,) = V15_LAY.check(put(V15, 467, "02"))
    assert (f.code, f.position) == ("FMT009", 467) and "2 bloc(s) DMT" in f.message and "568" in f.message
    assert raised(V15_LAY.parse, put(V15, 467, "02")) == [("FMT009", 467)]
    assert codes(load("rss_grp_122").check(put(RSS, 138, "003"))) == [("FMT009", 134)]
    assert codes(load("vidhosp_V016").check(V16 + "0" * 50)) == [("FMT009", 467)]
    assert codes(load("vidhosp_V016").check(V16 + "0" * 10)) == [("FMT002", 0)]  # neither width fits


def test_fmt010_bad_amount():
    (f,) = V15_LAY.check(put(V15, 90, "00004666,4"))
    assert (f.code, f.position) == ("FMT010", 90) and "00004666,4" in f.message
    assert codes(V15_LAY.check(put(V15, 468 + 25, "-116656"))) == [("FMT010", 493)]


def test_fmt011_unknown_fichcomp_type():
    (f,) = raised(detect, "FICHCOMP", put(MED, 10, "88"))
    assert f == ("FMT011", 10)
    with pytest.raises(LayoutError) as exc:
        detect("FICHCOMP", put(MED, 10, "88"))
    assert "88" in exc.value.findings[0].message and "105" in exc.value.findings[0].message


def test_fmt012_nda_blank():
    assert codes(V15_LAY.check(put(V15, 29, " " * 20))) == [("FMT012", 29)]
    assert codes(load("fichcomp_med").check(put(MED, 12, " " * 20))) == [("FMT012", 12)]
    assert codes(load("rss_grp_122").check(put(RSS, 48, " " * 20))) == [("FMT012", 48)]
    assert codes(load("staterequest").check("")) == [("FMT012", 1)]


def test_fmt014_control_character():
    (f,) = V15_LAY.check(put(V15, 397, "DUPONT\x1a"))
    assert (f.code, f.position) == ("FMT014", 403) and "0x1a" in f.message
    assert codes(V15_LAY.check(V15 + "\r")) == [("FMT014", 519), ("FMT002", 0)]  # a CR left in the line
    assert ("FMT014", 21) in codes(V15_LAY.check(put(V15, 21, "\t")))


def test_fmt101_placeholder_once_per_line():
    findings = V15_LAY.check(V15_ANON, line_no=3)
    assert codes(findings) == [("FMT101", 1)] and not findings[0].blocking
    assert "N° immatriculation assuré" in findings[0].message and "Code Grand Régime" in findings[0].message
    assert codes(V15_LAY.check(put(V15, 28, "X"))) == [("FMT101", 28)]  # sexe
    assert codes(V15_LAY.check(put(V15, 20, "XXXXXXXX"))) == [("FMT101", 20)]  # date de naissance
    rec = V15_LAY.parse(V15_ANON)
    assert rec["nir_assure"] == "XXXXXXXXXXXXX" and V15_LAY.render(rec) == V15_ANON
    rec = V15_LAY.parse(put(V15, 20, "XXXXXXXX"))
    assert rec["date_naissance"] == "XXXXXXXX"  # a placeholder parses to its raw text


def test_fmt102_trimmed_line_is_padded():
    trimmed = MED.rstrip(" ")
    assert len(trimmed) == 82
    lay = detect("FICHCOMP", trimmed)
    findings = lay.check(trimmed, line_no=4)
    assert codes(findings) == [("FMT102", 83)] and not findings[0].blocking
    assert lay.render(lay.parse(trimmed)) == MED  # stored whole, as checked
    assert codes(lay.check(MED[:70])) == [("FMT002", 0)]  # an amount was cut: not a trimmed line
    po = lines("fichcomp_po.txt")[0].rstrip()
    assert codes(detect("FICHCOMP", po).check(po)) == [("FMT102", len(po) + 1)]


def test_fmt103_restreint():
    restreint = V15[:389]
    assert V15_LAY.part(restreint) == "restreint" and V15_LAY.part(V15) == "complet"
    findings = V15_LAY.check(restreint)
    assert codes(findings) == [("FMT103", 0)] and not findings[0].blocking
    rec = V15_LAY.parse(restreint)
    assert "nb_dmt" not in rec and "DMT" not in rec and rec["art51"] == "" and V15_LAY.render(rec) == restreint
    trimmed = restreint.rstrip()  # an editor removed the trailing blanks of the restreint form
    assert len(trimmed) == 388
    assert codes(V15_LAY.check(trimmed)) == [("FMT102", 389), ("FMT103", 0)]
    assert V15_LAY.render(V15_LAY.parse(trimmed)) == restreint
    v10 = lines("vidhosp_V010.txt")[0]
    assert codes(load("vidhosp_V010").check(v10)) == [("FMT103", 0)]


# --- V016 nb_dmt width, described in data (alt_lengths) -----------------------------------------
def test_v016_counter_on_three_characters():
    lay = load("vidhosp_V016")
    narrow = V16[:466] + V16[467:]  # '0001' -> '001': lespmsi.com reading
    assert len(narrow) == 519 and (len(narrow) - 466 - 3) % 50 == 0
    assert detect("VIDHOSP", narrow) is lay and lay.check(narrow) == []
    rec = lay.parse(narrow)
    assert isinstance(rec, Record) and rec["nb_dmt"] == 1 and rec["DMT"] == lay.parse(V16)["DMT"]
    assert lay.render(rec) == narrow
    assert lay.render(dict(rec)) == V16  # a plain dict is written with the primary (pmsixml) width
    empty3 = lines("vidhosp_V016.txt")[0][:469]  # nb_dmt '000'
    assert lay.parse(empty3)["DMT"] == [] and lay.render(lay.parse(empty3)) == empty3
    assert codes(lay.check(empty3)) == [("FMT101", 1)]


# --- NOEMIE entities and control lines that stop early ------------------------------------------
def test_short_records_parse_absent_fields_as_none():
    lay = load("noemie_080")
    rec = lay.parse("08004250310001")
    assert rec["num_lot"] == 1 and rec["statut_acquittement"] is None and lay.render(rec) == "08004250310001"
    assert lay.render({"num_entite": 80, "niveau": 4, "date_lot": date(2025, 3, 10), "num_lot": 1}) == "08004250310001"
    assert codes(lay.check("08004250310001" + "P" + "0" * 20)) == [("FMT002", 0)]
    assert codes(lay.check("08004250310001Z")) == [("FMT006", 15)]


# --- render ---------------------------------------------------------------------------------
def test_render_errors():
    rec = V15_LAY.parse(V15)
    with pytest.raises(LayoutError) as exc:
        V15_LAY.render({**rec, "nb_dmt": 2})
    assert codes(exc.value.findings) == [("FMT009", 467)]
    assert V15_LAY.render({**rec, "nb_dmt": None}) == V15  # the counter follows the blocks
    for change, code in (({"sexe": "12"}, "FMT002"), ({"nb_venues": -1}, "FMT003"), ({"nb_venues": 10000}, "FMT003"),
                         ({"mt_tm": Decimal("1.234")}, "FMT010"), ({"mt_tm": Decimal("-1")}, "FMT010"),
                         ({"date_entree": "2025-03-03"}, "FMT002"), ({"date_entree": 20250303}, "FMT004"),
                         ({"unknown_field": 1}, "FMT002")):
        with pytest.raises(LayoutError) as exc:
            V15_LAY.render({**rec, **change})
        assert exc.value.findings[0].code == code, change
    with pytest.raises(LayoutError) as exc:
        V15_LAY.render({**rec, "cle_nir_assure": "123"})
    assert "123" not in exc.value.findings[0].message  # NIR fields are never printed


def test_render_fills_absent_fields_and_accepts_whole_euros():
    lay = load("b2_5")
    line = lay.render({"type_enregistrement": "5", "total_base_remb_ph": Decimal("12.5"), "montant_total_facture_ph": 3})
    assert len(line) == 128 and line[:2] == "5 " and line[41:49] == "00001250" and line[114:122] == "00000300"
    assert line[2:41].strip() == ""


def test_parse_is_lenient_render_gives_back_any_cut_line():
    bad = put(put(V15, 86, "00A1"), 275, "31022025")
    rec = V15_LAY.parse(bad)
    assert rec["nb_venues"] == "00A1" and rec["date_entree"] == "31022025"
    assert V15_LAY.render(rec) == bad
