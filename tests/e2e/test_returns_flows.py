"""The billing loop closed by files: NOEMIE returns and control flows dropped in a real inbox,
`fides process` as a subprocess, `.arl` and database read back."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from buffer import FINESS, flow_name

UTC = dt.timezone.utc
LOT_AT = dt.datetime(2025, 3, 10, 10, 15, tzinfo=UTC)
GEO, ORGANISME = "990000028", "017810000"


def execute(site, sql: str, *params):
    with psycopg.connect(site.db_url) as c:
        cur = c.execute(sql, params)
        return cur.fetchone() if cur.description else None


def lot(site, numero=1) -> int:
    return execute(site, "INSERT INTO lot (finess_geo, numero, organisme, exercice, created_at, b2_file, invoices, "
                         "total, total_amo) VALUES (%s, %s, %s, 2025, %s, 'B2.b2', 1, 4352.10, 3511.68) RETURNING id",
                   GEO, numero, ORGANISME, LOT_AT)[0]


def billed(site, nda: str, numero: int, lot_id: int, state: int = 2) -> None:
    d = execute(site, "INSERT INTO dossier (finess, nda, state, state_at, to_validate) VALUES (%s, %s, %s, %s, false) "
                      "RETURNING id", FINESS, nda, state, LOT_AT)[0]
    t = execute(site, "INSERT INTO titre (exercice, budget, numero, complement, dossier_id, created_at) "
                      "VALUES (2025, '00', %s, '202500', %s, %s) RETURNING id", numero, d, LOT_AT)[0]
    execute(site, "INSERT INTO invoice (dossier_id, titre_id, lot_id, total, total_amo, record_count, created_at) "
                  "VALUES (%s, %s, %s, 4352.10, 3511.68, 9, %s)", d, t, lot_id, LOT_AT)


def states(site) -> dict[str, int]:
    return dict(site.query("SELECT nda, state FROM dossier"))


def header(reference: int) -> str:
    return f"000OR{ORGANISME:<14}ES{FINESS:<14}250320{'':20}{reference}"


def invoice(numero: int, cents: int = 351168, motif: str | None = None) -> list[str]:
    ents = [f"10005{numero:09d}", f"10505202500{numero:09d}", "1500510",
            f"22006GHS  25030325030700100420210080{'':10}{cents:08d}"]
    ents += [f"29006R{motif:<5}MOTIF ILLUSTRATIF"] if motif else []
    return ents + [f"99005000010{'':19}{cents:011d}"]  # 990 niveau 05 closes the invoice


def noemie(reference: int, *invoices: list[str]) -> bytes:
    ents = [header(reference), f"04002{GEO}", "07003250320", "08004250310001", *[e for i in invoices for e in i],
            "99900000099"]
    return "".join(e + "@\r\n" for e in ents).encode("latin-1")


def arl930(status: str) -> bytes:
    ents = [header(930), f"04002{GEO}", f"08004250310001{status}E042000012345", "99900000004"]
    return "".join(e + "@\r\n" for e in ents).encode("latin-1")


@pytest.fixture
def loop(site):
    """Three dossiers billed in lot 001 (as the billing side leaves them)."""
    lot1 = lot(site)
    for i, nda in enumerate(("250000101", "250000102", "250000103")):
        billed(site, nda, 12345 + i, lot1)
    return site


def test_payment_file_under_a_transport_name(loop):
    loop.drop("RSP_CPAM_20250320_153012.TXT", noemie(578, invoice(12345), invoice(12346, 340000)))
    loop.process()
    arl = loop.arl("RSP_CPAM_20250320_153012.TXT")
    assert arl.header[1] == "NOEMIE" and arl.status == "OK"
    assert arl.counts == (15, 15, 0)
    assert [(e[1], e[3], e[4]) for e in arl.errors] == [("11", "RET008", "A")]
    assert states(loop) == {"250000101": 4, "250000102": 4, "250000103": 2}
    assert loop.archived("RSP_CPAM_20250320_153012.TXT")
    assert loop.query("SELECT code, origin FROM anomaly") == [("RET008", "return")]


def test_rejects_partial_file_and_replays(loop):
    bad = invoice(12347)
    bad[1] = bad[1][:-2] + "X7"
    name = flow_name("NOEMIE", 1)
    loop.drop(name, noemie(908, invoice(12345, motif="R1234"), invoice(99999), bad))
    execute(loop, "UPDATE dossier SET state = 1 WHERE nda = '250000102'")
    loop.drop(flow_name("NOEMIE", 2), noemie(908, invoice(12346, motif="R1")))
    loop.process()
    arl = loop.arl(name)
    assert arl.status == "PARTIEL"
    assert [(e[1], e[2], e[3], e[4]) for e in arl.errors] == [("12", "0", "RET004", "E"), ("17", "12", "RET003", "E")]
    assert "titre 000099999 complément 202500" in arl.errors[0][5]
    assert arl.counts == (21, 19, 2)
    assert loop.arl(flow_name("NOEMIE", 2)).codes == ["RET006"]
    assert states(loop) == {"250000101": 3, "250000102": 1, "250000103": 2}
    assert loop.query("SELECT last_code FROM dossier WHERE nda = '250000101'") == [("R1234",)]

    # the same content again: a duplicate; the same return in another file: a warning, no change
    loop.drop(flow_name("NOEMIE", 3), noemie(908, invoice(12345, motif="R1234"), invoice(99999), bad))
    loop.drop("RETOUR_908.txt", noemie(908, invoice(12345, motif="R1234")))
    loop.process()
    assert loop.arl(flow_name("NOEMIE", 3)).codes == ["FIC003"]
    replay = loop.arl("RETOUR_908.txt")
    assert replay.status == "OK" and replay.codes == ["RET007"]
    assert loop.query("SELECT count(*) FROM insurance_return") == [(1,)]


def test_reject_then_managereject_then_state(loop):
    loop.drop(flow_name("NOEMIE", 1), noemie(908, invoice(12345, motif="R1234"), invoice(12346, motif="R9")))
    loop.process()
    loop.drop_lines(flow_name("MANAGEREJECT", 2), [
        "250000101           000012345202500A20250322",
        "250000102           000012346202500C20250322R9",
        "250000103                          C20250322",
    ])
    loop.process()
    arl = loop.arl(flow_name("MANAGEREJECT", 2))
    assert arl.status == "PARTIEL" and arl.counts == (3, 2, 1)
    assert [(e[1], e[3]) for e in arl.errors] == [("3", "CTL004")]
    assert states(loop) == {"250000101": 0, "250000102": 1, "250000103": 2}
    cancelled = loop.query("SELECT numero, cancelled_at IS NOT NULL FROM titre ORDER BY numero")
    assert cancelled == [(12345, True), (12346, False), (12347, False)]
    # EN_COURS after A waits for corrected data: the validation sweep leaves it alone
    assert loop.query("SELECT to_validate FROM dossier WHERE nda = '250000101'") == [(False,)]


def test_negative_arl_raw_then_hand_built(loop):
    loop.drop("ARL_930.txt", arl930("N"))
    loop.process()
    arl = loop.arl("ARL_930.txt")
    assert arl.header[1] == "NOEMIE" and arl.status == "OK" and arl.codes == []
    assert set(states(loop).values()) == {1}
    assert loop.query("SELECT arl_status, arl_code FROM lot") == [("NEGATIF", "E042")]
    loop.drop_lines(flow_name("NOEMIEARLNEGATIF", 1), [f"{GEO}00120250310{ORGANISME}E042000012345"])
    loop.process()
    again = loop.arl(flow_name("NOEMIEARLNEGATIF", 1))
    assert again.status == "OK" and again.codes == ["CTL005"]


def test_hand_built_arl_negatif(loop):
    loop.drop_lines(flow_name("NOEMIEARLNEGATIF", 1), [f"{GEO}00120250310{ORGANISME}", f"{GEO}00220250310{ORGANISME}"])
    loop.process()
    arl = loop.arl(flow_name("NOEMIEARLNEGATIF", 1))
    assert arl.status == "PARTIEL" and arl.codes == ["CTL006"]
    assert set(states(loop).values()) == {1}


def test_positive_arl_changes_no_state(loop):
    loop.drop("ARL_930.txt", arl930("P"))
    loop.process()
    assert loop.arl("ARL_930.txt").status == "OK"
    assert loop.query("SELECT arl_status FROM lot") == [("POSITIF",)]
    assert set(states(loop).values()) == {2}


def test_cancel_paid(loop):
    loop.drop(flow_name("NOEMIE", 1), noemie(578, invoice(12345)))
    loop.process()
    loop.drop_lines(flow_name("CANCELPAIDREQUEST", 2), [
        "250000101           00001234520250020250325RECTIFICATION PMSI",
        "250000102           00001234620250020250325RECTIFICATION PMSI",
    ])
    loop.process()
    arl = loop.arl(flow_name("CANCELPAIDREQUEST", 2))
    assert arl.status == "PARTIEL" and [(e[1], e[3]) for e in arl.errors] == [("2", "CTL004")]
    assert loop.query("SELECT state, never_b2 FROM dossier WHERE nda = '250000101'") == [(0, True)]


def test_unhandled_reference_and_format_error(loop):
    loop.drop(flow_name("NOEMIE", 1), noemie(580, invoice(12345)))
    loop.drop(flow_name("MANAGEREJECT", 2), b"250000101           000012345202500Z20250322\r\n")
    loop.process()
    ko = loop.arl(flow_name("NOEMIE", 1))
    assert ko.status == "KO" and ko.codes == ["RET002"] and loop.rejected(flow_name("NOEMIE", 1))
    fmt = loop.arl(flow_name("MANAGEREJECT", 2))
    assert fmt.status == "KO" and fmt.counts[1] == 0
    assert set(states(loop).values()) == {2}
