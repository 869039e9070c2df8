"""The referentials as fides reads them back from PostgreSQL (fides.store.referentials.read) are
the shipped tables, row for row: every lookup the checks and the valorisation make gives the same."""

from __future__ import annotations

from fides.referentials import Referentials, default_directory, read_shipped
from fides.store import referentials


def _lookups(refs: Referentials) -> dict:
    """Every table of `refs` as plain values (its periods per key), with its derived indexes."""
    out = {}
    for name, value in vars(refs).items():
        if hasattr(value, "by_key"):
            value = value.by_key
        elif isinstance(value, dict) and value and all(hasattr(v, "by_key") for v in value.values()):
            value = {table: dated.by_key for table, dated in value.items()}
        out[name] = value
    return out


def test_the_database_gives_back_the_shipped_referentials(conn):
    shipped = Referentials.from_rows(read_shipped(default_directory()))
    stored = referentials.read(conn)
    expected, got = _lookups(shipped), _lookups(stored)
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name] == expected[name], name
    assert len(got["_tables"]["ghs_tarifs"]) > 1000  # the real campaign tables, not an empty read
