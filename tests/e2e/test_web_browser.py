"""The dashboard in a real browser: headless Chromium from Debian (/usr/bin/chromium), driven by
Playwright for Python, on the scenario of test_web.py (sample flows through the engine, the two
rejected dossiers not yet handled).

Checked as a clerk would: the sign-in page instead of data without the token, the numbers on the
pages against the database, every page of the menu, a rejected file's errors and its .arl, a
click from a reject to its dossier (NIR masked) and MANAGEREJECT A and C from the buttons, and
that no page asks for anything outside the server (it works without internet).

Without Chromium or Playwright these tests fail in CI (CI=true) and are skipped with a loud
warning elsewhere: `apt-get install -y chromium` and `pip install -e '.[test]'` (never
`playwright install`: the browser is Debian's).
"""

from __future__ import annotations

import os
import re
import warnings

import pytest
from test_web import REJECTED, TOKEN, build_scenario, full_nirs

from fides.web.html import fmt_int, fmt_money

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
STATES = ["EN_COURS", "VALIDE", "FACTURE", "REJETE", "PAYE"]


def _unavailable() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} absent (apt-get update && apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright absent (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser():
    why = _unavailable()
    if why:
        message = f"TESTS NAVIGATEUR NON EXÉCUTÉS : {why}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        warnings.warn(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def scenario(browser, tmp_path_factory, pg_server_url, template_db):
    yield from build_scenario(tmp_path_factory, pg_server_url, template_db)


@pytest.fixture
def page(browser, scenario):
    context = browser.new_context(base_url=scenario.base, locale="fr-FR", viewport={"width": 1300, "height": 900})
    outside: list[str] = []

    def only_ours(route):
        if route.request.url.startswith(scenario.base + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_ours)
    pg = context.new_page()
    refused: list[str] = []  # what the Content-Security-Policy blocked: the pages must need nothing of it
    pg.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    pg.set_default_timeout(20_000)
    yield pg
    context.close()
    assert outside == [], f"the page asked for something outside the server: {outside}"
    assert refused == [], refused


def login(page, name: str = "Claire Dubois") -> None:
    response = page.goto("/")
    assert response.status == 401
    page.fill("#nom", name)
    page.fill("#jeton", TOKEN)
    page.click("form.login button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    assert page.inner_text("header .who span") == f"Connecté : {name}"


def cell_texts(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"{selector} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")


# --- tests ----------------------------------------------------------------------------------------

def test_without_the_token_the_browser_gets_the_sign_in_page_only(page, scenario):
    for path in ("/", "/dossiers/2025000202", "/rejets", "/fichiers/1/arl"):
        response = page.goto(path)
        assert response.status == 401, path
        assert page.is_visible("form.login")
        assert "2025000202" not in page.inner_text("main") and "A0101" not in page.content()
    api = page.request.get("/api/dossiers")
    assert api.status == 401 and api.json()["erreur"]
    page.fill("#nom", "Claire Dubois")
    page.fill("#jeton", "pas-le-bon-jeton-0123456789")
    page.click("form.login button[type=submit]")
    assert "incorrect" in page.inner_text("[role=alert]")
    assert page.request.get("/api/dossiers").status == 401


def test_dashboard_numbers_are_those_of_the_database(page, scenario):
    login(page)
    counts = dict(scenario.query("SELECT state, count(*) FROM dossier GROUP BY state"))
    for code, name in enumerate(STATES):
        assert page.inner_text(f"#etat-{name}") == fmt_int(counts.get(code, 0)), name
    files = dict(scenario.query("SELECT status, count(*) FROM flux_file GROUP BY status"))
    assert page.inner_text("#fichiers-KO") == fmt_int(files["KO"]) == "4"
    assert page.inner_text("#montant-facture") == fmt_money(scenario.one("SELECT sum(total) FROM invoice WHERE current"))
    assert page.inner_text("#montant-paye") == fmt_money(
        scenario.one("SELECT sum(amount) FROM insurance_return WHERE kind = 'PAIEMENT'"))
    assert page.inner_text("#rejets-a-traiter") == "2"
    # the charts are drawn on the server, with their numbers in the SVG description and in a table
    assert page.locator("svg#taux-rejet").count() == 1 and page.locator("svg#reste-a-facturer").count() == 1
    assert "(2/11)" in page.text_content("svg#taux-rejet desc")
    page.click("figure:has(svg#taux-rejet) summary")
    rows = cell_texts(page, "#table-taux-rejet")
    assert [r[1:] for r in rows] == [["11", "2", "18,2\u00a0%"]]
    backlog = {m: c for m, c in scenario.query(
        "SELECT to_char(exit_date, 'MM/YYYY'), count(*) FROM dossier WHERE billable_b2 AND NOT never_b2 GROUP BY 1")}
    page.click("figure:has(svg#reste-a-facturer) summary")
    shown = {r[0]: sum(int(x) for x in r[1:]) for r in cell_texts(page, "#table-reste-a-facturer")}
    assert shown == backlog


def test_every_page_of_the_menu_opens(page, scenario):
    login(page)
    for label, title in [("Fichiers", "Fichiers"), ("Dossiers", "Dossiers"), ("Rejets", "Rejets"), ("Lots", "Lots B2"),
                         ("Paiements", "Paiements"), ("Tâches planifiées", "Tâches planifiées"),
                         ("Référentiels", "Référentiels en vigueur"), ("Tableau de bord", "Tableau de bord")]:
        with page.expect_navigation() as nav:
            page.click(f"header nav >> text={label}")
        assert nav.value.status == 200, label
        assert page.inner_text("main h1") == title
        assert page.get_attribute(f"header nav >> text={label}", "aria-current") == "page"
    # lots: each lot's amounts as in the database, and its detail page sums its invoices
    page.click("header nav >> text=Lots")
    rows = {(r[1], r[2]): r for r in cell_texts(page, "#lots")}
    for geo, numero, invoices, total, amo, arl in scenario.query(
            "SELECT finess_geo, numero, invoices, total, total_amo, coalesce(arl_status, 'ATTENTE') FROM lot"):
        row = rows[(geo, f"{numero:03d}")]
        assert (row[6], row[7], row[8], row[9]) == (fmt_int(invoices), fmt_money(total), fmt_money(amo), arl)
    assert page.inner_text("#lots-montant") == fmt_money(scenario.one("SELECT sum(total) FROM lot"))
    page.click("#lots tbody tr:first-child td:nth-child(3) a")
    assert page.inner_text("main h1").startswith("Lot ")
    last = cell_texts(page, "#factures-lot")[-1]
    assert last[0] == "Total"
    # payments against the database
    page.click("header nav >> text=Paiements")
    paid = {r[1]: r[4] for r in cell_texts(page, "#paiements")}
    assert paid == {nda: fmt_money(amount) for nda, amount in scenario.query(
        "SELECT d.nda, r.amount FROM insurance_return r JOIN dossier d ON d.id = r.dossier_id WHERE r.kind = 'PAIEMENT'")}
    # referentials in force
    page.click("header nav >> text=Référentiels")
    assert len(cell_texts(page, "#referentiels")) == scenario.one("SELECT count(*) FROM referential_load")
    assert len(cell_texts(page, "#unites-medicales")) == 11
    # scheduled jobs: the plan of the scenario's fides.toml ([schedule] defaults, no scheduled billing)
    page.click("header nav >> text=Tâches planifiées")
    assert [r[1] for r in cell_texts(page, "#planification")] == ["extract_epmsi", "validation", "retention"]


def test_a_rejected_file_shows_its_errors_and_its_arl(page, scenario):
    login(page)
    page.click("header nav >> text=Fichiers")
    page.select_option("select[name=statut]", "KO")
    page.click("form.filters button[type=submit]")
    rows = cell_texts(page, "#fichiers")
    assert len(rows) == 4 and all("KO" in r[3] for r in rows)
    for name, code, line_no in scenario.query(
            "SELECT f.name, e.code, e.line_no FROM flux_file f JOIN file_error e ON e.file_id = f.id WHERE f.status = 'KO'"):
        row = next(r for r in rows if name in r[1])
        assert code in row[7] and f"ligne {line_no}" in row[7]
    with page.expect_navigation() as nav:
        page.click("#fichiers tr:has-text('erreur-date') a.arl")
    assert nav.value.headers["content-type"].startswith("text/plain")
    text = page.inner_text("body")
    assert text.startswith("ARL;VIDHOSP;VIDHOSP_990000010_20250402090000_0001.erreur-date.txt;KO;3;0;3;")
    assert "ERR;2;283;FMT004;E;" in text


def test_from_a_reject_to_its_dossier_then_managereject(page, scenario):
    login(page, "Claire Dubois")
    page.click("header nav >> text=Rejets")
    assert page.inner_text("#rejets-total") == fmt_int(
        scenario.one("SELECT count(*) FROM insurance_return WHERE kind = 'REJET'"))
    assert {r[0] for r in cell_texts(page, "#par-motif")} == {"A0101", "A0215"}
    # click through the reject to its dossier
    page.click("#rejets tbody tr:has-text('A0101') td:nth-child(2) a")
    page.wait_for_url(re.compile(r"/dossiers/2025000202$"))
    assert page.inner_text("main h1") == "Dossier 2025000202"
    assert "REJETE" in page.inner_text("dl.facts")
    nir = page.inner_text("#nir")
    assert re.fullmatch(r"•+[0-9]{4}", nir), nir
    content = page.content()
    assert not [n for n in full_nirs(scenario) if n in content]
    history = cell_texts(page, "#historique")
    assert [h[2] for h in history] == ["creation"] + [e for (e,) in scenario.query(
        "SELECT e.event FROM audit_event e JOIN dossier d ON d.id = e.dossier_id WHERE d.nda = '2025000202' ORDER BY e.id")]
    # MANAGEREJECT A: a confirmation, then the state machine
    page.fill("input[name=motif]", "droits à vérifier")
    page.click("#managereject-A")
    assert "MANAGEREJECT A" in page.inner_text("main h1")
    assert scenario.one("SELECT state FROM dossier WHERE nda = '2025000202'") == 3
    page.click("#confirmer")
    page.wait_for_url(re.compile(r"/dossiers/2025000202\?resultat=A$"))
    assert "MANAGEREJECT A appliqué" in page.inner_text("[role=status]")
    assert "EN_COURS" in page.inner_text("dl.facts") and page.locator("#actions").count() == 0
    assert scenario.query(
        "SELECT e.event, e.actor, e.detail FROM audit_event e JOIN dossier d ON d.id = e.dossier_id "
        "WHERE d.nda = '2025000202' ORDER BY e.id DESC LIMIT 1") == [
        ("managereject_annulation", "web:Claire Dubois", "MANAGEREJECT A droits à vérifier (tableau de bord)")]
    assert scenario.one("SELECT count(*) FROM titre t JOIN dossier d ON d.id = t.dossier_id "
                        "WHERE d.nda = '2025000202' AND t.cancelled_at IS NULL") == 0
    # MANAGEREJECT C on the other rejected dossier, found by its number
    page.click("header nav >> text=Dossiers")
    page.fill("input[name=nda]", REJECTED[1])
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(rf"/dossiers/{REJECTED[1]}$"))
    page.click("#managereject-C")
    page.click("#confirmer")
    page.wait_for_url(re.compile(rf"/dossiers/{REJECTED[1]}\?resultat=C$"))
    assert "VALIDE" in page.inner_text("dl.facts")
    assert scenario.one("SELECT state FROM dossier WHERE nda = %s", REJECTED[1]) == 1
    assert scenario.one("SELECT actor FROM audit_event WHERE event = 'managereject_confirmation'") == "web:Claire Dubois"
    # the reject list now says nothing is left to handle
    page.goto("/rejets?a_traiter=1")
    assert page.inner_text("#rejets-total") == "0"


def test_sign_out_ends_the_session(page, scenario):
    login(page)
    page.click("header .who button")
    page.wait_for_url(re.compile(r"/connexion$"))
    assert page.goto("/").status == 401
