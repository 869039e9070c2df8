"""A large backlog is validated by several processes (fides.engine.validation): helper processes
spawned with their own connection take batches SKIP LOCKED, so every dossier is validated once,
by one of them, and the counts add up."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import shutil

import psycopg
import pytest

from fides import audit, config as config_mod, helpers
from fides.bench import synthetic
from fides.engine import validation

DOSSIERS = 3000
LATER = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)  # past the quiet time


@pytest.fixture
def cfg(tmp_path):  # for the `engine` fixture (tests/integration/conftest.py)
    return config_mod.from_mapping(tmp_path, {
        "inbox": {"stable_seconds": 0}, "establishment": {"finess": synthetic.FINESS},
        "validation": {"quiet_minutes": 60, "workers": 2}, "billing": {"tjp": {"146": 1000}}})


@pytest.fixture
def backlog(engine, tmp_path):
    """DOSSIERS complete dossiers integrated, none validated yet (the quiet time runs)."""
    (engine.tree.inbox / "IUM_990000010_20250101000000_0001.txt").write_text(
        "".join(line + "\r\n" for line in synthetic.ium_lines()), encoding="latin-1")
    engine.run_pass()
    flows = tmp_path / "flows"
    flows.mkdir()
    synthetic.write_flows(flows, DOSSIERS, seed=3)
    for flow in ("VIDHOSP", "RSS"):
        shutil.copy(flows / f"{flow}_{synthetic.FINESS}_20250401000000_0001.txt", engine.tree.inbox)
        assert [s for _, _, s in engine.run_pass().processed] == ["OK"]
    assert _validated(engine.conn) == (0, 0)
    return engine


def _validated(conn) -> tuple[int, int]:
    """(dossiers no longer to validate, validation audit events)."""
    return conn.execute("SELECT (SELECT count(*) FROM dossier WHERE NOT to_validate), "
                        "(SELECT count(*) FROM audit_event WHERE event = 'validation')").fetchone()


def test_a_helper_process_validates_on_its_own_connection(backlog, monkeypatch):
    monkeypatch.setattr(validation, "PARALLEL_FROM", 100)
    monkeypatch.setattr(helpers, "cpu_seconds", 0.0)
    pool, running = validation._start_helpers(backlog.conn, backlog.config, "test", LATER, validation.BATCH)
    assert len(running) == 1
    (counted,) = validation._join(pool, running)  # the helper alone: everything was pending for it
    assert 0.05 < helpers.cpu_seconds < 60  # it said its CPU time (not this process's child)
    assert sum(counted.values()) == DOSSIERS and counted["valides"] > 0
    valides = backlog.conn.execute("SELECT count(*) FROM dossier WHERE state = 1").fetchone()[0]
    assert valides == counted["valides"]
    assert validation.sweep(backlog.conn, backlog.config, backlog.context["refs"], "test", LATER) == \
        {"valides": 0, "en_anomalie": 0, "hors_b2": 0}


def test_parent_and_helper_share_the_backlog_once(backlog, monkeypatch):
    monkeypatch.setattr(validation, "PARALLEL_FROM", 100)
    monkeypatch.setattr(validation, "BATCH", 200)  # below the 375 of 3000 dossiers on 2 processes: taken by both
    before = set(multiprocessing.active_children())
    counts = validation.sweep(backlog.conn, backlog.config, backlog.context["refs"], "test", LATER)
    assert set(multiprocessing.active_children()) <= before  # the helper has ended, not just answered
    assert sum(counts.values()) == DOSSIERS
    assert _validated(backlog.conn) == (DOSSIERS, counts["valides"])  # one event per validated dossier
    twice = backlog.conn.execute("SELECT count(*) FROM (SELECT dossier_id FROM audit_event WHERE event = "
                                 "'validation' GROUP BY 1 HAVING count(*) > 1) d").fetchone()[0]
    assert twice == 0
    assert audit.verify(backlog.conn) == []  # the hash chain stays whole with two writers


def test_a_shared_backlog_is_cut_into_batches_every_process_takes(backlog, monkeypatch):
    """3000 dossiers on 2 processes: 8 batches of 375 (4 each), not 2 of 2000 (one process idle
    while the other validates the second); the helper is given the parent's batch size."""
    monkeypatch.setattr(validation, "PARALLEL_FROM", 100)
    given = {}

    def noting(who, function):  # the batch size (last argument) each is given, then the real call
        def call(*args):
            given[who] = args[-1]
            return function(*args)
        return call

    monkeypatch.setattr(validation, "_start_helpers", noting("helpers", validation._start_helpers))
    monkeypatch.setattr(validation, "_sweep", noting("parent", validation._sweep))
    counts = validation.sweep(backlog.conn, backlog.config, backlog.context["refs"], "test", LATER)
    assert given == {"helpers": 375, "parent": 375}
    assert sum(counts.values()) == DOSSIERS and _validated(backlog.conn) == (DOSSIERS, counts["valides"])


def _analyzes(conn) -> int:
    """The ANALYZEs of `dossier` asked for (not autovacuum's)."""
    conn.commit()
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return conn.execute("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'dossier'").fetchone()[0]


def test_small_backlog_no_helper_nor_analyze(backlog, monkeypatch):
    started = []
    monkeypatch.setattr(validation, "_start_helpers", lambda *args: started.append(args))
    counts = validation.sweep(backlog.conn, backlog.config, backlog.context["refs"], "test", LATER)
    assert sum(counts.values()) == DOSSIERS and started == []  # 3000 < 5 000 and < 30 000
    assert _analyzes(backlog.conn) == 0


def test_a_large_backlog_is_walked_in_id_order_from_the_index(backlog, monkeypatch):
    """Right after integration the table has no statistics: the walk then read every pending
    dossier and sorted them for each batch. The sweep analyzes the table first."""
    monkeypatch.setattr(validation, "ANALYZE_FROM", 1000)
    assert _analyzes(backlog.conn) == 0
    counts = validation.sweep(backlog.conn, backlog.config, backlog.context["refs"], "test", LATER)
    assert sum(counts.values()) == DOSSIERS and _analyzes(backlog.conn) == 1
    backlog.conn.execute("UPDATE dossier SET to_validate = true, state = 0")  # pending again, as analyzed
    (plan,) = backlog.conn.execute("EXPLAIN (FORMAT JSON) " + validation._PENDING,
                                   {"before": LATER, "after": 0, "limit": validation.BATCH}).fetchone()
    backlog.conn.rollback()
    nodes, stack = [], [plan[0]["Plan"]]
    while stack:
        nodes.append(stack.pop())
        stack.extend(nodes[-1].get("Plans", ()))
    assert [n.get("Index Name") for n in nodes if n["Node Type"] == "Index Scan"] == ["ix_dossier_pending"]
    assert not [n for n in nodes if n["Node Type"] in ("Sort", "Bitmap Heap Scan", "Seq Scan")]


def test_a_helper_that_fails_leaves_the_backlog_to_the_sweep(backlog, monkeypatch, caplog):
    monkeypatch.setattr(validation, "PARALLEL_FROM", 100)
    monkeypatch.setattr(validation, "ANALYZE_FROM", 100)
    # a helper whose connection is refused (helpers, forked by their server, do not see a monkeypatch)
    monkeypatch.setattr(validation, "helper_dsn", lambda conn: conn.info.dsn + " dbname=no_such_database")
    counts = validation.sweep(backlog.conn, backlog.config, backlog.context["refs"], "test", LATER)
    assert sum(counts.values()) == DOSSIERS  # the parent validated everything itself
    assert _validated(backlog.conn) == (DOSSIERS, counts["valides"])
    assert "validation helper process failed" in caplog.text
    assert "statistics of the dossiers before the sweep failed (OperationalError)" in caplog.text
