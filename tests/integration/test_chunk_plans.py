"""The chunk statements of ingestion probe an index per dossier of the chunk, whatever the planner
believes: right after a first file the tables have no statistics (autovacuum analyzes them a
minute later at best), a constant on `finess` or `kind` then looks selective, and a plain join
compared every dossier of the chunk with every row of the table (quadratic; 2 001 dossiers sent
again took 1 s instead of 0.03 s). Checked on the plans themselves, not on timings."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from fides.store import sql

N = 2000
AT = dt.datetime(2025, 4, 1, tzinfo=dt.timezone.utc)


def _pack(values) -> str:
    return "\x1f".join(map(str, values))


def _loaded(conn) -> list[int]:
    """N dossiers with one current VIDHOSP line each, as a first file leaves them, not analyzed."""
    ids = [r[0] for r in conn.execute(
        "INSERT INTO dossier (finess, nda) SELECT '990000010', 'N' || g FROM generate_series(1, %s) g RETURNING id",
        (N,))]
    conn.execute("INSERT INTO dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no) "
                 "SELECT id, 'VIDHOSP', 'complet', 'vidhosp_V015', id, repeat('x', 500), 1, id FROM dossier")
    conn.commit()
    stats = conn.execute("SELECT count(*) FROM pg_stats WHERE tablename IN ('dossier', 'dossier_line')").fetchone()[0]
    assert stats == 0  # the situation this is about
    return ids


def _plan(conn, query: str, params: dict) -> tuple[list[dict], int]:
    """(every node of the executed plan, rows removed by join filters), in a rolled-back transaction."""
    conn.execute(sql.PLAN_BY_INDEX)
    (doc,) = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query, params).fetchone()
    conn.rollback()
    nodes, stack = [], [(doc if isinstance(doc, list) else json.loads(doc))[0]["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", ()))
    return nodes, sum(n.get("Rows Removed by Join Filter", 0) for n in nodes)


@pytest.mark.parametrize("key", ["ctid", "id"])
def test_lock_probes_each_dossier(conn, key):
    ids = _loaded(conn)
    nodes, removed = _plan(conn, sql.LOCK_DOSSIERS.format(key=key), {
        "finess": "990000010", "nda": _pack(f"N{i}" for i in range(1, N + 1)), "en_cours": 0, "bit": 1})
    assert removed == 0
    probes = [n for n in nodes if n.get("Index Name") == "uq_dossier_finess_nda"]
    assert probes and all("nda = k.nda" in n["Index Cond"] for n in probes)
    # then each row is fetched once, by its place or through the primary key
    fetched = [n for n in nodes if n["Node Type"] == "Tid Scan"] if key == "ctid" else \
        [n for n in nodes if n.get("Index Name") == "pk_dossier"]
    assert len(fetched) == 1 and fetched[0]["Actual Rows"] == len(ids)
    locked = [n for n in nodes if n["Node Type"] == "LockRows"]
    assert locked and locked[0]["Actual Rows"] == len(ids)  # every dossier found and locked
    assert not [n for n in nodes if n["Node Type"] in ("Seq Scan", "Hash Join", "Merge Join")]


@pytest.mark.parametrize("touch", ["TOUCH_DOSSIERS", "TOUCH_DOSSIERS_FROM_VIDHOSP", "TOUCH_DOSSIERS_FROM_RSS"])
def test_touch_finds_each_dossier_by_its_place(conn, touch):
    _loaded(conn)
    tids = [r[0] for r in conn.execute("SELECT ctid::text FROM dossier ORDER BY id")]
    nodes, removed = _plan(conn, getattr(sql, touch), {
        "at": AT, "tid": _pack(tids), "entry": _pack(["2025-03-01"] * N), "exit": _pack(["2025-03-02"] * N), "bit": 2})
    assert removed == 0
    fetched = [n for n in nodes if n["Node Type"] == "Tid Scan"]
    assert fetched and sum(n["Actual Rows"] * n["Actual Loops"] for n in fetched) == N
    assert not [n for n in nodes if n["Node Type"] in ("Seq Scan", "Index Scan", "Hash Join", "Merge Join")]


def test_retire_probes_each_dossier(conn):
    ids = _loaded(conn)
    for scope, subtypes in (("", [""] * N), ("AND dl.subtype = k.subtype", ["complet"] * N)):
        nodes, removed = _plan(conn, sql.RETIRE_LINES.format(scope=scope), {
            "at": AT, "kind": "VIDHOSP", "file_id": 2, "single": True, "id": _pack(ids), "subtype": _pack(subtypes)})
        assert removed == 0
        probes = [n for n in nodes if n.get("Index Name") == "ix_dossier_line_current"]
        assert probes and all("dossier_id = k.dossier_id" in n["Index Cond"] for n in probes)
        retired = [n for n in nodes if n["Node Type"] == "Tid Scan"]  # where the probes found them
        assert len(retired) == 1 and retired[0]["Actual Rows"] == N
        assert not [n for n in nodes if n["Node Type"] in ("Seq Scan", "Hash Join", "Merge Join")]
