"""Migration 0011 makes identifiers and codes compare byte for byte (COLLATE "C"): rows and keys
are kept, and from now on every text column of an index or a key is in "C"."""

from __future__ import annotations

import psycopg
import pytest

from fides.store import schema

# The text columns of every index of the schema (keys and unique constraints included), with
# their collation.
_INDEXED_TEXT = """
SELECT DISTINCT t.relname, a.attname, coalesce(c.collname, 'default')
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
LEFT JOIN pg_collation c ON c.oid = a.attcollation AND a.attcollation <> 100
WHERE a.atttypid = 'text'::regtype
ORDER BY 1, 2
"""


def test_every_text_column_of_an_index_compares_byte_for_byte(db_url):
    with psycopg.connect(db_url) as conn:
        found = conn.execute(_INDEXED_TEXT).fetchall()
    assert ("dossier", "nda", "C") in found  # the hot key is among them
    assert [row for row in found if row[2] != "C"] == []


def test_rows_and_keys_kept_and_order_bytewise(empty_url):
    schema.upgrade(empty_url, "0010")
    with psycopg.connect(empty_url) as conn:
        conn.execute("INSERT INTO dossier (finess, nda) VALUES ('990000010', 'b1'), ('990000010', 'B2'), "
                     "('990000010', '0003')")
        assert [r[2] for r in conn.execute(_INDEXED_TEXT) if r[:2] == ("dossier", "nda")] == ["default"]
    schema.upgrade(empty_url)
    with psycopg.connect(empty_url) as conn:
        # digits, then capitals, then small letters: byte order, whatever the server's locale
        assert [r[0] for r in conn.execute("SELECT nda FROM dossier ORDER BY nda")] == ["0003", "B2", "b1"]
        assert conn.execute("SELECT count(*) FROM dossier WHERE finess = %s AND nda = %s",
                            ("990000010", "B2")).fetchone()[0] == 1
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO dossier (finess, nda) VALUES ('990000010', 'b1')")
    assert schema.differences(empty_url) == []

