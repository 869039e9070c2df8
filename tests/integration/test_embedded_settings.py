"""The embedded PostgreSQL runs with fides's settings (fides.store.db.EMBEDDED_SETTINGS): a new
one from its first connection, an existing one brought back to them. A dedicated server each
time, never the suite's shared one."""

from __future__ import annotations

import logging
import time

import psycopg

from fides.store import db


def _shown(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in db.EMBEDDED_SETTINGS}


def test_a_new_embedded_server_runs_with_fides_settings_at_once(tmp_path):
    pgdata = tmp_path / "pgdata"
    try:
        shown = _shown(db.embedded_url(pgdata))
    finally:
        db.stop_embedded(pgdata)
    assert shown == db.EMBEDDED_SETTINGS  # PostgreSQL's defaults: 4MB, 200ms


def test_an_existing_server_gets_its_settings_back(tmp_path, caplog):
    pgdata = tmp_path / "pgdata"
    try:
        with psycopg.connect(db.embedded_url(pgdata), autocommit=True) as conn:  # set back by hand
            conn.execute("ALTER SYSTEM SET wal_writer_delay = '200ms'")
            conn.execute("ALTER SYSTEM SET wal_buffers = '4MB'")
        db.stop_embedded(pgdata)
        with caplog.at_level(logging.INFO, logger="fides.store.db"):
            url = db.embedded_url(pgdata)  # starts on the hand-set values, puts fides's back
        assert "wal_buffers take effect at its next start" in caplog.text
        assert _shown(url)["wal_buffers"] == "4MB"  # not restarted under someone's feet
        deadline = time.monotonic() + 10
        while _shown(url)["wal_writer_delay"] != "10ms" and time.monotonic() < deadline:
            time.sleep(0.1)  # a reload reaches new sessions within moments
        assert _shown(url)["wal_writer_delay"] == db.EMBEDDED_SETTINGS["wal_writer_delay"] == "10ms"
        db.stop_embedded(pgdata)
        shown = _shown(db.embedded_url(pgdata))
    finally:
        db.stop_embedded(pgdata)
    assert shown == db.EMBEDDED_SETTINGS
