"""Files dropped in a real inbox, `fides process` as a subprocess, outputs and database read back."""

from __future__ import annotations

import os

from buffer import example_lines, flow_name

VIDHOSP = example_lines("vidhosp_V015.txt")
RSS = example_lines("rss_grp_122.txt")


def with_nda(line: str, nda: str) -> str:
    """A VIDHOSP line for another dossier (N° administratif at 29-48)."""
    return line[:28] + nda.ljust(20) + line[48:]


def test_vidhosp_rss_fichcomp_create_dossiers(site):
    v, r, f = flow_name("VIDHOSP", 1), flow_name("RSS", 2), flow_name("FICHCOMP", 3)
    site.drop_lines(v, VIDHOSP)
    site.drop_lines(r, RSS)
    site.drop_lines(f, example_lines("fichcomp_med.txt"))
    site.process()

    for name, read in ((v, 4), (r, 3), (f, 2)):
        arl = site.arl(name)
        assert arl.status == "OK", arl
        assert arl.counts == (read, read, 0)
        assert site.archived(name) and not (site.inbox / name).exists()
    dossiers = dict(site.query("SELECT nda, state FROM dossier"))
    assert dossiers == {"2025000101": 0, "2025000102": 0, "2025000103": 0, "2025000104": 0}
    kinds = site.query("SELECT d.nda, l.kind, l.subtype, count(*) FROM dossier_line l JOIN dossier d "
                       "ON d.id = l.dossier_id WHERE l.current GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
    assert ("2025000102", "RSS", "", 2) in kinds
    assert ("2025000102", "FICHCOMP", "06", 2) in kinds
    assert ("2025000101", "VIDHOSP", "complet", 1) in kinds
    # Stored lines are byte-identical to the input lines.
    stored = site.query("SELECT line FROM dossier_line WHERE kind = 'VIDHOSP' ORDER BY line_no")
    assert [s[0] for s in stored] == VIDHOSP


def test_new_version_replaces_and_keeps_history(site):
    site.drop_lines(flow_name("VIDHOSP", 1), VIDHOSP[:1])
    site.process()
    changed = VIDHOSP[0][:299] + "01042025" + VIDHOSP[0][307:]  # date de facturation AMO (300-307)
    site.drop_lines(flow_name("VIDHOSP", 2), [changed])
    site.process()
    rows = site.query("SELECT line, current FROM dossier_line ORDER BY file_id, line_no")
    assert [(r[0] == changed, r[1]) for r in rows] == [(False, False), (True, True)]


def test_duplicate_content_is_applied_once(site):
    site.drop_lines(flow_name("VIDHOSP", 1), VIDHOSP)
    site.process()
    site.drop_lines(flow_name("VIDHOSP", 2), VIDHOSP)
    site.process()
    arl = site.arl(flow_name("VIDHOSP", 2))
    assert arl.status == "OK" and arl.counts == (0, 0, 0)
    assert arl.codes == ["FIC003"]
    assert site.query("SELECT count(*) FROM dossier_line")[0][0] == 4
    statuses = [r[0] for r in site.query("SELECT status FROM flux_file ORDER BY id")]
    assert statuses == ["OK", "DOUBLON"]


def test_locked_dossier_line_is_refused_partiel(site):
    site.drop_lines(flow_name("VIDHOSP", 1), VIDHOSP)
    site.process()
    site.query("UPDATE dossier SET state = 1 WHERE nda = '2025000102' RETURNING id")
    site.drop_lines(flow_name("VIDHOSP", 2), VIDHOSP[:2] + [with_nda(VIDHOSP[0], "2025000999")])
    site.process()
    arl = site.arl(flow_name("VIDHOSP", 2))
    assert arl.status == "PARTIEL"
    assert arl.counts == (3, 2, 1)
    assert arl.errors[0][1] == "2" and arl.codes == ["DOS001"]
    assert site.query("SELECT count(*) FROM dossier WHERE nda = '2025000999'")[0][0] == 1


def test_crlf_lf_and_trimmed_restreint(site):
    v010 = example_lines("vidhosp_V010.txt")
    site.drop_lines(flow_name("VIDHOSP", 1), [v010[0].rstrip()], eol="\n")
    site.process()
    arl = site.arl(flow_name("VIDHOSP", 1))
    assert arl.status == "OK", arl
    line, subtype = site.query("SELECT line, subtype FROM dossier_line")[0]
    assert subtype == "restreint" and line == v010[0]


def test_ium_loads_um_referential(site):
    name = flow_name("IUM", 1)
    site.drop_lines(name, example_lines("ium_2013.txt"))
    site.process()
    assert site.arl(name).status == "OK"
    rows = site.query("SELECT um, finess_geo, date_effet::text FROM unite_medicale WHERE current ORDER BY um")
    assert rows[0] == ("1201", "990000028", "2020-01-01")
    assert len(rows) == 4


def test_audit_records_files_and_creations(site):
    site.drop_lines(flow_name("VIDHOSP", 1), VIDHOSP)
    site.process()
    events = site.query("SELECT event, count(*) FROM audit_event GROUP BY event ORDER BY event")
    assert events == [("creation", 1), ("fichier_integre", 1)]  # one creation event per chunk
    ids = [r[0] for r in site.query("SELECT id FROM dossier ORDER BY id")]
    detail, file_id, to_state = site.query("SELECT detail, file_id, to_state FROM audit_event WHERE event = 'creation'")[0]
    assert (file_id, to_state) == (site.query("SELECT id FROM flux_file")[0][0], 0)
    assert detail == f"4 dossiers : {ids[0]}-{ids[-1]}" and ids[-1] - ids[0] == 3
    out = site.fides("audit", "verify")
    assert "intègre" in out.stdout


# --- the bad-input corpus: each case has its precise code, and nothing is persisted -----------

def _assert_rejected_without_effect(site, name, code, line_no=None):
    arl = site.arl(name)
    assert arl.status == "KO", arl
    assert arl.counts[1] == 0
    assert code in arl.codes, arl.codes
    if line_no is not None:
        assert [e[1] for e in arl.errors if e[3] == code][0] == str(line_no)
    assert site.rejected(name)
    assert site.query("SELECT count(*) FROM dossier")[0][0] == 0
    assert site.query("SELECT count(*) FROM dossier_line")[0][0] == 0


def test_empty_file(site):
    site.drop(flow_name("VIDHOSP", 1), b"")
    site.process()
    _assert_rejected_without_effect(site, flow_name("VIDHOSP", 1), "FIC001")


def test_binary_bytes(site):
    site.drop(flow_name("VIDHOSP", 1), VIDHOSP[0].encode("latin-1") + b"\x00\x01\x02\xff\r\n")
    site.process()
    _assert_rejected_without_effect(site, flow_name("VIDHOSP", 1), "FIC006")


def test_wrong_version(site):
    site.drop_lines(flow_name("VIDHOSP", 1), [VIDHOSP[0][:48] + "V099" + VIDHOSP[0][52:]])
    site.process()
    _assert_rejected_without_effect(site, flow_name("VIDHOSP", 1), "FMT001", 1)


def test_truncated_and_overlong_lines(site):
    site.drop_lines(flow_name("VIDHOSP", 1), [VIDHOSP[0][:400]])
    site.drop_lines(flow_name("VIDHOSP", 2), [VIDHOSP[0] + "12345"])
    site.process()
    _assert_rejected_without_effect(site, flow_name("VIDHOSP", 1), "FMT002", 1)
    _assert_rejected_without_effect(site, flow_name("VIDHOSP", 2), "FMT002", 1)


def test_one_bad_line_in_the_middle_of_ten_thousand(site):
    lines = [with_nda(VIDHOSP[0], f"NDA{i:07d}") for i in range(10_000)]
    bad = lines[5_000]
    lines[5_000] = bad[:274] + "31022025" + bad[282:]  # date d'entrée 31 February
    site.drop_lines(flow_name("VIDHOSP", 1), lines)
    site.process()
    _assert_rejected_without_effect(site, flow_name("VIDHOSP", 1), "FMT004", 5001)
    arl = site.arl(flow_name("VIDHOSP", 1))
    assert arl.counts == (10_000, 0, 10_000)
    assert arl.errors[0][2] == "275"


def test_unknown_prefix(site):
    site.drop("SOMETHING_990000010_20250325101500_0001.txt", b"hello\r\n")
    site.process()
    arl = site.arl("SOMETHING_990000010_20250325101500_0001.txt")
    assert arl.status == "KO" and arl.codes == ["FIC002"]
    assert site.rejected("SOMETHING_990000010_20250325101500_0001.txt")


def test_symlink_is_refused_not_followed(site, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("\n".join(VIDHOSP))
    link = site.inbox / flow_name("VIDHOSP", 1)
    os.symlink(secret, link)
    site.process()
    arl = site.arl(flow_name("VIDHOSP", 1))
    assert arl.status == "KO" and arl.codes == ["FIC004"]
    assert os.path.islink(site.root / "rejected" / flow_name("VIDHOSP", 1))
    assert secret.read_text() == "\n".join(VIDHOSP)
    assert site.query("SELECT count(*) FROM dossier")[0][0] == 0


def test_dotdot_name_is_refused(site):
    name = "VIDHOSP..evil.txt"
    site.drop(name, "\r\n".join(VIDHOSP))
    site.process()
    _assert_rejected_without_effect(site, name, "FIC005")


def test_other_finess_in_name_is_refused(site):
    name = "VIDHOSP_990000028_20250325101500_0001.txt"
    site.drop_lines(name, VIDHOSP)
    site.process()
    _assert_rejected_without_effect(site, name, "FIC007")


def test_temporary_names_are_left_alone(site):
    (site.inbox / ".VIDHOSP_partial").write_text("x")
    (site.inbox / "VIDHOSP_x.tmp").write_text("x")
    site.process()
    assert sorted(p.name for p in site.inbox.iterdir()) == [".VIDHOSP_partial", "VIDHOSP_x.tmp"]
    assert site.query("SELECT count(*) FROM flux_file")[0][0] == 0


def test_cp1252_bytes_are_kept_byte_for_byte(site):
    """Names typed in a French GAP arrive in cp1252/latin-1: stored and given back unchanged."""
    line = VIDHOSP[0][:396] + "HÉLÈNE-ŒUVRE".ljust(25) + VIDHOSP[0][421:]  # nom du médecin traitant
    raw = line.encode("cp1252") + b"\r\n"
    site.drop(flow_name("VIDHOSP", 1), raw)
    site.process()
    assert site.arl(flow_name("VIDHOSP", 1)).status == "OK"
    stored = site.query("SELECT line FROM dossier_line")[0][0]
    assert stored.encode("latin-1") == raw[:-2]


def test_a_file_wrong_on_every_line_keeps_every_finding(site):
    """More findings than the sink holds in memory (10 000): all stored, in line order, the
    `.arl` listing the first ones and counting them all."""
    bad = VIDHOSP[0][:274] + "32132025" + VIDHOSP[0][282:]  # date d'entrée (275-282) not a real date
    lines = [with_nda(bad, f"E{i:09d}") for i in range(12_345)]
    name = flow_name("VIDHOSP", 1)
    site.drop_lines(name, lines)
    site.process()
    arl = site.arl(name)
    assert arl.status == "KO" and arl.counts == (12_345, 0, 12_345)
    rows = site.query("SELECT e.line_no, e.code, e.position FROM file_error e JOIN flux_file f ON f.id = e.file_id "
                      "WHERE f.name = %s ORDER BY e.id", name)
    assert [r[0] for r in rows] == list(range(1, 12_346))
    assert {(r[1], r[2]) for r in rows} == {("FMT004", 275)}
    assert site.query("SELECT count(*) FROM dossier")[0][0] == 0
