"""The COPY floors of `fides bench` on a real server: the fastest of several tries, each into
fresh tables that are dropped straight after (an autovacuum of them slowed the next measures)."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from fides.bench import run, synthetic

_FLOOR_TABLES = "SELECT count(*) FROM pg_class WHERE relname LIKE 'bench_floor%' AND relkind = 'r'"


@pytest.fixture(scope="module")
def flows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flows")
    return folder, synthetic.write_flows(folder, 40)


@pytest.mark.parametrize("flow, shaped", [("VIDHOSP", True), ("RSS", False)])
def test_a_floor_leaves_no_table_behind(flow, shaped, flows, db_url):
    folder, _ = flows
    seconds = run._floor(db_url, folder / f"{flow}_{synthetic.FINESS}_20250401000000_0001.txt", flow, shaped, tries=2)
    assert 0 < seconds < 60
    with psycopg.connect(db_url) as conn:
        assert conn.execute(_FLOOR_TABLES).fetchone()[0] == 0


def test_the_kept_table_holds_every_line_of_the_last_try(flows, db_url):
    folder, sizes = flows
    run._floor(db_url, folder / f"RSS_{synthetic.FINESS}_20250401000000_0001.txt", "RSS", kept="floor_kept")
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM floor_kept").fetchone()[0] == sizes.rss
        assert conn.execute(_FLOOR_TABLES).fetchone()[0] == 0


def test_a_role_that_may_not_checkpoint_still_measures(pg_server_url, db_url):
    """On a user's server the bench's role may lack pg_checkpoint: the CHECKPOINT before each try
    of a floor is skipped, the session goes on."""
    role = f"fides_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'x'")
    try:
        with psycopg.connect(db_url, user=role, password="x", autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("CHECKPOINT")
            run._checkpoint(conn)
            assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")
