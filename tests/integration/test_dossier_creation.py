"""Dossier creation when another process creates the same dossier meanwhile.

A chunk's missing dossiers are inserted plainly in a savepoint (fides.flows.dossier_lines); when
another transaction inserts one of them first, the insert waits for it, fails on the unique key
once it commits, and the careful statement (ON CONFLICT DO NOTHING) runs instead: the file is
still integrated whole, the dossier created by the other side is found and used, not doubled."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from fides import config as config_mod
from fides.bench import synthetic
from fides.flows import dossier_lines


@pytest.fixture
def cfg(tmp_path):  # for the `engine` fixture (tests/integration/conftest.py)
    return config_mod.from_mapping(tmp_path, {"inbox": {"stable_seconds": 0}, "establishment": {"finess": synthetic.FINESS}})


def _drop(engine, name: str, lines: list[str]) -> None:
    (engine.tree.inbox / name).write_bytes("".join(f"{line}\r\n" for line in lines).encode("latin-1"))


def _counts(db_url):
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT (SELECT count(*) FROM dossier), (SELECT count(DISTINCT nda) FROM dossier), "
                            "(SELECT count(*) FROM dossier_line WHERE current)").fetchone()


@pytest.mark.parametrize("savepoints", [dossier_lines._SAVEPOINTS_MAX, 0], ids=["savepoint", "careful"])
def test_a_dossier_created_meanwhile_is_used_not_doubled(engine, db_url, monkeypatch, savepoints):
    monkeypatch.setattr(dossier_lines, "_SAVEPOINTS_MAX", savepoints)
    lines = [synthetic.vidhosp_line(i) for i in (1, 2, 3)]
    raced_nda = "L000000002"
    other = psycopg.connect(db_url)  # another process, its transaction still open
    other.execute("INSERT INTO dossier (finess, nda) VALUES (%s, %s)", (synthetic.FINESS, raced_nda))
    _drop(engine, f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt", lines)
    result = {}
    worker = threading.Thread(target=lambda: result.update(report=engine.run_pass()))
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive()  # waiting for the other transaction on the unique key
    other.commit()
    other.close()
    worker.join(30)
    assert [status for _, _, status in result["report"].processed] == ["OK"]
    assert _counts(db_url) == (3, 3, 3)  # the raced dossier exists once and received its line
    with psycopg.connect(db_url) as conn:  # the file is kept on the dossiers it created, not on the raced one
        created = dict(conn.execute("SELECT d.nda, d.creation_file_id = f.id FROM dossier d "
                                    "LEFT JOIN flux_file f ON f.name LIKE 'VIDHOSP%'").fetchall())
    assert created == {"L000000001": True, "L000000002": None, "L000000003": True}
