"""A deadlock with another process: the file waits for the next pass, the service goes on.

Two processes applying overlapping files chunk after chunk (or NOEMIE returns) can each hold
dossiers the other needs. PostgreSQL then rolls one transaction back; when it is fides' file,
nothing of it stays, its `.arl` is not written, the input stays in in/, and the next pass
integrates it. Here the other process is a second connection: it holds the dossier the file
needs, then asks for the file's content lock, which fides holds, closing the cycle. Its own
deadlock_timeout is long, so PostgreSQL's check (after fides' 1 s) picks fides' transaction."""

from __future__ import annotations

import hashlib
import threading
import time

import psycopg
import pytest

from fides import config as config_mod
from fides.bench import synthetic

NAME = f"VIDHOSP_{synthetic.FINESS}_20250402000000_0002.txt"


@pytest.fixture
def cfg(tmp_path):  # for the `engine` fixture (tests/integration/conftest.py)
    return config_mod.from_mapping(tmp_path, {"inbox": {"stable_seconds": 0}, "establishment": {"finess": synthetic.FINESS}})


def _drop(engine, name: str, line: str) -> bytes:
    data = f"{line}\r\n".encode("latin-1")
    (engine.tree.inbox / name).write_bytes(data)
    return data


def _waiting_on_a_lock(db_url: str, pid: int) -> bool:
    with psycopg.connect(db_url) as c:
        return c.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]


def test_a_deadlock_leaves_the_file_in_the_inbox_for_the_next_pass(engine, db_url):
    first = synthetic.vidhosp_line(1)
    _drop(engine, f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt", first)
    assert engine.run_pass().processed[0][2] == "OK"
    corrected = first[:299] + "01042025" + first[307:]  # same dossier, date de facturation AMO changed
    sha = hashlib.sha256(_drop(engine, NAME, corrected)).hexdigest()

    other = psycopg.connect(db_url)
    other.execute("SET deadlock_timeout = '60s'")
    other.execute("SELECT id FROM dossier WHERE nda = 'L000000001' FOR UPDATE")
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(report=engine.run_pass()))
    worker.start()
    deadline = time.monotonic() + 20
    while not _waiting_on_a_lock(db_url, engine.conn.info.backend_pid):
        assert time.monotonic() < deadline and worker.is_alive()
        time.sleep(0.05)
    # fides holds the content lock of its file and waits for the dossier: the cycle closes here
    other.execute("SELECT pg_advisory_xact_lock(hashtext('fides-sha256'), hashtext(%s))", (sha,))
    worker.join(30)
    other.commit()
    other.close()

    report = outcome["report"]
    assert report.processed == [] and report.waiting == [NAME] and report.errors == []
    assert (engine.tree.inbox / NAME).exists() and not (engine.tree.arl / (NAME[:-4] + ".arl")).exists()
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT count(*) FROM flux_file WHERE name = %s", (NAME,)).fetchone()[0] == 0

    assert engine.run_pass().processed == [(NAME, "VIDHOSP", "OK")]  # the next pass integrates it
    with psycopg.connect(db_url) as c:
        lines = c.execute("SELECT line FROM dossier_line WHERE current").fetchall()
    assert lines == [(corrected,)]
