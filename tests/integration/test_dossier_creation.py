"""Dossier creation when another process creates the same dossier meanwhile.

A chunk's missing dossiers are COPYed in a savepoint (fides.flows.dossier_lines); when another
transaction inserts one of them first, the COPY waits for it, fails on the unique key once it
commits, and the careful statement (ON CONFLICT DO NOTHING) runs instead: the file is still
integrated whole, the dossier created by the other side is found and used, not doubled. What
the COPY writes is checked column by column."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import psycopg
import pytest

from fides import config as config_mod
from fides.bench import synthetic
from fides.flows import dossier_lines
from fides.layouts import load


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


def test_new_dossiers_are_written_whole_and_numbered_in_file_order(engine, db_url):
    """The savepoint path COPYs new dossiers with ids taken beforehand: every column as the
    careful INSERT writes it, a backslash in a N° read back as itself, no date as NULL."""
    vidhosp = [synthetic.vidhosp_line(i) for i in (1, 2, 3)]
    vidhosp[1] = vidhosp[1][:28] + "L0\\0000002".ljust(20) + vidhosp[1][48:]  # num_admin_sejour, 29-48
    _drop(engine, f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt", vidhosp)
    med = load("fichcomp_med").render({  # a FICHCOMP first: its dossier has no dates
        "finess_epmsi": synthetic.FINESS, "type_prestation": "06", "num_admin_sejour": "F000000001",
        "date_administration": dt.date(2025, 3, 3), "code_ucd": "3400890000017", "nb_administre": Decimal("1.000"),
        "prix_achat_total": Decimal("512.340"), "code_indication": "I000123"})
    _drop(engine, f"FICHCOMP_{synthetic.FINESS}_20250402000000_0002.txt", [med])
    assert [status for _, _, status in engine.run_pass().processed] == ["OK", "OK"]
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT d.nda, d.entry_date, d.exit_date, d.state, d.line_kinds, f.name, "
                            "d.last_flow_at IS NOT NULL, d.created_at IS NOT NULL, l.line FROM dossier d "
                            "JOIN flux_file f ON f.id = d.creation_file_id JOIN dossier_line l ON l.dossier_id = d.id "
                            "ORDER BY d.id").fetchall()
    day = lambda text: dt.date(int(text[4:8]), int(text[2:4]), int(text[:2]))  # JJMMAAAA
    assert rows == [(f"L00000000{i}" if i != 2 else "L0\\0000002", day(line[274:282]), day(line[282:290]), 0, 1,
                     f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt", True, True, line)
                    for i, line in enumerate(vidhosp, 1)] + [
                    ("F000000001", None, None, 0, 4, f"FICHCOMP_{synthetic.FINESS}_20250402000000_0002.txt",
                     True, True, med)]


def test_a_dossier_updated_meanwhile_is_locked_in_its_latest_version(engine, db_url):
    """A chunk locks its dossiers where the N° lookup found them (their ctid); another process
    updating one of them meanwhile moves it: the file waits for it, then finds it again through
    its key, replaces its line, and keeps the other process's change."""
    first = [synthetic.vidhosp_line(i) for i in (1, 2, 3)]
    _drop(engine, f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt", first)
    assert [status for _, _, status in engine.run_pass().processed] == ["OK"]
    corrected = [line[:299] + "01042025" + line[307:] for line in first]  # date de facturation AMO changed
    other = psycopg.connect(db_url)  # another process, its transaction still open
    other.execute("UPDATE dossier SET never_b2 = true WHERE nda = 'L000000002'")
    _drop(engine, f"VIDHOSP_{synthetic.FINESS}_20250402000000_0002.txt", corrected)
    result = {}
    worker = threading.Thread(target=lambda: result.update(report=engine.run_pass()))
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive()  # waiting for the other transaction's row lock
    other.commit()
    other.close()
    worker.join(30)
    assert [status for _, _, status in result["report"].processed] == ["OK"]
    assert _counts(db_url) == (3, 3, 3)
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT d.nda, d.never_b2, d.last_flow_at = f.processed_at, d.line_kinds, l.line "
                            "FROM dossier d JOIN dossier_line l ON l.dossier_id = d.id AND l.current "
                            "JOIN flux_file f ON f.id = l.file_id ORDER BY d.nda").fetchall()
        old = conn.execute("SELECT count(*) FROM dossier_line WHERE NOT current AND replaced_at IS NOT NULL").fetchone()
    assert rows == [(f"L00000000{i}", i == 2, True, 1, line) for i, line in enumerate(corrected, 1)]
    assert old == (3,)  # every first line retired once
