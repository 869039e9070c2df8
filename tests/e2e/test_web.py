"""The web dashboard and JSON API on a database filled by a realistic scenario: the files of
sample_flows/ dropped through the engine in the order `fides demo` uses, except the MANAGEREJECT
file, so that dossiers 2025000202 and 2025000207 are still REJETE for the dashboard's buttons.

The server is the real one (`fides.web.server.start`, threaded wsgiref) on a free local port.
Checked here: refusals without the token, sign-in, every page and endpoint against the database,
no whole NIR anywhere, MANAGEREJECT A/C from the dashboard (same effects and audit as the flow,
with the user's name), and schemathesis over the OpenAPI description finding no server error.
The browser tests (test_web_browser.py) reuse the scenario.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from html import unescape as html_unescape
from pathlib import Path

import psycopg
import pytest

from fides.demo import _rank

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_flows"
FINESS = "990000010"
TOKEN = "jeton-de-test-0123456789"
REJECTED = ("2025000202", "2025000207")  # rejected by the 908, not yet handled (no MANAGEREJECT)


# --- the scenario -------------------------------------------------------------------------------

@dataclass
class Scenario:
    root: Path
    db_url: str
    base: str  # http://127.0.0.1:PORT
    server: object

    def query(self, sql: str, *params):
        with psycopg.connect(self.db_url) as c:
            return c.execute(sql, params).fetchall()

    def one(self, sql: str, *params):
        return self.query(sql, *params)[0][0]

    def request(self, method: str, path: str, *, token: str | None = TOKEN, cookie: str | None = None,
                form: dict | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
        host, port = self.base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if cookie:
            h["Cookie"] = cookie
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        out = (resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        conn.close()
        return out

    def get(self, path: str, **kw) -> tuple[int, dict, bytes]:
        return self.request("GET", path, **kw)

    def json(self, path: str):
        status, _, body = self.get(path)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)

    def login(self, name: str) -> str:
        status, headers, _ = self.request("POST", "/connexion", token=None,
                                          form={"nom": name, "jeton": TOKEN, "suivant": "/"})
        assert status == 303, status
        return headers["set-cookie"].split(";")[0]


def ordered_samples(skip: tuple[str, ...] = ("MANAGEREJECT",)) -> list[Path]:
    return sorted((p for p in SAMPLES.iterdir() if p.is_file() and p.suffix != ".md"
                   and p.name.split("_", 1)[0] not in skip), key=_rank)


def _db_url(server_url: str, name: str) -> str:
    base, _, query = server_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def build_scenario(tmp_path_factory, pg_server_url: str, template_db: str):
    """Yields a Scenario: a fresh database and root, the sample flows integrated, the server on."""
    from fides import config as config_mod
    from fides.app import open_installation
    from fides.web.server import start

    name = f"fides_w_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    url = _db_url(pg_server_url, name)
    root = tmp_path_factory.mktemp("web") / "root"
    root.mkdir()
    (root / "fides.toml").write_text(
        f'[establishment]\nfiness = "{FINESS}"\n\n[database]\nurl = "{url}"\n\n[inbox]\nstable_seconds = 0\n',
        encoding="utf-8")
    (root / "fides.toml").chmod(0o600)
    with open_installation(root) as inst:
        processor = inst.processor()
        for sample in ordered_samples():
            shutil.copyfile(sample, inst.tree.inbox / sample.name)
            processor.run_pass()
    server = start(config_mod.load(root), url, host="127.0.0.1", port=0, token=TOKEN)
    try:
        yield Scenario(root, url, f"http://127.0.0.1:{server.port}", server)
    finally:
        server.stop()
        with psycopg.connect(pg_server_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, pg_server_url, template_db):
    yield from build_scenario(tmp_path_factory, pg_server_url, template_db)


def full_nirs(sc: Scenario) -> set[str]:
    """Every NIR of the scenario's VIDHOSP lines, whole (with key) and without its key."""
    from fides.layouts import load

    out = set()
    for layout, line in sc.query("SELECT layout, line FROM dossier_line WHERE kind = 'VIDHOSP'"):
        rec = load(layout).parse(line)
        for body, key in (("nir_assure", "cle_nir_assure"), ("nir_individuel", "cle_nir_individuel")):
            nir = str(rec.get(body) or "").strip()
            if nir and "X" not in nir:
                out.add(nir)
                out.add(nir + str(rec.get(key) or "").strip())
    return out


# --- pure parts ------------------------------------------------------------------------------------

def test_nir_masking_keeps_the_last_four_characters_only():
    from fides.web.privacy import mask_nir, scrub

    assert mask_nir("185057800608436") == "•" * 11 + "8436"
    assert mask_nir("XXXXXXXXXXXXX") == "anonyme (X)"
    assert mask_nir("") == "" and mask_nir(None) == ""
    assert scrub("NIR 185057800608436 refusé") == "NIR " + "•" * 11 + "8436 refusé"
    assert scrub("clé 1850578006084 36") == "clé " + "•" * 11 + "8436"
    kept = ["VIDHOSP_990000010_20250402083000_0001.txt", "ARL;RSS;x;OK;1;1;0;20261123115358",
            "titre 000000002 2025H0", "UCD 3400893826707", "FINESS 990000028"]
    assert [scrub(t) for t in kept] == kept


def test_charts_are_well_formed_svg_with_their_numbers():
    from fides.web.charts import Series, bar_chart, nice_step

    assert nice_step(9, integer=True) == 5 and nice_step(0.182) == 0.05 and nice_step(0) == 1.0
    svg = bar_chart("Essai <&>", ["01/2025", "02/2025"], [Series("a", "#000", (3, 0)), Series("b", "#fff", (1, 2))])
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "Essai <&>"
    assert root.find(f"{ns}desc").text == "01/2025 : a 3, b 1; 02/2025 : a 0, b 2"
    assert len(root.findall(f"{ns}rect")) == 3 + 2  # three bars with a value, two legend keys
    empty = ET.fromstring(bar_chart("vide", [], [Series("a", "#000", ())], percent=True))
    assert "Aucune donnée" in "".join(empty.itertext())


def test_html_escapes_everything_that_is_not_markup():
    from fides.web.html import Markup, fmt_money, tag

    assert tag("td", "<script>") == "<td>&lt;script&gt;</td>"
    assert tag("a", Markup("<b>x</b>"), href='"/x') == '<a href="&quot;/x"><b>x</b></a>'
    assert Markup("<br>") + "<i>" == "<br>&lt;i&gt;"
    assert fmt_money(Decimal("40778.76")) == "40\u202f778,76\u00a0€"


def test_sessions_are_signed_and_expire():
    from fides.web.auth import Auth, TokenError, clean_user

    now = [1_000_000.0]
    auth = Auth(TOKEN, session_seconds=60, clock=lambda: now[0])
    cookie = auth.session("Marie Curie")
    assert auth.user(cookie) == "Marie Curie"
    assert auth.user(cookie[:-2] + "AA") is None
    assert Auth("un-autre-jeton-0123456789").user(cookie) is None
    assert auth.check_csrf(cookie, auth.csrf(cookie)) and not auth.check_csrf(cookie, "x")
    now[0] += 61
    assert auth.user(cookie) is None
    assert auth.check_token(TOKEN) and not auth.check_token(TOKEN + "x") and not auth.check_token(None)
    assert clean_user("  Jean   Dupont ") == "Jean Dupont" and clean_user("<script>") is None
    with pytest.raises(TokenError):
        Auth("court")


# --- access -----------------------------------------------------------------------------------------

PAGES = ["/", "/fichiers", "/dossiers", "/rejets", "/lots", "/paiements", "/taches", "/referentiels",
         "/dossiers/2025000202", "/fichiers/1", "/fichiers/1/arl", "/lots/1"]
ENDPOINTS = ["/api/statistiques", "/api/dossiers", "/api/dossiers/2025000202", "/api/fichiers", "/api/fichiers/1",
             "/api/fichiers/1/erreurs", "/api/fichiers/1/arl", "/api/lots", "/api/lots/1", "/api/rejets",
             "/api/paiements", "/api/taches", "/api/referentiels"]


def test_without_the_token_everything_is_refused(scenario):
    for path in PAGES + ENDPOINTS:
        for token in (None, "mauvais-jeton-0123456789"):
            status, headers, body = scenario.get(path, token=token)
            assert status == 401, (path, token, status)
            assert b"A0101" not in body and b"REJETE" not in body and b"NOEMIE_" not in body
        if path.startswith("/api/"):
            assert headers["www-authenticate"].startswith("Bearer")
            assert json.loads(body)["erreur"]
        else:
            assert 'action="/connexion"' in body.decode()
    # a forged or foreign session cookie is no better
    status, _, _ = scenario.get("/", token=None, cookie="fides_session=eyJ1IjoieCJ9.AAAA")
    assert status == 401
    # the public parts
    assert scenario.get("/style.css", token=None)[0] == 200
    assert scenario.get("/connexion", token=None)[0] == 200
    assert scenario.get("/api/openapi.json", token=None)[0] == 200


def test_with_the_token_every_page_and_endpoint_answers(scenario):
    for path in PAGES + ENDPOINTS:
        status, headers, body = scenario.get(path)
        assert status == 200, (path, status, body[:300])
        assert headers["cache-control"] == "no-store"
        assert "default-src 'none'" in headers["content-security-policy"]
    assert scenario.get("/dossiers/2025009999")[0] == 404
    assert json.loads(scenario.get("/api/dossiers/2025009999")[2])["code"] == "DOS003"
    assert scenario.get("/api/dossiers?etat=INCONNU")[0] == 400
    assert scenario.get("/api/dossiers?per_page=501")[0] == 400
    assert scenario.get("/api/fichiers/999999")[0] == 404
    assert scenario.request("DELETE", "/api/dossiers")[0] == 405


def test_sign_in_with_name_and_token_then_sign_out(scenario):
    status, _, body = scenario.request("POST", "/connexion", token=None,
                                       form={"nom": "Marie Curie", "jeton": "faux-jeton-0123456789"})
    assert status == 401 and "incorrect" in body.decode()
    cookie = scenario.login("Marie Curie")
    assert "HttpOnly" in scenario.request("POST", "/connexion", token=None, form={"nom": "A", "jeton": TOKEN})[1]["set-cookie"]
    status, _, body = scenario.get("/", token=None, cookie=cookie)
    assert status == 200 and "Connecté : Marie Curie" in body.decode()
    assert scenario.get("/api/dossiers", token=None, cookie=cookie)[0] == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', body.decode()).group(1)
    assert scenario.request("POST", "/deconnexion", token=None, cookie=cookie, form={})[0] == 403
    status, headers, _ = scenario.request("POST", "/deconnexion", token=None, cookie=cookie, form={"csrf": csrf})
    assert status == 303 and "Max-Age=0" in headers["set-cookie"]


# --- the numbers --------------------------------------------------------------------------------------

def test_statistics_match_the_database(scenario):
    stats = scenario.json("/api/statistiques")
    by_state = dict(scenario.query("SELECT state, count(*) FROM dossier GROUP BY state"))
    names = ["EN_COURS", "VALIDE", "FACTURE", "REJETE", "PAYE"]
    assert stats["dossiers_par_etat"] == {n: by_state.get(i, 0) for i, n in enumerate(names)}
    assert stats["dossiers_par_etat"]["REJETE"] == 2
    files = dict(scenario.query("SELECT status, count(*) FROM flux_file GROUP BY status"))
    assert stats["fichiers_par_statut"]["KO"] == files["KO"] == 4
    billed = scenario.one("SELECT sum(total) FROM invoice WHERE current")
    paid = scenario.one("SELECT sum(amount) FROM insurance_return WHERE kind = 'PAIEMENT'")
    assert Decimal(str(stats["montant_facture"])) == billed
    assert Decimal(str(stats["montant_paye"])) == paid
    sent = scenario.one("SELECT count(*) FROM invoice")
    assert sum(m["factures"] for m in stats["taux_de_rejet"]) == sent == 11
    assert sum(m["rejetees"] for m in stats["taux_de_rejet"]) == 2


def test_dossier_state_by_number(scenario):
    d = scenario.json("/api/dossiers/2025000202")
    state, titre = scenario.query(
        "SELECT d.state, t.numero FROM dossier d JOIN titre t ON t.dossier_id = d.id WHERE d.nda = %s", "2025000202")[0]
    assert (d["etat_code"], d["etat"], d["titre"]) == (state, "REJETE", titre) == (3, "REJETE", 2)
    assert [r["codes"] for r in d["retours"]] == ["A0101"]
    events = [h["evenement"] for h in d["historique"]]
    assert events[0] == "creation" and events.count("creation") == 1 and events[-1] == "rejet_noemie"
    created = d["historique"][0]
    assert created["vers"] == "EN_COURS" and created["fichier"].startswith("VIDHOSP")
    assert d["identite"]["nir"].startswith("•") and len(d["identite"]["nir"].lstrip("•")) == 4
    listing = scenario.json("/api/dossiers?etat=REJETE")
    assert sorted(i["nda"] for i in listing["items"]) == list(REJECTED) and listing["total"] == 2
    page2 = scenario.json("/api/dossiers?per_page=5&page=2")
    assert page2["total"] == scenario.one("SELECT count(*) FROM dossier") and len(page2["items"]) == 5
    assert [i["nda"] for i in scenario.json("/api/dossiers?nda=202500020")["items"]] == [
        f"202500020{i}" for i in range(1, 10)]


def test_files_show_every_error_inline(scenario):
    ko = scenario.json("/api/fichiers?statut=KO")
    assert ko["total"] == 4
    expected = {n: set(c) for n, c in scenario.query(
        "SELECT f.name, array_agg(e.code) FROM flux_file f JOIN file_error e ON e.file_id = f.id "
        "WHERE f.status = 'KO' GROUP BY f.name")}
    assert {f["nom"]: {e["code"] for e in f["erreurs"]} for f in ko["items"]} == expected
    page = scenario.get("/fichiers?statut=KO")[2].decode()
    for codes in expected.values():
        for code in codes:
            assert f"<code>{code}</code>" in page
    file_id = next(f["id"] for f in ko["items"] if "erreur-date" in f["nom"])
    status, headers, arl = scenario.get(f"/fichiers/{file_id}/arl")
    assert headers["content-type"].startswith("text/plain")
    assert arl.decode() == scenario.one("SELECT arl_text FROM flux_file WHERE id = %s", file_id)


def test_lots_rejects_and_payments_match_the_database(scenario):
    lots = scenario.json("/api/lots")
    rows = scenario.query("SELECT id, invoices, total, total_amo, arl_status FROM lot")
    assert {lot["id"]: (lot["factures"], Decimal(str(lot["montant"])), Decimal(str(lot["montant_amo"])),
                        lot["arl"]) for lot in lots["items"]} == {
        i: (n, t, a, s or "ATTENTE") for i, n, t, a, s in rows}
    assert lots["totaux"] == {"lots": 4, "factures": sum(r[1] for r in rows),
                              "montant": float(sum(r[2] for r in rows)), "montant_amo": float(sum(r[3] for r in rows))}
    detail = scenario.json(f"/api/lots/{rows[0][0]}")
    assert len(detail["lignes"]) == rows[0][1]
    rejects = scenario.json("/api/rejets")
    assert rejects["total"] == scenario.one("SELECT count(*) FROM insurance_return WHERE kind = 'REJET'") == 2
    assert {i["nda"] for i in rejects["items"]} == set(REJECTED)
    summary = rejects["synthese"]
    assert {g["cle"]: g["nombre"] for g in summary["par_motif"]} == {"A0101": 1, "A0215": 1}
    assert summary["total"]["a_traiter"] == 2
    amo = scenario.one("SELECT sum(i.total_amo) FROM insurance_return r JOIN invoice i ON i.titre_id = r.titre_id "
                       "WHERE r.kind = 'REJET'")
    assert Decimal(str(summary["total"]["montant_amo"])) == amo
    assert {g["cle"] for g in summary["par_um"]} == {"1202", "1502"}
    only = scenario.json("/api/rejets?motif=A0101")
    assert [i["nda"] for i in only["items"]] == ["2025000202"]
    payments = scenario.json("/api/paiements")
    assert {p["nda"]: p["montant_paye"] for p in payments["items"]} == {"2025000201": 1923.62, "2025000204": 6477.90}
    assert all(p["ecart"] == 0 for p in payments["items"])


def test_referentials_in_force(scenario):
    refs = scenario.json("/api/referentiels")
    assert {t["table"]: t["lignes"] for t in refs["tables"]} == dict(
        scenario.query("SELECT table_name, rows FROM referential_load"))
    assert len(refs["unites_medicales"]) == scenario.one("SELECT count(*) FROM unite_medicale WHERE current") == 11


def test_scheduled_jobs_page_shows_the_plan_of_the_configuration(scenario):
    """/taches shows what `fides run` will run with this fides.toml ([schedule] defaults: monthly
    extract at 02:00, validation every 60 min, retention at 03:30, no scheduled billing), with the
    next time of each, beside the runs recorded in job_run."""
    import datetime as dt

    from fides import config as config_mod
    from fides.engine.scheduler import jobs_from

    status, _, body = scenario.get("/taches")
    assert status == 200
    text = body.decode()
    plan = re.search(r'<table id="planification">(.*?)</table>', text, re.S)
    assert plan, "no planning table"
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", plan.group(1))]
    rows = [r for r in rows if r]  # the header row has th cells
    jobs = jobs_from(config_mod.load(scenario.root))
    assert [re.sub(r"<[^>]+>", "", r[1]) for r in rows] == [j.name for j in jobs] == [
        "extract_epmsi", "validation", "retention"]
    at = dt.datetime.now()
    for row, job in zip(rows, jobs):
        assert html_unescape(row[2]) == job.calendar.describe()
        shown = dt.datetime.strptime(row[3], "%d/%m/%Y %H:%M")
        # the next time is in the future, and no later than the job's own period allows
        assert at - dt.timedelta(minutes=1) <= shown <= at + dt.timedelta(days=32), (job.name, shown)
    assert "billing" not in [re.sub(r"<[^>]+>", "", r[1]) for r in rows]


def test_no_whole_nir_in_any_page_or_answer(scenario):
    nirs = full_nirs(scenario)
    assert len(nirs) >= 20
    ndas = [r[0] for r in scenario.query("SELECT nda FROM dossier")]
    files = [r[0] for r in scenario.query("SELECT id FROM flux_file")]
    paths = PAGES + ENDPOINTS + [f"/dossiers/{n}" for n in ndas] + [f"/api/dossiers/{n}" for n in ndas]
    paths += [f"/fichiers/{i}" for i in files] + [f"/fichiers/{i}/arl" for i in files]
    for path in paths:
        body = scenario.get(path)[2].decode()
        assert not [n for n in nirs if n in body], path


# --- MANAGEREJECT from the dashboard ----------------------------------------------------------------

def _csrf(scenario, cookie: str, nda: str) -> str:
    page = scenario.get(f"/dossiers/{nda}", token=None, cookie=cookie)[2].decode()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_managereject_buttons_go_through_the_flow_code(scenario):
    from fides.audit import verify

    cookie = scenario.login("Jeanne Martin")
    csrf = _csrf(scenario, cookie, "2025000202")
    page = scenario.get("/dossiers/2025000202", token=None, cookie=cookie)[2].decode()
    assert 'id="managereject-A"' in page and 'id="managereject-C"' in page
    # without the form's CSRF value, or with the bare token, nothing happens
    assert scenario.request("POST", "/dossiers/2025000202/managereject", token=None, cookie=cookie,
                            form={"action": "A", "confirme": "1"})[0] == 403
    assert scenario.request("POST", "/dossiers/2025000202/managereject",
                            form={"action": "A", "confirme": "1"})[0] == 403
    # first the confirmation page, which changes nothing
    status, _, body = scenario.request("POST", "/dossiers/2025000202/managereject", token=None, cookie=cookie,
                                       form={"action": "A", "csrf": csrf, "motif": "droits ouverts, à corriger"})
    assert status == 200 and 'id="confirmer"' in body.decode()
    assert scenario.one("SELECT state FROM dossier WHERE nda = '2025000202'") == 3
    # then the action
    status, headers, _ = scenario.request("POST", "/dossiers/2025000202/managereject", token=None, cookie=cookie,
                                          form={"action": "A", "csrf": csrf, "confirme": "1",
                                                "motif": "droits ouverts, à corriger"})
    assert status == 303 and headers["location"] == "/dossiers/2025000202?resultat=A"
    state, never_b2 = scenario.query("SELECT state, to_validate FROM dossier WHERE nda = '2025000202'")[0]
    assert (state, never_b2) == (0, False)
    assert scenario.one("SELECT count(*) FROM titre t JOIN dossier d ON d.id = t.dossier_id "
                        "WHERE d.nda = '2025000202' AND t.cancelled_at IS NULL") == 0
    assert scenario.one("SELECT count(*) FROM invoice i JOIN dossier d ON d.id = i.dossier_id "
                        "WHERE d.nda = '2025000202' AND i.current") == 0
    event = scenario.query("SELECT e.event, e.actor, e.from_state, e.to_state, e.detail, e.file_id FROM audit_event e "
                           "JOIN dossier d ON d.id = e.dossier_id WHERE d.nda = '2025000202' ORDER BY e.id DESC LIMIT 1")[0]
    assert event == ("managereject_annulation", "web:Jeanne Martin", 3, 0,
                     "MANAGEREJECT A droits ouverts, à corriger (tableau de bord)", None)
    # C on the other one keeps its titre and sends it again
    csrf = _csrf(scenario, cookie, "2025000207")
    status, _, _ = scenario.request("POST", "/dossiers/2025000207/managereject", token=None, cookie=cookie,
                                    form={"action": "C", "csrf": csrf, "confirme": "1"})
    assert status == 303
    assert scenario.one("SELECT state FROM dossier WHERE nda = '2025000207'") == 1
    assert scenario.one("SELECT count(*) FROM titre t JOIN dossier d ON d.id = t.dossier_id "
                        "WHERE d.nda = '2025000207' AND t.cancelled_at IS NULL") == 1
    assert scenario.one("SELECT actor FROM audit_event WHERE event = 'managereject_confirmation'") == "web:Jeanne Martin"
    # a second click is refused with the flow's code, and changes nothing
    status, _, body = scenario.request("POST", "/dossiers/2025000207/managereject", token=None, cookie=cookie,
                                       form={"action": "C", "csrf": csrf, "confirme": "1"})
    assert status == 409 and "CTL005" in body.decode()
    status, _, body = scenario.request("POST", "/dossiers/2025000203/managereject", token=None, cookie=cookie,
                                       form={"action": "A", "csrf": csrf, "confirme": "1"})
    assert status == 409 and "CTL004" in body.decode()
    with psycopg.connect(scenario.db_url) as c:
        assert verify(c) == []
    # the billing takes the confirmed dossier again, with the same titre, in a new lot
    from fides.app import open_installation

    with open_installation(scenario.root) as inst:
        (inst.tree.inbox / f"B2REQUEST_{FINESS}_20250420080000_0001.txt").write_bytes(b"2025000207\r\n")
        inst.processor().run_pass()
    assert scenario.one("SELECT state FROM dossier WHERE nda = '2025000207'") == 2
    assert scenario.query("SELECT t.numero, count(*) FROM invoice i JOIN titre t ON t.id = i.titre_id "
                          "JOIN dossier d ON d.id = i.dossier_id WHERE d.nda = '2025000207' GROUP BY t.numero") == [(7, 2)]


# --- property-based requests over the OpenAPI description -----------------------------------------------
# schemathesis generates requests from /api/openapi.json, operation by operation: valid ones (every
# response checked against the description: status, content type, schema) and invalid ones (which
# must be refused with a 4xx). No request may end in a server error. The loop is explicit (rather
# than `schemathesis.pytest.from_fixture`, whose lazy loader does not run under pytest 9).

def _fuzz(scenario, mode) -> list[str]:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{scenario.base}/api/openapi.json")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    problems: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= len(ENDPOINTS)  # one path per operation in ENDPOINTS
    for operation in operations:
        @settings(max_examples=30, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            response = case.call(base_url=scenario.base, headers=auth, timeout=60)
            if response.status_code >= 500:
                problems.append(f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}")
                return
            if mode == mode.POSITIVE:
                case.validate_response(response, headers=auth)
            else:
                assert response.status_code < 500

        run()
    return problems


def test_api_fuzzed_with_valid_requests_finds_no_server_error(scenario):
    from schemathesis import GenerationMode

    assert _fuzz(scenario, GenerationMode.POSITIVE) == []


def test_api_fuzzed_with_invalid_requests_finds_no_server_error(scenario):
    from schemathesis import GenerationMode

    assert _fuzz(scenario, GenerationMode.NEGATIVE) == []
