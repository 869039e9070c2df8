"""Performance guard: ingestion time as a ratio of the bare COPY floor measured in the same test.

Not a timing assertion in seconds (machines differ): fides and a bare PostgreSQL COPY of the same
lines run side by side on the same server, and the ratio between them must stay under a bound
about three times what `fides bench` measures at this size, so that a tenfold regression (a
per-line query, a quadratic step) fails here while a slow or busy machine does not.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from fides.bench import run, synthetic
from fides.store.schema import database_url

DOSSIERS = 4_000
# Measured on the 2-core reference machine (this test's own figures, 4 000 dossiers, 2026-12-07):
# VIDHOSP 13.7× the floor, RSS 10.5-14.4× on a quiet machine (fixed costs per file weigh more on
# small files; the 7-8× once written here were older). A floor's tries start after a CHECKPOINT
# since e9efbf1 (0.0073-0.0079 s against 0.0080-0.0096 s for the three plain tries before). The
# bound keeps the 4× margin it had over a quiet machine, for one busy with other work; a 10×
# regression still fails it.
BOUND = 60


@pytest.fixture(scope="module")
def flows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flows")
    sizes = synthetic.write_flows(folder, DOSSIERS)
    return folder, sizes


def _fresh_database(pg_server_url: str, template_db: str) -> str:
    name = f"fides_perf_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    return database_url(pg_server_url, name)


@pytest.mark.parametrize("flow", ["VIDHOSP", "RSS"])
def test_ingestion_stays_near_the_copy_floor(flow, flows, pg_server_url, template_db, tmp_path):
    folder, sizes = flows
    source = folder / f"{flow}_{synthetic.FINESS}_20250401000000_0001.txt"
    lines = sizes.vidhosp if flow == "VIDHOSP" else sizes.rss
    runs = []
    for attempt in range(2):  # best of two: a busy machine slows one run, not both alike
        url = _fresh_database(pg_server_url, template_db)
        root = tmp_path / f"root{attempt}"
        processor = run._processor(root, url)
        processor.tree.create()
        runs.append(run._pass_on(root, url, source)[0])
        stored = processor.conn.execute("SELECT count(*) FROM dossier_line WHERE kind = %s", (flow,)).fetchone()[0]
        assert stored == lines  # the run being timed did the whole job
        processor.conn.close()
    floor = run._floor(url, source, flow, kept="floor_kept")  # the fastest of run.FLOOR_TRIES
    with psycopg.connect(url) as conn:  # the floor stored what fides stored: like with like
        same = conn.execute("SELECT count(*) FROM floor_kept f JOIN dossier_line d ON d.line_no = f.line_no "
                            "AND d.line = f.line AND d.kind = f.kind AND d.layout = f.layout").fetchone()[0]
    assert same == lines
    ratio = min(runs) / floor
    assert ratio < BOUND, f"{flow}: {min(runs):.3f} s = {ratio:.1f}× the COPY floor ({floor:.3f} s)"
