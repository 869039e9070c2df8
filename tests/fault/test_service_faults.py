"""`fides run` under a database stop, a full disk and a slow writer (docs/robustness.md).

* PostgreSQL stopped (immediate shutdown: like a crash) under a running `fides run --poll`, files
  dropped while it is down, then restarted: the service waits, reconnects and resumes; nothing is
  lost or applied twice. A dedicated embedded server, so the shared one is never stopped.
* `out/` full: ENOSPC at the `.arl` write (fault hook `write-arl:1:enospc` while
  `$FIDES_FAULT_DIR/full` exists): a clear error in the log, the service stays up, the file
  already committed waits for its outputs, the next inputs stay in `in/`; once space is back every
  output is written, once.
* A producer writing its file under its final name in 20 chunks over one second: read once, whole.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import FINESS, Drop, Site, make_database, text


class Service:
    """One `fides run --poll` on a site, its log in a file."""

    def __init__(self, site: Site, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        full_env = site._env(None)
        full_env.update(env or {})
        self.proc = subprocess.Popen([sys.executable, "-m", "fides.cli", "run", "--poll", "--root", str(site.root)],
                                     stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=full_env)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


def wait_for(condition, seconds: float, what: str, service: Service | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if service is not None and not service.alive():
            raise AssertionError(f"fides run died while waiting for {what}:\n{service.text()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f":\n{service.text()[-4000:]}" if service else ""))
        time.sleep(0.1)


def inbox_empty(site: Site) -> bool:
    return not [n for n in os.listdir(site.root / "in") if not n.startswith(".")]


def all_done(site: Site) -> bool:
    try:
        return inbox_empty(site) and site.query("SELECT count(*) FROM flux_file WHERE NOT finished")[0][0] == 0
    except Exception:  # the database is down
        return False


def drop_dossiers(site: Site, count: int) -> None:
    for _ in range(count):
        v, r, f = site.corpus.dossier(site.rng.choice(site.corpus.TEMPLATES), site.new_nda())
        site.drop("VIDHOSP", text([v]), "good")
        site.drop("RSS", text(r), "good")


# --- the database stops --------------------------------------------------------------------------

@pytest.fixture
def own_server(tmp_path):
    """A dedicated embedded PostgreSQL and the means to stop and start it."""
    from pgserver import _commands

    from fides.store import db

    pgdata = (tmp_path / "pgdata").resolve()
    url = db.embedded_url(pgdata)
    server = db._embedded[pgdata]

    def stop() -> None:
        _commands.pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=server.system_user)

    def start() -> None:
        with server._lock:
            server.ensure_postgres_running()

    yield url, stop, start
    start()  # leave it running: pgserver stops it at exit


def test_database_stopped_under_the_service(tmp_path, own_server):
    server_url, stop_db, start_db = own_server
    site = Site(tmp_path / "root", make_database(server_url, "fides_dbstop"), random.Random(7), log_dir=tmp_path)
    site.setup()
    service = Service(site, tmp_path / "run.log")
    try:
        drop_dossiers(site, 20)
        wait_for(lambda: len(list((site.root / "out" / "arl").glob("*.arl"))) > 10, 60, "the first files", service)
        stop_db()  # in the middle of the batch
        drop_dossiers(site, 10)  # dropped while the database is down
        site.drop("B2REQUEST", b"*\r\n", "request")
        wait_for(lambda: "database unavailable" in service.text(), 30, "the outage to be noticed", service)
        time.sleep(2)
        assert service.alive(), service.text()[-4000:]
        start_db()
        wait_for(lambda: all_done(site), 120, "the service to resume", service)
        site.drop("B2REQUEST", b"*\r\n", "request")  # bill what the outage left validated
        wait_for(lambda: all_done(site), 60, "the last request", service)
        time.sleep(0.5)  # the validation after that pass
    finally:
        rc = service.stop()
    assert rc == 0, service.text()[-4000:]
    log = service.text()
    assert "Traceback" not in log, log[-4000:]
    site.check_settled()
    assert site.query("SELECT count(*) FROM dossier WHERE state = 2")[0][0] >= 1


# --- out/ is full --------------------------------------------------------------------------------

def test_disk_full_on_out_then_space_back(fault_site, tmp_path):
    site = fault_site
    full = site.fault_dir / "full"
    full.touch()
    service = Service(site, tmp_path / "full.log", {"FIDES_FAULT_POINT": "write-arl:1:enospc"})
    try:
        drop_dossiers(site, 3)
        names = [n for n in site.drops if not n.startswith("IUM")]
        wait_for(lambda: "No space left on device" in service.text(), 30, "the ENOSPC", service)
        time.sleep(1.5)  # several more passes while the disk is still full
        assert service.alive()
        error = next(l for l in service.text().splitlines() if "No space left on device" in l)
        assert "ERROR" in error and "retried" in error, error
        committed = site.query("SELECT name, finished FROM flux_file WHERE name = ANY(%s)", names)
        assert len(committed) == 1 and committed[0][1] is False, committed  # one committed, not finished
        assert site.query("SELECT count(*) FROM pending_output")[0][0] >= 1  # its .arl waits in the database
        waiting = sorted(n for n in os.listdir(site.root / "in") if not n.startswith("."))
        assert waiting == sorted(set(names) - {committed[0][0]}), "inputs were taken while out/ was full"
        assert not [p for p in (site.root / "out" / "arl").iterdir() if p.name in {f"{n}.arl" for n in names}]
        full.unlink()  # space is back
        wait_for(lambda: all_done(site), 60, "the outputs once space is back", service)
        time.sleep(0.3)
    finally:
        assert service.stop() == 0
    site.check_settled()
    log = service.text()
    assert "Traceback" not in log
    for name in names:
        assert (site.root / "out" / "arl" / f"{name}.arl").exists()


# --- a slow writer -------------------------------------------------------------------------------

def test_slow_writer_is_read_once_whole(fault_site, tmp_path):
    site = fault_site
    (site.root / "fides.toml").write_text(
        f'[establishment]\nfiness = "{FINESS}"\n\n[inbox]\nstable_seconds = 1.0\nrescan_seconds = 0.1\n',
        encoding="utf-8")
    service = Service(site, tmp_path / "slow.log")
    try:
        wait_for(lambda: "watching" in service.text(), 30, "the service", service)
        lines = [site.corpus.dossier(t, site.new_nda())[0] for t in site.corpus.TEMPLATES * 4]
        data = text(lines)
        name = site.name("VIDHOSP")
        step = -(-len(data) // 20)
        with open(site.root / "in" / name, "wb") as out:  # no temporary name, on purpose
            for i in range(20):
                out.write(data[i * step:(i + 1) * step])
                out.flush()
                time.sleep(0.05)
        site.drops[name] = Drop(name, data, "good", "VIDHOSP")
        site.good_by_sha[site.drops[name].sha].append(name)
        wait_for(lambda: all_done(site), 30, "the slow file", service)
        time.sleep(0.3)
    finally:
        assert service.stop() == 0
    rows = site.query("SELECT status, lines_read, lines_integrated, sha256 FROM flux_file WHERE name = %s", name)
    assert rows == [("OK", len(lines), len(lines), site.drops[name].sha)]
    assert "changed while being read" not in service.text()
    site.check_settled()
