"""`fides bench --repeat N` on a real server: each size measured N times, each time on a fresh
database that is dropped afterwards, the median kept with its spread."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

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


def test_repeat_below_one_is_a_usage_error():
    fides = Path(sys.executable).with_name("fides")
    proc = subprocess.run([str(fides), "bench", "--repeat", "0"], capture_output=True, text=True)
    assert proc.returncode == EXIT_USAGE
    assert "--repeat 0 : au moins 1" in proc.stderr and "Traceback" not in proc.stderr


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
