"""The whole billing loop driven by dropping files, as a hospital lives it: ingest → validate →
bill → 930 négatif → rebill → 908 → MANAGEREJECT C → rebill → 578 → CANCELPAIDREQUEST, each
dossier's state read through a STATEREQUEST answer at every step, the audit trail verified at
the end."""

from __future__ import annotations

import sys
from pathlib import Path

from buffer import FINESS, example_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from test_billing import _valued_vidhosp, rss_line  # noqa: E402

GEO = "990000028"
A, B = "2025000401", "2025000402"


class Cycle:
    def __init__(self, site) -> None:
        self.site = site
        self.seq = 0

    def drop(self, flux: str, lines: list[str], eol: str = "\r\n") -> str:
        self.seq += 1
        name = f"{flux}_{FINESS}_20250401{self.seq:06d}_0001.txt"
        self.site.drop_lines(name, lines, eol)
        self.site.process()
        return name

    def states(self) -> dict[str, tuple[str, str, str, str]]:
        """nda -> (state, titre, complément, lot) from a STATEREQUEST answer."""
        name = self.drop("STATEREQUEST", [A, B])
        text = (self.site.root / "out" / "reports" / f"{name}.arl").read_text(encoding="utf-8")
        rows = [line.split(";") for line in text.splitlines()]
        assert all(r[0] == "ETAT" and len(r) == 9 for r in rows), rows
        return {r[1]: (r[3], r[4], r[5], r[6]) for r in rows}

    def noemie(self, reference: int, entities: list[str]) -> str:
        head = f"000OR{'017510001':<14}ES{FINESS:<14}250402{'':20}{reference}"
        ents = [head, f"04002{GEO}", "07003250402", *entities, "99900000099"]
        return self.drop("NOEMIE", [e + "@" for e in ents])

    def invoice_amo_cents(self, nda: str) -> int:
        return int(self.site.query(
            "SELECT i.total_amo * 100 FROM invoice i JOIN dossier d ON d.id = i.dossier_id "
            "WHERE d.nda = %s AND i.current", nda)[0][0])


def _paid(titre: int, cents: int) -> list[str]:
    return [f"10005{titre:09d}", f"105052025H0{titre:09d}", "1500510", f"99005000010{'':19}{cents:011d}"]


def test_billing_loop_end_to_end(site):
    (site.root / "fides.toml").write_text(
        f'[establishment]\nfiness = "{FINESS}"\n\n[inbox]\nstable_seconds = 0\n\n'
        '[billing]\ntjp = { "146" = 1000 }\n', encoding="utf-8")
    c = Cycle(site)
    c.drop("IUM", example_lines("ium_2013.txt"))
    c.drop("VIDHOSP", [_valued_vidhosp(A), _valued_vidhosp(B)])
    c.drop("RSS", [rss_line(num_admin_sejour=A), rss_line(num_admin_sejour=B)])
    assert c.states() == {A: ("VALIDE", "", "", ""), B: ("VALIDE", "", "", "")}

    c.drop("B2REQUEST", ["*"])
    assert c.states() == {A: ("FACTURE", "000000001", "2025H0", "001"), B: ("FACTURE", "000000002", "2025H0", "001")}

    # Négative ARL on lot 001: both back to VALIDE, titres kept; billed again in a new lot.
    c.noemie(930, [f"08004{'':6}001NE042000000001"])
    assert c.states() == {A: ("VALIDE", "000000001", "2025H0", ""), B: ("VALIDE", "000000002", "2025H0", "")}
    c.drop("B2REQUEST", ["*"])
    assert c.states() == {A: ("FACTURE", "000000001", "2025H0", "002"), B: ("FACTURE", "000000002", "2025H0", "002")}

    # 908 rejects A; MANAGEREJECT C confirms it: VALIDE with the same titre, billed again.
    c.noemie(908, [f"08004{'':6}002", "10005000000001", "105052025H0000000001", "29006R1234 MOTIF",
                   f"99005000010{'':19}{0:011d}"])
    assert c.states()[A][0] == "REJETE"
    c.drop("MANAGEREJECT", [f"{A:<20}0000000012025H0C20250402"])
    assert c.states()[A] == ("VALIDE", "000000001", "2025H0", "")
    c.drop("B2REQUEST", [A])
    assert c.states()[A] == ("FACTURE", "000000001", "2025H0", "003")

    # 578 pays both invoices (the AMO part, as billed); then A's payment is cancelled.
    c.noemie(578, [f"08004{'':6}003", *_paid(1, c.invoice_amo_cents(A)),
                   f"08004{'':6}002", *_paid(2, c.invoice_amo_cents(B))])
    assert [s[0] for s in c.states().values()] == ["PAYE", "PAYE"]
    c.drop("CANCELPAIDREQUEST", [f"{A:<20}0000000012025H020250415Rectification PMSI"])
    assert c.states()[A][0] == "EN_COURS"
    assert site.query("SELECT never_b2 FROM dossier WHERE nda = %s", A) == [(True,)]
    assert site.query("SELECT count(*) FROM titre") == [(2,)]  # no titre was ever given twice
    assert "intègre" in site.fides("audit", "verify").stdout
