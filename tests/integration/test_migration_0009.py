"""Migration 0009 keys dossier_line by (file_id, line_no): the stored lines are kept as they were,
and a file's line can no longer be stored twice."""

from __future__ import annotations

import psycopg
import pytest

from fides.store import schema

_KEY = """
SELECT array_agg(a.attname ORDER BY k.n) FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
WHERE c.conrelid = 'dossier_line'::regclass AND c.contype = 'p'
"""
_LINES = "SELECT dossier_id, kind, line, file_id, line_no, current FROM dossier_line ORDER BY file_id, line_no"


def test_lines_kept_and_keyed_by_their_file_and_line(empty_url):
    schema.upgrade(empty_url, "0008")
    with psycopg.connect(empty_url) as conn:
        assert conn.execute(_KEY).fetchone()[0] == ["id"]
        conn.execute("INSERT INTO dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no, current) "
                     "VALUES (7, 'VIDHOSP', 'complet', 'vidhosp_V015', 1, 'ancienne', 1, 1, false), "
                     "(7, 'VIDHOSP', 'complet', 'vidhosp_V015', 3, 'nouvelle', 2, 3, true), "
                     "(7, 'RSS', '', 'rss_grp_122', 2, 'RUM', 2, 2, true)")
        before = conn.execute(_LINES).fetchall()
    schema.upgrade(empty_url)
    with psycopg.connect(empty_url) as conn:
        assert conn.execute(_KEY).fetchone()[0] == ["file_id", "line_no"]
        assert conn.execute(_LINES).fetchall() == before
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'dossier_line'")}
        assert indexes == {"pk_dossier_line", "ix_dossier_line_current"}
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no) "
                         "VALUES (8, 'RSS', '', 'rss_grp_122', 2, 'doublon', 2, 2)")
    assert schema.differences(empty_url) == []
