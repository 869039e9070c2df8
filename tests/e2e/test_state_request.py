"""STATEREQUEST dropped in the inbox: the answer `out/reports/<request name>.arl`, field by field,
given every time; `fides state` prints the same lines."""

from __future__ import annotations

import datetime as dt

import psycopg
from buffer import FINESS, flow_name

UTC = dt.timezone.utc
BILLED_AT = dt.datetime(2025, 3, 10, 10, 15, tzinfo=UTC)
CHANGED_AT = dt.datetime(2025, 3, 20, 8, 30, 5, tzinfo=UTC)


def setup(site) -> None:
    """250000101 billed in lot 001 then rejected (last code R1234); 250000102 in EN_COURS."""
    with psycopg.connect(site.db_url) as c:
        lot = c.execute("INSERT INTO lot (finess_geo, numero, organisme, exercice, created_at, b2_file, invoices, "
                        "total, total_amo) VALUES ('990000028', 1, '017810000', 2025, %s, 'B2.b2', 1, 1, 1) "
                        "RETURNING id", (BILLED_AT,)).fetchone()[0]
        d = c.execute("INSERT INTO dossier (finess, nda, state, state_at, to_validate, last_code) "
                      "VALUES (%s, '250000101', 3, %s, false, 'R1234') RETURNING id", (FINESS, CHANGED_AT)).fetchone()[0]
        t = c.execute("INSERT INTO titre (exercice, budget, numero, complement, dossier_id) "
                      "VALUES (2025, '00', 12345, '202500', %s) RETURNING id", (d,)).fetchone()[0]
        c.execute("INSERT INTO invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count) "
                  "VALUES (%s, %s, %s, 1, 1, 9)", (d, t, lot))
        c.execute("INSERT INTO dossier (finess, nda, state, state_at, to_validate) VALUES (%s, '250000102', 0, %s, false)",
                  (FINESS, BILLED_AT))


def local(at: dt.datetime) -> str:
    return f"{at.astimezone():%Y%m%d%H%M%S}"


def answer(site, name: str) -> list[list[str]]:
    text = (site.root / "out" / "reports" / f"{name}.arl").read_bytes().decode("utf-8")
    return [line.split(";") for line in text.splitlines()]


def test_answer_field_by_field(site):
    setup(site)
    name = flow_name("STATEREQUEST", 3)
    site.drop_lines(name, ["250000101", "250000102", "250000999"])
    site.process()
    arl = site.arl(name)
    assert arl.header[1] == "STATEREQUEST" and arl.status == "OK" and arl.counts == (3, 3, 0)
    rows = answer(site, name)
    assert len(rows) == 3 and all(len(r) == 9 for r in rows)
    rejected, en_cours, unknown = rows
    assert rejected[0] == "ETAT"
    assert rejected[1] == "250000101"
    assert rejected[2] == "3"
    assert rejected[3] == "REJETE"
    assert rejected[4] == "000012345"
    assert rejected[5] == "202500"
    assert rejected[6] == "001"
    assert rejected[7] == local(CHANGED_AT)
    assert rejected[8] == "R1234"
    assert en_cours == ["ETAT", "250000102", "0", "EN_COURS", "", "", "", local(BILLED_AT), ""]
    assert unknown == ["ETAT", "250000999", "-1", "INCONNU", "", "", "", "", ""]


def test_answered_every_time_even_with_the_same_content(site):
    setup(site)
    for seq in (1, 2):
        site.drop_lines(flow_name("STATEREQUEST", seq), ["*"])
    site.process()
    for seq in (1, 2):
        name = flow_name("STATEREQUEST", seq)
        assert site.arl(name).status == "OK" and site.arl(name).codes == []
        assert [r[1] for r in answer(site, name)] == ["250000101", "250000102"]
    # the same name again, later: answered again too
    site.drop_lines(flow_name("STATEREQUEST", 1), ["250000102"])
    site.process()
    assert [r[1] for r in answer(site, flow_name("STATEREQUEST", 1))] == ["250000102"]
    assert site.query("SELECT count(*), bool_and(NOT applied) FROM flux_file WHERE flux = 'STATEREQUEST'") == [(3, True)]


def test_cli_state(site):
    setup(site)
    out = site.fides("state", "250000102", "250000999")
    assert out.stdout.splitlines() == [f"ETAT;250000102;0;EN_COURS;;;;{local(BILLED_AT)};",
                                       "ETAT;250000999;-1;INCONNU;;;;;"]
    every = site.fides("state", "--all")
    assert [line.split(";")[1] for line in every.stdout.splitlines()] == ["250000101", "250000102"]
    assert site.fides("state", check=False).returncode == 2
