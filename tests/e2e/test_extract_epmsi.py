"""EXTRACTEPMSI dropped in the inbox, and `fides extract-epmsi`: a zip of GENRSA-named files whose
lines are byte-identical to the integrated ones, CRLF-terminated."""

from __future__ import annotations

import zipfile

from buffer import EXAMPLES, example_lines, flow_name

VIDHOSP = example_lines("vidhosp_V015.txt")  # 101 exits 2025-03, 102 2025-04, 103 2025-05, 104 2025-06
RSS = example_lines("rss_grp_122.txt")  # 101 (1 RUM), 102 (2 RUM)
MED = example_lines("fichcomp_med.txt")  # 102
DMI = example_lines("fichcomp_dmi.txt")  # 101


def integrate(site) -> None:
    site.drop_lines(flow_name("VIDHOSP", 1), VIDHOSP)
    site.drop_lines(flow_name("RSS", 2), RSS)
    site.drop_lines(flow_name("FICHCOMP", 3), MED)
    site.drop_lines(flow_name("FICHCOMP", 4), DMI)
    site.process()
    for seq in (1, 2, 3, 4):
        assert site.arl(flow_name(("VIDHOSP", "RSS", "FICHCOMP", "FICHCOMP")[seq - 1], seq)).status == "OK"


def archives(site) -> list:
    return sorted((site.root / "out" / "reports").glob("*.in.zip"))


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist()}


def crlf(lines: list[str]) -> bytes:
    return b"".join(line.encode("latin-1") + b"\r\n" for line in lines)


def test_extract_request(site):
    integrate(site)
    name = flow_name("EXTRACTEPMSI", 5)
    site.drop(name, (EXAMPLES / "b2_noemie" / "EXTRACTEPMSI_990000028_20250325101500_0004.txt").read_bytes()
              .replace(b"202503", b"202504"))
    site.process()
    arl = site.arl(name)
    assert arl.header[1] == "EXTRACTEPMSI" and arl.status == "OK" and arl.codes == []
    (path,) = archives(site)
    finess, year, month, stamp, *rest = path.name.split(".")
    assert (finess, year, month, rest) == ("990000010", "2025", "4", ["in", "zip"]) and len(stamp) == 14
    assert members(path) == {
        "990000010.2025.4.vidhosp.txt": crlf([VIDHOSP[1]]),
        "990000010.2025.4.rss.txt": crlf(RSS[1:3]),
        "990000010.2025.4.med.txt": crlf(MED),
    }


def test_extract_includes_non_billable_and_is_answered_again(site):
    integrate(site)
    site.query("UPDATE dossier SET billable_b2 = false, state = 0 RETURNING id")
    site.drop_lines(flow_name("EXTRACTEPMSI", 5), ["202503"])
    site.drop_lines(flow_name("EXTRACTEPMSI", 6), ["202503"])
    site.process()
    for seq in (5, 6):
        assert site.arl(flow_name("EXTRACTEPMSI", seq)).status == "OK"
    files = members(archives(site)[-1])
    assert files["990000010.2025.3.vidhosp.txt"] == crlf([VIDHOSP[0]])
    assert files["990000010.2025.3.rss.txt"] == crlf(RSS[:1])
    assert files["990000010.2025.3.dmi.txt"] == crlf(DMI)


def test_month_without_rss_and_bad_request(site):
    integrate(site)
    site.drop_lines(flow_name("EXTRACTEPMSI", 5), ["202505"])  # 103 has no RSS
    site.drop_lines(flow_name("EXTRACTEPMSI", 6), ["2025-5"])
    site.process()
    empty = site.arl(flow_name("EXTRACTEPMSI", 5))
    assert empty.status == "OK" and empty.codes == ["CTL011"]
    assert members(archives(site)[0]) == {"990000010.2025.5.vidhosp.txt": b"", "990000010.2025.5.rss.txt": b""}
    bad = site.arl(flow_name("EXTRACTEPMSI", 6))
    assert bad.status == "KO" and bad.codes == ["CTL010"]


def test_cli_extract(site):
    integrate(site)
    out = site.fides("extract-epmsi", "202504")
    assert "1 dossier(s)" in out.stdout
    (path,) = archives(site)
    assert members(path)["990000010.2025.4.rss.txt"] == crlf(RSS[1:3])
    assert site.fides("extract-epmsi", "202513", check=False).returncode == 2
