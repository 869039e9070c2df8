"""Several processes, one root, one database (DESIGN.md §2, §8; docs/robustness.md).

Three `fides run --poll` share one inbox fed while they run (new dossiers, duplicates, bad files,
STATEREQUEST and B2REQUEST billing concurrently); two of them are SIGKILLed and restarted on the
way. Every file is integrated once, every `.arl` is written once (one `flux_file` row and one
"file …" or "recovered …" log line per name), no titre is given twice and the numbering has no
gap. A process killed while it holds a claim loses it with its connection (checked in pg_locks)
and another process takes the file over.

The default run uses DEFAULT_FILES files; the `slow` one the 5 000 of the brief.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from faultkit import Site

DEFAULT_FILES = 600
ADVISORY = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND objid = hashtext(%s)::oid AND classid = hashtext('fides-file')::oid")


class Fleet:
    """`fides run --poll` processes on one site, each with its own log."""

    def __init__(self, site: Site, logs: Path) -> None:
        self.site = site
        self.logs = logs
        self.procs: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        env = dict(os.environ, FIDES_DATABASE_URL=self.site.db_url)
        env = {k: v for k, v in env.items() if not k.startswith("FIDES_FAULT")}
        with open(self.logs / f"run-{len(self.procs)}.log", "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "fides.cli", "run", "--poll", "--root", str(self.site.root)],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
        self.procs.append(proc)
        return proc

    def live(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]

    def stop(self) -> None:
        for p in self.live():
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.wait(60)

    def text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("run-*.log")))


def _pending(site: Site) -> int:
    waiting = [e for e in os.listdir(site.root / "in") if not e.startswith(".")]
    unfinished = site.query("SELECT count(*) FROM flux_file WHERE NOT finished")[0][0]
    return len(waiting) + unfinished


def _run_fleet(site: Site, logs: Path, files: int, kills: int, rng: random.Random) -> None:
    before = set(site.drops)
    fleet = Fleet(site, logs)
    for _ in range(3):
        fleet.start()
    fed = threading.Event()

    def feed() -> None:
        try:
            while sum(site.stats.files.values()) < files:
                site.drop_mix()
                time.sleep(0.12)  # about the fleet's pace: short passes, validation and billing between
        finally:
            fed.set()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    killed = 0
    deadline = time.monotonic() + 60 + files * 0.1
    try:
        while time.monotonic() < deadline:
            dropped = sum(site.stats.files.values())
            if killed < kills and dropped > files * (killed + 1) / (kills + 1):
                victim = rng.choice(fleet.live())
                time.sleep(rng.uniform(0, 0.5))
                victim.send_signal(signal.SIGKILL)  # whatever it holds: a claim, a transaction
                victim.wait(10)
                killed += 1
                fleet.start()
            for p in fleet.procs:
                if p.poll() not in (None, -signal.SIGKILL, 0):
                    raise AssertionError(f"fides run died ({p.returncode}):\n{fleet.text()[-5000:]}")
            if fed.is_set() and _pending(site) == 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"not finished in time: {_pending(site)} pending\n{fleet.text()[-5000:]}")
    finally:
        fleet.stop()
    feeder.join(10)
    # the last B2REQUEST may have run before the last validation: bill what is left
    site.drop("B2REQUEST", b"*\r\n", "request")
    assert site.run().returncode == 0, site.last_log()
    killed_pids = {str(p.pid) for p in fleet.procs if p.returncode == -signal.SIGKILL}
    _check(site, fleet.text() + "\n" + site.last_log(), set(site.drops) - before, killed_pids)


def _check(site: Site, logs: str, names: set[str], killed_pids: set[str]) -> None:
    site.check_settled()  # one row per name, outputs = arl_text, applied once per content, B2 files = lots
    done = Counter(re.findall(r"fides\.engine\.process: file (\S+) \(", logs))
    done.update(re.findall(r"file refused \(\w+\): (\S+)\.arl", logs))
    recovered = Counter(re.findall(r"recovered (\S+)\.arl", logs))
    by = dict(site.query("SELECT name, split_part(processed_by, ':', 2) FROM flux_file"))
    # once each; none only when the process that did it all was SIGKILLed before its log line
    twice = {n: (done[n], recovered[n]) for n in names
             if done[n] + recovered[n] > 1 or (done[n] + recovered[n] == 0 and by.get(n) not in killed_pids)}
    assert not twice, f"handled other than once (processed, recovered): {dict(list(twice.items())[:10])}"
    by = site.query("SELECT count(DISTINCT processed_by) FROM flux_file")[0][0]
    assert by >= 3, "the work was not shared between processes"
    # titres: one per invoice, never twice, no gap; every billable dossier billed once
    count, low, high, invoices = site.query(
        "SELECT count(*), min(numero), max(numero), (SELECT count(*) FROM invoice) FROM titre")[0]
    assert count == invoices and high - low + 1 == count, (count, low, high, invoices)
    states = Counter(s for (s,) in site.query("SELECT state FROM dossier"))
    assert states[1] == 0, f"VALIDE dossiers left unbilled: {states}"
    billed = [line.split(";")[3] for p in (site.root / "out" / "reports").glob("B2REQUEST_*.arl")
              for line in p.read_text().splitlines() if ";GENERE;" in line]
    assert len(billed) == len(set(billed)) == count, "a titre reported twice, or one missing"
    concurrent = site.query("SELECT count(DISTINCT f.processed_by) FROM flux_file f WHERE f.flux = 'B2REQUEST' "
                            "AND f.lines_integrated > 0")[0][0]
    assert concurrent >= 2, "billing did not run in several processes"


def test_three_services_share_one_inbox(tmp_path, db_url):
    site = Site(tmp_path / "root", db_url, random.Random(3), log_dir=tmp_path)
    site.setup()
    _run_fleet(site, tmp_path, DEFAULT_FILES, kills=1, rng=random.Random(3))


@pytest.mark.slow
def test_three_services_5000_files(tmp_path, db_url):
    site = Site(tmp_path / "root", db_url, random.Random(5000), log_dir=tmp_path)
    site.setup()
    _run_fleet(site, tmp_path, 5000, kills=2, rng=random.Random(5000))


def test_dead_process_claim_is_taken_over(fault_site, tmp_path):
    """A process SIGKILLed while it holds a file (its claim and an open transaction) loses both
    with its connection; the file is then integrated once by another process."""
    site = fault_site
    v, r, f = site.corpus.dossier("2025000201", site.new_nda())
    drop = site.drop("VIDHOSP", site_text([v]), "good", ())
    env = site._env("read:1:pause")
    holder = subprocess.Popen([sys.executable, "-m", "fides.cli", "process", "--root", str(site.root)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        reached = site.fault_dir / "read.reached"
        deadline = time.monotonic() + 30
        while not reached.exists():
            assert time.monotonic() < deadline and holder.poll() is None, "the holder never reached the file"
            time.sleep(0.05)
        assert site.query(ADVISORY, drop.name)[0][0] == 1, "no advisory lock held on the file"
        other = site.run()  # a second process meanwhile: the file is claimed, it waits
        assert other.returncode == 0
        assert (site.root / "in" / drop.name).exists()
        assert site.query("SELECT count(*) FROM flux_file WHERE name = %s", drop.name)[0][0] == 0
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 10
        while site.query(ADVISORY, drop.name)[0][0]:
            assert time.monotonic() < deadline, "the dead process's claim survived it"
            time.sleep(0.05)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert site.run().returncode == 0
    site.check_settled()
    rows = site.query("SELECT status, applied FROM flux_file WHERE name = %s", drop.name)
    assert rows == [("OK", True)]


def site_text(lines: list[str]) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode("latin-1")
