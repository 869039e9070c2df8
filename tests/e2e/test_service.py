"""The long-running service end to end: archives encrypted at rest through `fides process`,
`fides archive`, and `fides run` starting its scheduled jobs (caught up at start) beside the
inbox loop, shown by `fides status`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
from buffer import FINESS, example_lines, flow_name

RSS = example_lines("rss_grp_122.txt")


def encrypt(site, tmp_path):
    key = tmp_path / "secrets" / "archive.key"
    key.parent.mkdir(mode=0o700)
    site.fides("archive", "rotate", "--key-file", str(key))
    with open(site.root / "fides.toml", "a", encoding="utf-8") as f:
        f.write(f'\n[security]\narchive_key_file = "{key}"\n')
    return key


def files_under(path):
    return sorted(p for p in path.rglob("*") if p.is_file())


def test_an_integrated_file_is_archived_only_encrypted(site, tmp_path):
    encrypt(site, tmp_path)
    name = flow_name("RSS", 1)
    content = site.drop_lines(name, RSS).read_bytes()
    bad = flow_name("RSS", 2, "zip")
    site.drop(bad, b"")  # refused (empty): goes to rejected/, in clear for the staff to look at
    site.process()
    assert site.arl(name).status == "OK"
    archived = files_under(site.root / "archive")
    assert [p.name for p in archived] == [f"{name}.fenc"]
    assert not (site.inbox / name).exists()
    for path in files_under(site.root):  # the input's lines are nowhere in clear (but its .arl)
        data = path.read_bytes()
        assert RSS[0].encode("latin-1") not in data, path
    assert (site.root / "rejected" / bad).exists()
    out = tmp_path / "audit" / "clair.txt"
    out.parent.mkdir()
    proc = site.fides("archive", "decrypt", str(archived[0]), "--out", str(out))
    assert out.read_bytes() == content and name in proc.stderr
    assert "1/1 archive(s) chiffrée(s) intègre(s)" in site.fides("archive", "check").stdout
    assert "journal d'audit intègre" in site.fides("audit", "verify").stdout


def test_rotation_while_files_keep_coming(site, tmp_path):
    encrypt(site, tmp_path)
    first, second = flow_name("RSS", 1), flow_name("RSS", 2)
    site.drop_lines(first, RSS[:1])
    site.process()
    site.fides("archive", "rotate")
    site.drop_lines(second, RSS[1:])
    site.process()
    archived = {p.name: p for p in files_under(site.root / "archive")}
    assert set(archived) == {f"{first}.fenc", f"{second}.fenc"}
    assert archived[f"{first}.fenc"].read_bytes()[9:17] != archived[f"{second}.fenc"].read_bytes()[9:17]  # key ids
    for name, lines in ((first, RSS[:1]), (second, RSS[1:])):
        out = tmp_path / f"{name}.clair"
        site.fides("archive", "decrypt", str(archived[f"{name}.fenc"]), "--out", str(out))
        assert out.read_bytes() == "".join(f"{line}\r\n" for line in lines).encode("latin-1")


def test_a_world_readable_key_file_stops_fides(site, tmp_path):
    key = encrypt(site, tmp_path)
    key.chmod(0o644)
    site.drop_lines(flow_name("RSS", 1), RSS)
    proc = site.fides("process", check=False)
    assert proc.returncode == 2
    assert "security.archive_key_file" in proc.stderr and "accessible à tous" in proc.stderr
    assert (site.inbox / flow_name("RSS", 1)).exists()  # nothing processed, nothing archived in clear


def _job_runs(site) -> dict[str, str]:
    try:
        return dict(site.query("SELECT job, outcome FROM job_run WHERE outcome IS NOT NULL"))
    except psycopg.Error:
        return {}


def test_fides_run_catches_up_its_scheduled_jobs_at_start(site, tmp_path):
    encrypt(site, tmp_path)
    with open(site.root / "fides.toml", "a", encoding="utf-8") as f:
        f.write('\n[schedule]\nbilling = ["00:00", "12:00"]\nvalidation_minutes = 30\n')
    # Left in clear by a crash between the move and the encryption.
    leftover = site.root / "archive" / f"{time.localtime().tm_year}" / f"{time.localtime().tm_mon:02d}" / flow_name("RSS", 9)
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"en clair\r\n")
    env = dict(os.environ, FIDES_DATABASE_URL=site.db_url)
    proc = subprocess.Popen([sys.executable, "-m", "fides.cli", "run", "--poll", "--root", str(site.root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        name = flow_name("RSS", 1)
        site.drop_lines(name, RSS)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            runs = _job_runs(site)
            if len(runs) == 4 and (site.root / "out" / "arl" / f"{name}.arl").exists():
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        assert set(runs) == {"billing", "extract_epmsi", "validation", "retention"}, runs
        assert all(outcome.startswith("OK") for outcome in runs.values()), runs
        assert runs["billing"] == "OK 0 facture(s) dans 0 lot(s), 0 non générée(s)"
        assert len(list((site.root / "out" / "reports").glob(f"{FINESS}.*.in.zip"))) == 1
        assert site.arl(name).status == "OK"
        assert not leftover.exists() and leftover.with_name(leftover.name + ".fenc").exists()
        status = site.fides("status").stdout
        assert "tâches planifiées :" in status and "génération B2" in status and "chaque jour à 00:00, 12:00" in status
        assert "EXTRACTEPMSI mensuel" in status and "jamais exécutée" not in status
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def test_fides_purge_applies_retention_at_once(site):
    old = site.root / "out" / "arl" / "VIDHOSP_990000010_20200101000000_0001.txt.arl"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text("ARL\n")
    os.utime(old, (time.time() - 400 * 86400,) * 2)
    assert "purge : arl=1" in site.fides("purge").stdout
    assert not old.exists()
    assert "journal d'audit intègre" in site.fides("audit", "verify").stdout
