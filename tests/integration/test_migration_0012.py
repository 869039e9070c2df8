"""Migration 0012 gives each existing dossier the kinds of its current lines (dossier.line_kinds),
which the merge then trusts instead of looking for lines to retire."""

from __future__ import annotations

import psycopg

from fides.store import schema

_FILL = """
INSERT INTO dossier (finess, nda) VALUES ('990000010', 'V'), ('990000010', 'VRF'), ('990000010', 'OLD'),
                                         ('990000010', 'NONE');
INSERT INTO dossier_line (dossier_id, kind, subtype, layout, seq, line, file_id, line_no, current)
SELECT d.id, v.kind, '', 'x', 1, 'x', v.file_id, v.line_no, v.current
FROM dossier d JOIN (VALUES ('V', 'VIDHOSP', 1, 1, true), ('VRF', 'VIDHOSP', 1, 2, true), ('VRF', 'RSS', 2, 1, true),
                            ('VRF', 'RSS', 2, 2, true), ('VRF', 'FICHCOMP', 3, 1, true),
                            ('OLD', 'RSS', 2, 3, false), ('OLD', 'VIDHOSP', 1, 3, true)
                    ) v(nda, kind, file_id, line_no, current) ON v.nda = d.nda;
"""


def test_existing_dossiers_get_the_kinds_of_their_current_lines(empty_url):
    schema.upgrade(empty_url, "0011")
    with psycopg.connect(empty_url) as conn:
        conn.execute(_FILL)
    schema.upgrade(empty_url)
    with psycopg.connect(empty_url) as conn:
        found = dict(conn.execute("SELECT nda, line_kinds FROM dossier").fetchall())
    # VIDHOSP 1, RSS 2, FICHCOMP 4; a line no longer current does not count
    assert found == {"V": 1, "VRF": 7, "OLD": 1, "NONE": 0}
    assert schema.differences(empty_url) == []
