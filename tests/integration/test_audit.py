"""The hash-chained audit trail detects altered, deleted and inserted rows, and names them."""

import datetime as dt

from fides import audit

AT = dt.datetime(2025, 3, 25, 10, 15, tzinfo=dt.timezone.utc)


def _fill(conn, n=5):
    audit.append(conn, [audit.Event("creation", "test", dossier_id=i, to_state=0) for i in range(1, n + 1)], AT)
    conn.commit()


def test_intact_chain_verifies(conn):
    _fill(conn)
    assert audit.verify(conn) == []


def test_altered_row_is_named(conn):
    _fill(conn)
    conn.execute("UPDATE audit_event SET to_state = 4 WHERE id = 3")
    problems = audit.verify(conn)
    assert problems == ["ligne 3: contenu modifié (creation)"]


def test_deleted_row_is_detected(conn):
    _fill(conn)
    conn.execute("DELETE FROM audit_event WHERE id = 2")
    problems = audit.verify(conn)
    assert any(p.startswith("ligne 3: attendu n° 2") for p in problems)
    assert any("chaînage rompu" in p for p in problems)


def test_deleted_last_row_is_detected(conn):
    _fill(conn)
    conn.execute("DELETE FROM audit_event WHERE id = 5")
    assert audit.verify(conn) == ["fin de journal: attendu n° 5, trouvé n° 4 (lignes supprimées)"]


def test_inserted_row_is_detected(conn):
    _fill(conn)
    # make room, as a forger would
    conn.execute("UPDATE audit_event SET id = id + 1000 WHERE id >= 4")
    conn.execute("UPDATE audit_event SET id = id - 999 WHERE id >= 1000")
    conn.execute("INSERT INTO audit_event SELECT 4, at, actor, event, 99, file_id, line_no, from_state, "
                 "to_state, detail, prev_hash, hash FROM audit_event WHERE id = 3")
    problems = audit.verify(conn)
    assert any(p.startswith("ligne 4:") for p in problems)


def test_chain_continues_across_appends(conn):
    _fill(conn, 2)
    audit.append(conn, [audit.Event("validation", "test", dossier_id=1, from_state=0, to_state=1)], AT)
    conn.commit()
    assert audit.verify(conn) == []
    assert conn.execute("SELECT max(id) FROM audit_event").fetchone()[0] == 3


def test_rows_read_back_hash_as_written(conn):
    """Preformatted COPY rows: text needing escapes, NULLs, a batch mixing events; the stored
    hashes are those `chain` computes from the rows read back."""
    events = [
        audit.Event("creation", "test", dossier_id=7, file_id=3, to_state=0, detail="VIDHOSP\tx\\y\nz\r"),
        audit.Event("creation", "test", dossier_id=8, file_id=3, to_state=0, detail="VIDHOSP\tx\\y\nz\r"),
        audit.Event("fichier", "acteur é", file_id=3, line_no=12, detail=""),
        audit.Event("validation", "test", dossier_id=7, from_state=0, to_state=1, detail="validation"),
    ]
    audit.append(conn, events, AT)
    conn.commit()
    rows = conn.execute("SELECT id, at, actor, event, dossier_id, file_id, line_no, from_state, to_state, detail, "
                        "prev_hash, hash FROM audit_event ORDER BY id").fetchall()
    assert [audit.Event(r[3], r[2], *r[4:10]) for r in rows] == events
    prev = audit.GENESIS
    for r in rows:
        assert r[1] == AT and r[10] == prev
        assert r[11] == audit.chain(prev, r[0], r[1], audit.Event(r[3], r[2], *r[4:10]))
        prev = r[11]
    assert audit.verify(conn) == []
