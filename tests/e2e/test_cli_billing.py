"""`fides validate` and `fides bill` as a clerk runs them: separate processes, real directory,
their effects committed and their files written."""

from __future__ import annotations

import sys
from pathlib import Path

from buffer import FINESS, example_lines, flow_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from test_billing import _valued_vidhosp, rss_line  # noqa: E402


def _configure(site, quiet_minutes: int) -> None:
    (site.root / "fides.toml").write_text(
        f'[establishment]\nfiness = "{FINESS}"\n\n[inbox]\nstable_seconds = 0\n\n'
        f'[validation]\nquiet_minutes = {quiet_minutes}\n\n[billing]\ntjp = {{ "146" = 1000 }}\n',
        encoding="utf-8")


def test_validate_then_bill_from_the_command_line(site):
    _configure(site, quiet_minutes=600)  # the pass itself must not validate yet
    ndas = ["2025000301", "2025000302"]
    site.drop_lines(flow_name("IUM", 1), example_lines("ium_2013.txt"))
    site.drop_lines(flow_name("VIDHOSP", 2), [_valued_vidhosp(n) for n in ndas])
    site.drop_lines(flow_name("RSS", 3), [rss_line(num_admin_sejour=n) for n in ndas])
    site.process()
    assert dict(site.query("SELECT nda, state FROM dossier")) == {n: 0 for n in ndas}

    out = site.fides("validate", *ndas).stdout
    assert "2 dossier(s) validé(s)" in out
    assert dict(site.query("SELECT nda, state FROM dossier")) == {n: 1 for n in ndas}

    out = site.fides("bill").stdout
    assert "2 facture(s) dans 1 lot(s)" in out
    assert dict(site.query("SELECT nda, state FROM dossier")) == {n: 2 for n in ndas}
    b2_files = list((site.root / "out" / "b2").iterdir())
    assert [p.name for p in b2_files] == [site.query("SELECT b2_file FROM lot")[0][0]]
    reports = sorted(p.name for p in (site.root / "out" / "reports").iterdir())
    assert reports[0] == "FACTURATION_990000010_" + reports[0].split("_")[2] and "FACT_SYNT.TXT" in reports
    assert site.query("SELECT count(*) FROM pending_output")[0][0] == 0
    assert "intègre" in site.fides("audit", "verify").stdout


def test_b2request_flow_bills_and_reports(site):
    _configure(site, quiet_minutes=0)
    ndas = ["2025000301", "2025000302"]
    site.drop_lines(flow_name("IUM", 1), example_lines("ium_2013.txt"))
    site.drop_lines(flow_name("VIDHOSP", 2), [_valued_vidhosp(n) for n in ndas])
    site.drop_lines(flow_name("RSS", 3), [rss_line(num_admin_sejour=n) for n in ndas])
    site.process()
    request = flow_name("B2REQUEST", 4)
    site.drop_lines(request, ["2025000301", "2025000399"])
    site.process()
    report = (site.root / "out" / "reports" / f"{request}.arl").read_text(encoding="utf-8").splitlines()
    rows = [line.split(";") for line in report]
    assert rows[0][:4] == ["DOS", "2025000301", "GENERE", "000000001"]
    assert rows[0][4] == "2025H0" and rows[0][5] == "001" and rows[0][6].startswith("B2_990000028_")
    assert rows[1][:3] == ["DOS", "2025000399", "NON_GENERE"] and rows[1][7] == "DOS003"
    assert site.arl(request).status == "OK"
    assert dict(site.query("SELECT nda, state FROM dossier")) == {"2025000301": 2, "2025000302": 1}
