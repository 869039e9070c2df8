"""The state machine applied to real rows: allowed transitions change state and are audited,
others are refused and leave the row untouched."""

import datetime as dt

import pytest

from fides import audit, dossiers

AT = dt.datetime(2025, 3, 25, 10, 15, tzinfo=dt.timezone.utc)
CAUSE = dossiers.Cause("test", detail="unit")


def _dossier(conn, nda, state=0):
    return conn.execute("INSERT INTO dossier (finess, nda, state) VALUES ('990000010', %s, %s) RETURNING id",
                        (nda, state)).fetchone()[0]


def test_validation_then_billing(conn):
    a = _dossier(conn, "A")
    r = dossiers.change(conn, [a], "validation", CAUSE, AT)
    assert r.changed == {a: (0, 1)} and r.refused == {}
    r = dossiers.change(conn, [a], "facturation", CAUSE, AT)
    assert r.changed == {a: (1, 2)}
    conn.commit()
    assert conn.execute("SELECT state, to_validate FROM dossier WHERE id = %s", (a,)).fetchone() == (2, False)
    events = conn.execute("SELECT event, from_state, to_state FROM audit_event ORDER BY id").fetchall()
    assert events == [("validation", 0, 1), ("facturation", 1, 2)]
    assert audit.verify(conn) == []


def test_refused_transition_leaves_state(conn):
    a = _dossier(conn, "A", state=dossiers.PAYE)
    b = _dossier(conn, "B", state=dossiers.FACTURE)
    r = dossiers.change(conn, [a, b], "rejet_noemie", CAUSE, AT)
    assert r.changed == {b: (2, 3)} and r.refused == {a: 4}
    assert conn.execute("SELECT state FROM dossier WHERE id = %s", (a,)).fetchone()[0] == 4


def test_cancelpaid_forbids_b2_for_ever(conn):
    a = _dossier(conn, "A", state=dossiers.PAYE)
    dossiers.change(conn, [a], "cancelpaid", CAUSE, AT)
    assert conn.execute("SELECT state, never_b2 FROM dossier WHERE id = %s", (a,)).fetchone() == (0, True)


def test_values_are_written_with_the_change(conn):
    a = _dossier(conn, "A")
    b = _dossier(conn, "B", state=dossiers.VALIDE)
    c = _dossier(conn, "C")
    r = dossiers.change(conn, [c, b, a], "validation", CAUSE, AT,
                        values={"billable_b2": [True, True, True], "last_code": ["VAL046", None, "VAL038"]})
    assert r.changed == {a: (0, 1), c: (0, 1)} and r.refused == {b: 1}
    rows = conn.execute("SELECT nda, state, billable_b2, last_code FROM dossier ORDER BY nda").fetchall()
    assert rows == [("A", 1, True, "VAL038"), ("B", 1, None, None), ("C", 1, True, "VAL046")]
    events = conn.execute("SELECT dossier_id, from_state, to_state FROM audit_event ORDER BY id").fetchall()
    assert events == [(a, 0, 1), (c, 0, 1)]


def test_dossiers_the_caller_locked_are_moved_without_a_second_lock(conn):
    a, b = _dossier(conn, "A"), _dossier(conn, "B")
    conn.execute("SELECT id FROM dossier WHERE state = 0 FOR UPDATE")
    r = dossiers.change(conn, [a, b], "validation", CAUSE, AT, values={"last_code": ["VAL046", None]},
                        locked_in=dossiers.EN_COURS)
    assert r.changed == {a: (0, 1), b: (0, 1)} and r.refused == {}
    assert conn.execute("SELECT nda, state, last_code FROM dossier ORDER BY nda").fetchall() == [
        ("A", 1, "VAL046"), ("B", 1, None)]
    assert conn.execute("SELECT dossier_id, from_state, to_state FROM audit_event ORDER BY id").fetchall() == [
        (a, 0, 1), (b, 0, 1)]


def test_a_dossier_not_in_the_state_the_caller_said_fails_the_change(conn):
    """A caller wrong about what it locked: nothing moves and no transition is audited."""
    a, b = _dossier(conn, "A"), _dossier(conn, "B", state=dossiers.FACTURE)
    conn.commit()
    with pytest.raises(RuntimeError, match="1 of 2 dossiers were in state 0"):
        dossiers.change(conn, [a, b], "validation", CAUSE, AT, locked_in=dossiers.EN_COURS)
    conn.rollback()
    assert conn.execute("SELECT nda, state FROM dossier ORDER BY nda").fetchall() == [("A", 0), ("B", 2)]
    assert conn.execute("SELECT count(*) FROM audit_event WHERE dossier_id IS NOT NULL").fetchone()[0] == 0


BATCH = 2000


def _batch_statements():
    """(statement, its parameters but the ids) of every UPDATE joining a batch's values on dossier."""
    from fides.engine import validation
    from fides.returns import queries

    n = BATCH
    return {
        "validation": (dossiers._set_state_sql("validation", ("billable_b2", "extract_reason", "last_code")),
                       {"to": 1, "from": 0, "at": AT, "v_billable_b2": [True] * n, "v_extract_reason": [None] * n,
                        "v_last_code": [None] * n}),
        "verdicts": (validation._VERDICTS, {"billable": [False] * n, "reasons": ["AME"] * n, "codes": ["VAL010"] * n}),
        "return codes": (queries.SET_LAST_CODES, {"codes": ["R01"] * n}),
    }



@pytest.mark.parametrize("statement", ["validation", "verdicts", "return codes"])
def test_a_batch_update_reads_its_dossiers_by_their_ids(conn, statement):
    """Joined on an unnest of its values alone, a batch's UPDATE hashed the whole table (a
    sequential scan of every dossier for each batch of 2 000); its ids lead to its rows."""
    conn.execute("INSERT INTO dossier (finess, nda) SELECT '990000010', 'N' || g FROM generate_series(1, 40000) g")
    conn.commit()
    conn.execute("ANALYZE dossier")
    query, params = _batch_statements()[statement]
    ids = [r[0] for r in conn.execute("SELECT id FROM dossier ORDER BY id LIMIT %s OFFSET 10000", (BATCH,))]
    (plan,) = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query, {**params, "ids": ids},
                           prepare=False).fetchone()
    conn.rollback()
    nodes, stack = [], [plan[0]["Plan"]]
    while stack:
        nodes.append(stack.pop())
        stack.extend(nodes[-1].get("Plans", ()))
    assert [n["Actual Rows"] for n in nodes if n["Node Type"] == "ModifyTable"] == [0]  # RETURNING nothing
    read = [n for n in nodes if n.get("Relation Name") == "dossier"]
    assert read and all(n["Node Type"] != "Seq Scan" for n in read)
    assert sum(n["Actual Rows"] for n in read) == BATCH
