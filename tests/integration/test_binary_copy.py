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
