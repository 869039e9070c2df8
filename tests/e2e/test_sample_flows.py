"""The files of sample_flows/, dropped one by one in the order `fides demo` uses into a real buffer
directory, with `fides process` (a subprocess, real PostgreSQL) after each drop, and checked field
by field: every `.arl`, the dossiers and their states after each stage, titres, lots, invoices,
returns, the STATEREQUEST answer and the EXTRACTEPMSI archive.

The whole cycle runs once per module (`cycle` fixture); the tests read what it recorded. What the
files are and what fides should do with each is in sample_flows/README.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from buffer import FINESS, Arl, Site

from fides.demo import ORDER, _rank  # the order `fides demo` drops the samples in

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_flows"
GEO_A, GEO_B = "990000028", "990000036"

def stamp(name: str) -> str:
    return name.split("_")[2]


# --- the cycle --------------------------------------------------------------------------------

@dataclass
class Step:
    name: str
    stdout: str
    dossiers: dict[str, tuple]  # nda -> (state, billable_b2, extract_reason, never_b2, last_code)


@dataclass
class Cycle:
    site: Site
    steps: list[Step] = field(default_factory=list)

    def after(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def before(self, flux: str) -> Step:
        """The state just before the first file of `flux` was dropped."""
        i = next(i for i, s in enumerate(self.steps) if s.name.startswith(flux + "_"))
        return self.steps[i - 1]

    @property
    def last(self) -> Step:
        return self.steps[-1]

    def arl(self, name: str) -> Arl:
        return self.site.arl(name)

    def query(self, sql: str, *params):
        return self.site.query(sql, *params)


def _db_url(server_url: str, name: str) -> str:
    base, _, query = server_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def ordered_samples() -> list[Path]:
    return sorted((p for p in SAMPLES.iterdir() if p.is_file() and p.name != "README.md"), key=_rank)


_DOSSIERS = "SELECT nda, state, billable_b2, extract_reason, never_b2, last_code FROM dossier ORDER BY nda"


@pytest.fixture(scope="module")
def cycle(tmp_path_factory, pg_server_url, template_db) -> Cycle:
    name = f"fides_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    root = tmp_path_factory.mktemp("samples") / "root"
    root.mkdir()
    (root / "fides.toml").write_text(
        f'[establishment]\nfiness = "{FINESS}"\n\n[inbox]\nstable_seconds = 0\n', encoding="utf-8")
    for d in ("in", "out/arl"):
        (root / d).mkdir(parents=True, exist_ok=True)
    site = Site(root, _db_url(pg_server_url, name))
    result = Cycle(site)
    try:
        for sample in ordered_samples():
            site.drop(sample.name, sample.read_bytes())
            out = site.process().stdout
            rows = {r[0]: tuple(r[1:]) for r in site.query(_DOSSIERS)}
            result.steps.append(Step(sample.name, out, rows))
        yield result
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- expectations ------------------------------------------------------------------------------

IUM = "IUM_990000010_20250401080000_0001.txt"
V015 = "VIDHOSP_990000010_20250402083000_0001.txt"
V014 = "VIDHOSP_990000010_20250402083000_0002.txt"
V016 = "VIDHOSP_990000010_20250402083500_0001.txt"
ERR_DATE = "VIDHOSP_990000010_20250402090000_0001.erreur-date.txt"
ERR_KEY = "VIDHOSP_990000010_20250402090000_0002.erreur-cle-nir.txt"
ERR_VERSION = "VIDHOSP_990000010_20250402090000_0003.erreur-version.txt"
RSS122 = "RSS_990000010_20250403070000_0001.txt"
RSS123 = "RSS_990000010_20250403070000_0002.txt"
ERR_TRUNCATED = "RSS_990000010_20250403073000_0001.erreur-tronque.txt"
MED = "FICHCOMP_990000010_20250402180000_0001.txt"
DMI = "FICHCOMP_990000010_20250402180000_0002.txt"
DIALYSE = "FICHCOMP_990000010_20250402180000_0003.txt"
B2REQUEST = "B2REQUEST_990000010_20250404080000_0001.txt"
N930 = "NOEMIE_990000010_20250407061500_0001.txt"
N908 = "NOEMIE_990000010_20250410061500_0001.txt"
N578 = "NOEMIE_990000010_20250411061500_0001.txt"
MANAGEREJECT = "MANAGEREJECT_990000010_20250414090000_0001.txt"
CANCELPAID = "CANCELPAIDREQUEST_990000010_20250415090000_0001.txt"
STATEREQUEST = "STATEREQUEST_990000010_20250416100000_0001.txt"
EXTRACT = "EXTRACTEPMSI_990000010_20250502080000_0001.txt"

# file -> (flux, status, (read, integrated, refused), [(line, position, code, severity)])
GOOD = {
    IUM: ("IUM", "OK", (11, 11, 0), []),
    V015: ("VIDHOSP", "OK", (11, 11, 0), []),
    V014: ("VIDHOSP", "OK", (1, 1, 0), []),
    V016: ("VIDHOSP", "OK", (2, 2, 0), [("1", "1", "FMT101", "A")]),
    MED: ("FICHCOMP", "OK", (2, 2, 0), []),
    DMI: ("FICHCOMP", "OK", (2, 2, 0), []),
    DIALYSE: ("FICHCOMP", "OK", (1, 1, 0), []),
    RSS122: ("RSS", "OK", (14, 14, 0), []),
    RSS123: ("RSS", "OK", (1, 1, 0), []),
    STATEREQUEST: ("STATEREQUEST", "OK", (8, 8, 0), []),
    EXTRACT: ("EXTRACTEPMSI", "OK", (1, 1, 0), []),
}
RETURNS = {  # their .arl depend on the billing run before them
    N930: ("NOEMIE", "OK", (6, 6, 0), []),
    N908: ("NOEMIE", "OK", (25, 25, 0), []),
    N578: ("NOEMIE", "OK", (24, 24, 0), []),
    MANAGEREJECT: ("MANAGEREJECT", "OK", (2, 2, 0), []),
    CANCELPAID: ("CANCELPAIDREQUEST", "OK", (1, 1, 0), []),
}
ERRORS = {
    ERR_DATE: ("VIDHOSP", (3, 0, 3), [("2", "283", "FMT004", "E")], "30022025"),
    ERR_KEY: ("VIDHOSP", (2, 0, 2), [("2", "14", "FMT007", "E")], "clé"),
    ERR_VERSION: ("VIDHOSP", (2, 0, 2), [("1", "49", "FMT001", "E")], "V017"),
    ERR_TRUNCATED: ("RSS", (4, 0, 4), [("3", "0", "FMT002", "E")], "246"),
}
ERROR_NDAS = [f"2025000{n}" for n in range(301, 310)]

BILLABLE = ["2025000201", "2025000202", "2025000203", "2025000204", "2025000205", "2025000206",
            "2025000207", "2025000208", "2025000209", "2025000212", "2025000214"]
NOT_BILLABLE = {  # nda -> (extract reason excerpt, anomaly codes)
    "2025000210": ("séjour non facturable à l'assurance maladie (motif 1 : patient AME)", {"VAL011", "VAL013"}),
    "2025000211": ("forfait dialyse D11 : valorisé par e-PMSI", {"VAL015"}),
    "2025000213": ("sortie le 20/12/2024, avant la date de bascule 01/01/2025", {"VAL019"}),
}
ALL_NDAS = sorted(BILLABLE + list(NOT_BILLABLE))

# nda -> (titre, FINESS géographique, lot, organisme, invoice total, AMO)
INVOICES = {
    "2025000201": (1, GEO_A, 1, "016910001", "2484.52", "1923.62"),
    "2025000202": (2, GEO_B, 2, "016910001", "6883.33", "5042.67"),
    "2025000203": (3, GEO_B, 2, "016910001", "9151.85", "8911.85"),
    "2025000204": (4, GEO_A, 1, "016910001", "6477.90", "6477.90"),
    "2025000205": (5, GEO_A, 1, "016910001", "2662.71", "2662.71"),
    "2025000206": (6, GEO_A, 1, "016910001", "219.44", "219.44"),
    "2025000207": (7, GEO_B, 2, "016910001", "2185.99", "1700.79"),
    "2025000212": (10, GEO_A, 1, "016910001", "1500.21", "1200.17"),
    "2025000214": (11, GEO_B, 2, "016910001", "3301.10", "2528.88"),
    "2025000208": (8, GEO_B, 1, "013810001", "6616.10", "6516.10"),  # with its 2 PH8 lines
    "2025000209": (9, GEO_A, 2, "020110000", "8364.93", "7121.94"),  # with its 2 PII lines
}
EN_COURS, VALIDE, FACTURE, REJETE, PAYE = 0, 1, 2, 3, 4
MARCH_EXITS = sorted(set(ALL_NDAS) - {"2025000213", "2025000214"})


def _invoices(cycle: Cycle, ndas) -> dict[str, tuple]:
    rows = cycle.query(
        "SELECT d.nda, t.numero, t.complement, l.finess_geo, l.numero, l.organisme, i.total, i.total_amo, "
        "l.b2_file FROM invoice i JOIN dossier d ON d.id = i.dossier_id JOIN titre t ON t.id = i.titre_id "
        "JOIN lot l ON l.id = i.lot_id WHERE d.nda = ANY(%s) ORDER BY i.id", list(ndas))
    return {r[0]: r[1:] for r in rows}


def _check_arl(arl: Arl, flux: str, name: str, status: str, counts, errors) -> None:
    assert arl.header[:4] == ["ARL", flux, name, status], (arl.header, arl.errors)
    assert arl.counts == counts, (name, arl)
    assert [tuple(e[1:5]) for e in arl.errors] == errors, (name, arl.errors)


# --- files -------------------------------------------------------------------------------------

def test_samples_are_up_to_date_and_documented():
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "make_sample_flows.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in SAMPLES.iterdir() if p.is_file() and p.name != "README.md"}
    assert names == set(GOOD) | set(RETURNS) | set(ERRORS) | {B2REQUEST}
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{n}`" in readme for n in names), sorted(n for n in names if f"`{n}`" not in readme)
    for n in names:  # CRLF, latin-1, and the name contract with increasing timestamps in 2025
        data = (SAMPLES / n).read_bytes()
        assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b""), n
        assert stamp(n).startswith("2025") and n.split("_")[1] == FINESS, n
    by_demo_order = [stamp(p.name) for p in ordered_samples()]
    assert by_demo_order == sorted(by_demo_order)  # the demo order is the order of the timestamps
    assert ORDER.index("FICHCOMP") < ORDER.index("RSS")  # drugs and devices in before validation


def test_each_drop_is_processed_alone(cycle):
    for step in cycle.steps:
        lines = [line.split() for line in step.stdout.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0][2] == step.name, (step.name, step.stdout)


def test_good_files_are_ok_and_archived(cycle):
    for name, (flux, status, counts, errors) in GOOD.items():
        _check_arl(cycle.arl(name), flux, name, status, counts, errors)
        assert cycle.site.archived(name) and not cycle.site.rejected(name), name
        assert cycle.after(name).stdout.split()[:3] == [status, flux, name]
    assert not any(cycle.site.inbox.iterdir())


def test_error_files_are_ko_with_their_code_and_line(cycle):
    for name, (flux, counts, errors, said) in ERRORS.items():
        arl = cycle.arl(name)
        _check_arl(arl, flux, name, "KO", counts, errors)
        assert said in arl.errors[0][5], arl.errors
        assert cycle.site.rejected(name) and not cycle.site.archived(name), name
    assert cycle.query("SELECT nda FROM dossier WHERE nda = ANY(%s)", ERROR_NDAS) == []
    files = dict(cycle.query("SELECT name, status FROM flux_file WHERE name = ANY(%s)", list(ERRORS)))
    assert files == {n: "KO" for n in ERRORS}


def test_ium_loads_the_um_referential(cycle):
    rows = cycle.query("SELECT um, finess_geo, type_autorisation, date_effet::text, mode_hospitalisation "
                       "FROM unite_medicale WHERE current ORDER BY um, date_effet")
    assert [r[0] for r in rows] == ["1201", "1202", "1202", "1301", "1401", "1502", "1701", "2101", "3001",
                                    "3002", "5001"]
    assert ("1202", GEO_A, "29", "2018-01-01", "M") in rows and ("1202", GEO_B, "29", "2025-01-01", "M") in rows
    assert ("5001", GEO_A, "01A", "2015-01-01", "C") in rows and ("2101", GEO_B, "21", "2019-01-01", "P") in rows


# --- dossiers and validation -------------------------------------------------------------------

def test_vidhosp_create_the_dossiers_en_cours(cycle):
    after = cycle.before("RSS").dossiers
    assert sorted(after) == ALL_NDAS
    assert {nda: row[0] for nda, row in after.items()} == {nda: EN_COURS for nda in ALL_NDAS}
    parts = cycle.query("SELECT d.nda, l.layout, l.subtype FROM dossier_line l JOIN dossier d ON d.id = l.dossier_id "
                        "WHERE l.current AND l.kind = 'VIDHOSP' ORDER BY d.nda")
    layouts = {nda: (layout, part) for nda, layout, part in parts}
    assert layouts["2025000213"] == ("vidhosp_V014", "complet")
    assert layouts["2025000210"] == ("vidhosp_V016", "complet")
    assert layouts["2025000211"] == ("vidhosp_V016", "complet")
    assert {layouts[n] for n in BILLABLE} == {("vidhosp_V015", "complet")}
    rums = dict(cycle.query("SELECT d.nda, count(*) FROM dossier_line l JOIN dossier d ON d.id = l.dossier_id "
                            "WHERE l.current AND l.kind = 'RSS' GROUP BY d.nda"))
    assert rums == {nda: (2 if nda == "2025000203" else 1) for nda in ALL_NDAS}
    newborn = cycle.query("SELECT l.line FROM dossier_line l JOIN dossier d ON d.id = l.dossier_id "
                          "WHERE d.nda = '2025000206' AND l.current AND l.kind = 'VIDHOSP'")[0][0]
    assert newborn[139:159].strip() == "2025000205" and newborn[159] == "1"  # mother's N° adm., auprès d'elle


def test_complete_dossiers_validated_or_kept_out_of_b2(cycle):
    before_billing = cycle.before("B2REQUEST").dossiers
    for nda in BILLABLE:
        state, billable, reason, never_b2, last_code = before_billing[nda]
        assert (state, billable, reason, never_b2, last_code) == (VALIDE, True, None, False, None), nda
    for nda, (reason, codes) in NOT_BILLABLE.items():
        state, billable, extract_reason, never_b2, last_code = before_billing[nda]
        assert (state, billable, never_b2) == (EN_COURS, False, False), nda
        assert reason in extract_reason and last_code in codes, (nda, extract_reason, last_code)
        active = {r[0] for r in cycle.query(
            "SELECT a.code FROM anomaly a JOIN dossier d ON d.id = a.dossier_id WHERE d.nda = %s AND a.active", nda)}
        assert active == codes, (nda, active)
    # no warning either on the billable dossiers: the VIDHOSP amounts are fides' own
    warnings = cycle.query("SELECT d.nda, a.code FROM anomaly a JOIN dossier d ON d.id = a.dossier_id "
                           "WHERE a.active AND a.origin = 'validation' AND d.nda = ANY(%s)", BILLABLE)
    assert warnings == []


# --- billing and returns -----------------------------------------------------------------------

def test_b2request_bills_every_valide_dossier(cycle):
    assert {nda: row[0] for nda, row in cycle.after(B2REQUEST).dossiers.items() if nda in BILLABLE} == {
        nda: FACTURE for nda in BILLABLE}
    report = (cycle.site.root / "out" / "reports" / f"{B2REQUEST}.arl").read_text(encoding="utf-8")
    rows = {r[1]: r for r in (line.split(";") for line in report.splitlines())}
    invoices = _invoices(cycle, list(INVOICES))
    for nda, (titre, geo, lot, organisme, total, amo) in INVOICES.items():
        numero, complement, lot_geo, lot_no, lot_org, inv_total, inv_amo, b2_file = invoices[nda]
        assert (numero, complement, lot_geo, lot_no, lot_org.strip()) == (titre, "2025H0", geo, lot, organisme), nda
        assert (inv_total, inv_amo) == (Decimal(total), Decimal(amo)), nda
        assert rows[nda][:7] == ["DOS", nda, "GENERE", f"{titre:09d}", "2025H0", f"{lot:03d}", b2_file], rows[nda]
        assert b2_file.startswith(f"B2_{geo}_") and (cycle.site.root / "out" / "b2" / b2_file).is_file()
    assert set(rows) == set(BILLABLE)  # `*`: only VALIDE dossiers are listed
    arl = cycle.arl(B2REQUEST)
    assert arl.header[:4] == ["ARL", "B2REQUEST", B2REQUEST, "OK"] and arl.errors == []
    assert (cycle.site.root / "out" / "reports" / "FACT_SYNT.TXT").is_file()
    lots = cycle.query("SELECT finess_geo, numero, organisme, invoices FROM lot ORDER BY finess_geo, numero")
    assert [(g, n, o.strip()) for g, n, o, _ in lots] == [
        (GEO_A, 1, "016910001"), (GEO_A, 2, "020110000"), (GEO_B, 1, "013810001"), (GEO_B, 2, "016910001")]
    assert [c for *_, c in lots] == [5, 1, 1, 4]


def test_noemie_returns_and_control_flows(cycle):
    for name, (flux, status, counts, errors) in RETURNS.items():
        _check_arl(cycle.arl(name), flux, name, status, counts, errors)
        assert cycle.site.archived(name), name
    lots = cycle.query("SELECT finess_geo, numero, arl_status FROM lot ORDER BY finess_geo, numero")
    assert lots == [(GEO_A, 1, "POSITIF"), (GEO_A, 2, None), (GEO_B, 1, None), (GEO_B, 2, "POSITIF")]
    assert {n: r[0] for n, r in cycle.after(N930).dossiers.items() if n in BILLABLE} == {n: FACTURE for n in BILLABLE}

    after_908 = cycle.after(N908).dossiers
    assert after_908["2025000202"][0] == REJETE and after_908["2025000207"][0] == REJETE
    assert after_908["2025000202"][4] == "A0101" and after_908["2025000207"][4] == "A0215"

    after_578 = cycle.after(N578).dossiers
    assert after_578["2025000201"][0] == PAYE and after_578["2025000204"][0] == PAYE
    paid = cycle.query("SELECT d.nda, r.kind, r.amount, r.codes FROM insurance_return r "
                       "JOIN dossier d ON d.id = r.dossier_id ORDER BY d.nda, r.id")
    assert [(n, a) for n, k, a, _ in paid if a is not None] == [
        ("2025000201", Decimal("1923.62")), ("2025000204", Decimal("6477.90"))]
    assert {(n, c) for n, k, a, c in paid if a is None} == {("2025000202", "A0101"), ("2025000207", "A0215")}
    assert cycle.query("SELECT code FROM anomaly WHERE origin = 'return'") == []  # paid what was billed

    after_mr = cycle.after(MANAGEREJECT).dossiers
    assert after_mr["2025000202"][0] == EN_COURS and after_mr["2025000207"][0] == VALIDE
    titres = cycle.query("SELECT d.nda, t.numero, t.cancelled_at IS NOT NULL FROM titre t "
                         "JOIN dossier d ON d.id = t.dossier_id WHERE d.nda IN ('2025000202', '2025000207') "
                         "ORDER BY d.nda")
    assert titres == [("2025000202", 2, True), ("2025000207", 7, False)]

    after_cancel = cycle.after(CANCELPAID).dossiers
    assert after_cancel["2025000201"][0] == EN_COURS and after_cancel["2025000201"][3] is True
    assert after_cancel["2025000204"][0] == PAYE


def test_state_request_answer(cycle):
    answer = (cycle.site.root / "out" / "reports" / f"{STATEREQUEST}.arl").read_text(encoding="utf-8")
    rows = [line.split(";") for line in answer.splitlines()]
    assert [r[:7] + r[8:] for r in rows] == [
        ["ETAT", "2025000201", "0", "EN_COURS", "000000001", "2025H0", "001", ""],
        ["ETAT", "2025000202", "0", "EN_COURS", "", "", "", "A0101"],
        ["ETAT", "2025000204", "4", "PAYE", "000000004", "2025H0", "001", ""],
        ["ETAT", "2025000207", "1", "VALIDE", "000000007", "2025H0", "", "A0215"],
        ["ETAT", "2025000208", "2", "FACTURE", "000000008", "2025H0", "001", ""],
        ["ETAT", "2025000210", "0", "EN_COURS", "", "", "", "VAL011"],
        ["ETAT", "2025000213", "0", "EN_COURS", "", "", "", "VAL019"],
        ["ETAT", "2025009999", "-1", "INCONNU", "", "", "", ""],
    ]
    assert all(len(r[7]) == 14 and r[7].isdigit() for r in rows[:-1]) and rows[-1][7] == ""


def _extract(cycle: Cycle) -> zipfile.ZipFile:
    found = sorted((cycle.site.root / "out" / "reports").glob("990000010.2025.3.*.in.zip"))
    assert len(found) == 1, found
    return zipfile.ZipFile(found[0])


def test_extract_epmsi_march(cycle):
    with _extract(cycle) as z:
        names = set(z.namelist())
        assert {"990000010.2025.3.vidhosp.txt", "990000010.2025.3.rss.txt"} <= names
        vidhosp = z.read("990000010.2025.3.vidhosp.txt").decode("latin-1").splitlines()
        rss = z.read("990000010.2025.3.rss.txt").decode("latin-1").splitlines()
    assert sorted(line[28:48].strip() for line in vidhosp) == MARCH_EXITS  # billable or not
    assert sorted({line[47:67].strip() for line in rss}) == MARCH_EXITS and len(rss) == 13


def test_final_states(cycle):
    states = {nda: row[0] for nda, row in cycle.last.dossiers.items()}
    expected = {nda: FACTURE for nda in BILLABLE}
    expected.update({"2025000201": EN_COURS, "2025000202": EN_COURS, "2025000204": PAYE,
                     "2025000207": VALIDE, "2025000210": EN_COURS, "2025000213": EN_COURS})
    expected["2025000211"] = EN_COURS
    assert states == expected


def test_fichcomp_lines_reach_their_dossiers(cycle):
    lines = cycle.query("SELECT d.nda, l.subtype, count(*) FROM dossier_line l JOIN dossier d ON d.id = l.dossier_id "
                        "WHERE l.current AND l.kind = 'FICHCOMP' GROUP BY 1, 2 ORDER BY 1, 2")
    assert lines == [("2025000208", "06", 2), ("2025000209", "02", 2), ("2025000211", "07", 1)]
    assert _invoices(cycle, ["2025000211"]) == {}  # the forfait dialyse keeps the séance out of B2
    with _extract(cycle) as z:
        assert {"990000010.2025.3.med.txt", "990000010.2025.3.dmi.txt"} <= set(z.namelist())


# --- `fides demo` itself ---------------------------------------------------------------------------

def test_fides_demo_processes_every_sample(tmp_path, db_url):
    env = dict(os.environ, FIDES_DATABASE_URL=db_url)
    proc = subprocess.run([sys.executable, "-m", "fides.cli", "demo", "--root", str(tmp_path / "demo")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    samples = [p.name for p in ordered_samples()]
    shown = [line.split() for line in proc.stdout.splitlines()]
    shown = [(w[2], w[0]) for w in shown if len(w) == 3 and w[2] in samples]
    assert [name for name, _ in shown] == samples
    assert {name for name, status in shown if status != "OK"} == set(ERRORS)
    assert {name for name, status in shown if status == "KO"} == set(ERRORS)


# --- the 2024 stay under an installation that switched to FIDES before its exit -----------------------

def test_closed_exercice_stay_is_billed_on_the_current_exercice(site):
    """2025000213 left on 20/12/2024: out of B2 for a fresh installation (date de bascule 2025-01-01),
    billable where FIDES started on 2024-10-01; exercice 2024 closed: titled on the current one."""
    (site.root / "fides.toml").write_text(
        f'[establishment]\nfiness = "{FINESS}"\ndate_bascule = "2024-10-01"\n\n'
        '[numbering]\nclosed_exercices = [2024]\n\n[inbox]\nstable_seconds = 0\n', encoding="utf-8")
    for name in (IUM, V014, RSS122):
        site.drop(name, (SAMPLES / name).read_bytes())
        site.process()
    assert site.query("SELECT state, billable_b2, extract_reason FROM dossier WHERE nda = '2025000213'") == [
        (VALIDE, True, None)]
    request = "B2REQUEST_990000010_20250404080000_0002.txt"
    site.drop_lines(request, ["2025000213"])
    site.process()
    report = (site.root / "out" / "reports" / f"{request}.arl").read_text(encoding="utf-8").splitlines()
    current = f"{date.today().year}H0"
    assert [r.split(";")[:6] for r in report] == [["DOS", "2025000213", "GENERE", "000000001", current, "001"]]
    rows = site.query("SELECT t.exercice, t.complement, l.finess_geo, i.total, i.total_amo FROM invoice i "
                      "JOIN titre t ON t.id = i.titre_id JOIN lot l ON l.id = i.lot_id")
    # campaign 2024 tariff (GHS 1142: 2278.36 x 0.993) + 5 FJ; UM 1202 was on the main site in 2024
    assert rows == [(date.today().year, current, GEO_A, Decimal("2362.41"), Decimal("1809.93"))]
