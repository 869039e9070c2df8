"""Migration 0007 fills `dossier.creation_file_id` of existing dossiers: from the audit trail's
creation events (one per batch, the ids as ranges in the detail), else, their event purged, from
the smallest file id of their lines (what the dossier history used before)."""

from __future__ import annotations

import datetime as dt

import psycopg

from fides import audit
from fides.store import schema

AT = dt.datetime(2025, 4, 1, tzinfo=dt.timezone.utc)


def _file(conn, name: str) -> int:
    return conn.execute("INSERT INTO flux_file (name, flux, sha256, size, status, arl_text, destination) "
                        "VALUES (%s, 'VIDHOSP', %s, 1, 'OK', '', '') RETURNING id", (name, name)).fetchone()[0]


def _lines(conn, dossier_id: int, *file_ids: int) -> None:
    for file_id in file_ids:
        conn.execute("INSERT INTO dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no) "
                     "VALUES (%s, 'RSS', '', 'rss_grp_122', 1, 'x', %s, %s)", (dossier_id, file_id, dossier_id))


def test_creation_file_filled_from_the_audit_trail_then_the_lines(empty_url):
    schema.upgrade(empty_url, "0006")
    with psycopg.connect(empty_url) as conn:
        first, second, third = (_file(conn, n) for n in ("A", "B", "C"))
        ids = [conn.execute("INSERT INTO dossier (finess, nda) VALUES ('990000010', %s) RETURNING id",
                            (f"N{n}",)).fetchone()[0] for n in range(1, 7)]
        d1, d2, d3, d4, d5, d6 = ids
        audit.append(conn, [
            audit.Event("creation", "t", None, first, None, None, 0, f"3 dossiers : {d1}-{d2},{d5}"),
            audit.Event("creation", "t", None, second, None, None, 0, f"1 dossiers : {d4},abc"),
            audit.Event("validation", "t", d3, third, None, 0, 1, "not a creation"),
        ], AT)
        _lines(conn, d1, first, second)
        _lines(conn, d2, first)
        _lines(conn, d3, third, second)  # no creation event left (purged): its lines decide
        _lines(conn, d4, first, second)  # the event wins over an older file's line
        # d5: named by its event, no line; d6: neither event nor line
    schema.upgrade(empty_url)
    with psycopg.connect(empty_url) as conn:
        found = dict(conn.execute("SELECT id, creation_file_id FROM dossier").fetchall())
    assert found == {d1: first, d2: first, d3: second, d4: second, d5: first, d6: None}
    assert schema.differences(empty_url) == []
