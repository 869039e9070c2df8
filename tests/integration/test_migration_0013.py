"""Migration 0013 lets a pending output name a staged file (pending_output.staged): the outputs
already waiting keep their content and name none."""

from __future__ import annotations

import psycopg

from fides.store import schema


def test_outputs_waiting_keep_their_content(empty_url):
    schema.upgrade(empty_url, "0012")
    with psycopg.connect(empty_url) as conn:
        conn.execute("INSERT INTO pending_output (path, content) VALUES ('out/b2/B2_1.b2', 'lot')")
    schema.upgrade(empty_url)
    with psycopg.connect(empty_url) as conn:
        assert conn.execute("SELECT path, content, staged FROM pending_output").fetchall() == [
            ("out/b2/B2_1.b2", b"lot", None)]
    assert schema.differences(empty_url) == []
