"""`fides bench --repeat N` on a real server: each size measured N times, each time on a fresh
database that is dropped afterwards, the median kept with its spread."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from fides.bench import run
from fides.cli import EXIT_USAGE

_BENCH_DATABASES = "SELECT count(*) FROM pg_database WHERE datname LIKE 'fides_bench_%'"


def test_repeated_sizes_keep_the_median_and_drop_their_databases(pg_server_url):
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        before = conn.execute(_BENCH_DATABASES).fetchone()[0]
    measures = run.run([30], 7, pg_server_url, stages=("ingestion",), drops=0, repeat=2)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        assert conn.execute(_BENCH_DATABASES).fetchone()[0] == before
    by_stage = {m.stage: m for m in measures}
    assert {"VIDHOSP", "RSS", "FICHCOMP", "VIDHOSP (renvoi)", run.FLOOR + "VIDHOSP"} <= set(by_stage)
    for m in measures:
        low, high = m.spread
        assert 0 < low <= m.seconds <= high
    assert by_stage["VIDHOSP"].items == 30
    table = run.render(measures)
    assert "min–max s" in table.splitlines()[0]


def test_a_single_run_on_a_server_drops_its_databases_even_when_a_stage_fails(pg_server_url, monkeypatch):
    """On a server of the user's (FIDES_DATABASE_URL), a bench must not leave its databases behind:
    a run of a million dossiers weighs gigabytes. Kept only with --keep."""
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        before = conn.execute(_BENCH_DATABASES).fetchone()[0]
    measures = run.run([20], 7, pg_server_url, stages=("ingestion", "latence"), drops=2)
    assert {m.stage for m in measures} >= {"VIDHOSP", "latence 1 ligne (médiane)"}

    def floor_fails(*args, **kwargs):
        raise RuntimeError("floor failed")

    monkeypatch.setattr(run, "_floor", floor_fails)
    try:
        run.run([20], 7, pg_server_url, stages=("ingestion",), drops=0)
    except RuntimeError as exc:
        assert str(exc) == "floor failed"
    else:
        raise AssertionError("the failing floor did not stop the run")
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        assert conn.execute(_BENCH_DATABASES).fetchone()[0] == before


def test_kept_runs_keep_their_database(pg_server_url, tmp_path):
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        before = {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'fides_bench_%'")}
    run.run([10], 7, pg_server_url, keep=tmp_path, stages=("ingestion",), drops=0)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        after = {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'fides_bench_%'")}
        kept = after - before
        assert len(kept) == 1
        assert (tmp_path / "flows-10").is_dir()
        conn.execute(f'DROP DATABASE "{kept.pop()}" WITH (FORCE)')


@pytest.mark.parametrize("args, said", [
    (["--repeat", "0"], "--repeat 0 : au moins 1"),
    (["--sizes", "abc"], "--sizes abc : des nombres de dossiers (au moins 1)"),
    (["--sizes", "10,0"], "--sizes 10,0 : des nombres de dossiers (au moins 1)"),
    (["--sizes", "-5"], "--sizes -5 : des nombres"),
    (["--sizes", "1²"], "--sizes 1² : des nombres"),
    (["--sizes", ","], "--sizes , : des nombres"),
    (["--drops", "-1"], "--drops -1 : 0 ou plus"),
    (["--stages", "ingestion,foo"], "étape inconnue foo (connues : ingestion, validation"),
])
def test_bad_arguments_are_usage_errors_said_in_one_line(args, said):
    """Each stopped on a traceback (ValueError, a stage's RuntimeError) or measured nothing."""
    fides = Path(sys.executable).with_name("fides")
    proc = subprocess.run([str(fides), "bench", *args], capture_output=True, text=True)
    assert proc.returncode == EXIT_USAGE
    assert proc.stderr.startswith("fides bench : ") and said in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_keep_into_a_folder_already_used_is_a_usage_error(tmp_path):
    """A second `--keep` into the same folder stopped on a traceback (FileExistsError) after
    starting the server: it is refused first, in one line, and the folder is left as it was."""
    kept = tmp_path / "kept"
    (kept / "root-10").mkdir(parents=True)
    fides = Path(sys.executable).with_name("fides")
    proc = subprocess.run([str(fides), "bench", "--sizes", "10", "--keep", str(kept)], capture_output=True, text=True)
    assert proc.returncode == EXIT_USAGE
    assert f"--keep {kept} : ce répertoire existe et n'est pas vide" in proc.stderr and "Traceback" not in proc.stderr
    assert [p.name for p in kept.iterdir()] == ["root-10"]


def test_a_failed_run_leaves_no_folder_behind(tmp_path, monkeypatch):
    """A bench whose server cannot be reached (or whose stage fails) still removes its working
    folder: flows of a million lines and an embedded server's files weigh gigabytes."""
    import socket
    import tempfile

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    try:
        run.run([10], 7, f"postgresql://fides:x@127.0.0.1:{port}/fides", stages=("ingestion",), drops=0)
    except psycopg.OperationalError:
        pass
    else:
        raise AssertionError("the bench reached a server on a closed port")
    assert list(tmp_path.iterdir()) == []
