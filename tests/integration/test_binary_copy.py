"""fides.store.binary against a real PostgreSQL: rows made field by field in the binary COPY
format come back as the values they were made from (the ingestion writes dossiers and lines so)."""

from __future__ import annotations

import datetime as dt

import psycopg

from fides.store import binary

_UTC = dt.timezone.utc


def test_binary_fields_come_back_as_the_values_they_were_made_from(db_url):
    rows = [  # (id, text, date as ISO, timestamptz, int2)
        (1, "B000000001", "2025-03-04", dt.datetime(2026, 12, 6, 21, 48, 49, 123456, tzinfo=_UTC), 1),
        (-(2 ** 63), "é\\\t\r\nx", "1999-12-31", dt.datetime(1970, 1, 1, tzinfo=_UTC), -32768),
        (2 ** 63 - 1, "", None, dt.datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))), 32767),
        (7, "x" * 600, "9999-12-31", dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=_UTC), 0),
        (8, "a", "0001-01-01", dt.datetime(1, 1, 1, 0, 0, tzinfo=_UTC), 4),
    ]
    with psycopg.connect(db_url, autocommit=True) as conn:
        encoding = conn.info.encoding
        conn.execute("CREATE TEMP TABLE t (id bigint, label text, day date, at timestamptz, kinds smallint)")
        with conn.cursor().copy("COPY t FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(binary.HEADER)
            for id_, label, day, at, kinds in rows:
                copy.write(b"\0\5" + binary.int8(id_) + binary.text(label.encode(encoding)) + binary.date(day)
                           + binary.timestamptz(at) + binary.int2(kinds))
            copy.write(binary.TRAILER)
        back = conn.execute("SELECT id, label, day, at, kinds FROM t ORDER BY id").fetchall()
    expected = sorted((i, label, day and dt.date.fromisoformat(day), at, kinds) for i, label, day, at, kinds in rows)
    assert back == expected


def test_lines_are_stored_as_read_whatever_the_client_encoding_says(db_url, engine_on, tmp_path, monkeypatch):
    """libpq reads PGCLIENTENCODING from the environment (LATIN1 on many older servers): fides
    connects in UTF8 anyway (db.resolve_url), and a line with accents and a backslash, read by the
    process itself then by a checking helper (binary COPY: text in the connection's encoding), is
    stored as the file has it."""
    from fides import config as config_mod
    from fides.bench import synthetic
    from fides.flows import reading
    from fides.store import db

    monkeypatch.setenv("PGCLIENTENCODING", "LATIN1")
    with psycopg.connect(db_url) as conn:
        assert conn.info.encoding == "iso8859-1"  # what a plain connection gets here
    url = db.resolve_url(db_url + ("&" if "?" in db_url else "?") + "client_encoding=LATIN1", tmp_path)
    line = synthetic.vidhosp_line(1)
    at = 139  # num_admin_sejour_mere (free text, positions 140-159)
    lines = [line[:at] + "é\\’" + line[at + 3:]] + [synthetic.vidhosp_line(i) for i in range(2, 4)]
    for n, helper_bytes in enumerate((1 << 40, 0), 1):  # in process, then in a helper
        monkeypatch.setattr(reading, "HELPER_BYTES", helper_bytes)
        cfg = config_mod.from_mapping(tmp_path / str(n), {"inbox": {"stable_seconds": 0},
                                                          "establishment": {"finess": synthetic.FINESS}})
        engine = engine_on(cfg, url)
        assert engine.conn.info.encoding == "utf-8"
        assert "client_encoding=UTF8" in db.helper_dsn(engine.conn)  # the helpers' connections too
        texts = [text.replace("’", "çè"[n - 1]) for text in lines]  # latin-1 files; another content each time
        (engine.tree.inbox / f"VIDHOSP_{synthetic.FINESS}_2025040{n}000000_000{n}.txt").write_bytes(
            "".join(f"{text}\r\n" for text in texts).encode("latin-1"))
        assert [status for _, _, status in engine.run_pass().processed] == ["OK"]
        stored = engine.conn.execute("SELECT line FROM dossier_line WHERE current ORDER BY line_no").fetchall()
        assert [text for (text,) in stored] == texts
