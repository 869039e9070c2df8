"""Performance guard: ingestion time as a ratio of the bare COPY floor measured in the same test.

Not a timing assertion in seconds (machines differ): fides and a bare PostgreSQL COPY of the same
lines run side by side on the same server, and the ratio between them must stay under a bound
about three times what `fides bench` measures at this size, so that a tenfold regression (a
per-line query, a quadratic step) fails here while a slow or busy machine does not.
"""

from __future__ import annotations

import pytest

from fides.bench import run, synthetic

DOSSIERS = 4_000
# Measured on the 2-core reference machine (fides bench internals, 4 000 dossiers): VIDHOSP
# about 5× the floor, RSS about 4× (fixed costs per file weigh more on small files).
BOUND = 20


@pytest.fixture(scope="module")
def flows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flows")
    sizes = synthetic.write_flows(folder, DOSSIERS)
    return folder, sizes


@pytest.mark.parametrize("flow", ["VIDHOSP", "RSS"])
def test_ingestion_stays_near_the_copy_floor(flow, flows, db_url, tmp_path):
    folder, sizes = flows
    source = folder / f"{flow}_{synthetic.FINESS}_20250401000000_0001.txt"
    processor = run._processor(tmp_path / "root", db_url)
    processor.tree.create()
    seconds = run._pass_on(tmp_path / "root", db_url, source)
    floor = min(run._floor(db_url, source, flow, table=f"floor_{i}") for i in range(3))
    lines = sizes.vidhosp if flow == "VIDHOSP" else sizes.rss
    stored = processor.conn.execute("SELECT count(*) FROM dossier_line WHERE kind = %s", (flow,)).fetchone()[0]
    assert stored == lines  # the run being timed did the whole job
    assert seconds / floor < BOUND, f"{flow}: {seconds:.3f} s = {seconds / floor:.1f}× the COPY floor ({floor:.3f} s)"
