"""The referentials as fides reads them back from PostgreSQL (fides.store.referentials.read) are
the shipped tables, row for row: every lookup the checks and the valorisation make gives the same.
In a helper, the tables its fork server preloaded stand for them when the database holds exactly
those (fides.store.preload)."""

from __future__ import annotations

import datetime as dt
import importlib
import shutil
import sys
from decimal import Decimal

import pytest

from fides.referentials import ReferentialError, Referentials, default_directory, read_shipped
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


@pytest.fixture
def preloaded(monkeypatch):
    """This process as the helpers' fork server is: the shipped tables preloaded (undone after)."""
    monkeypatch.setattr(referentials, "_preloaded", None)
    referentials.preload()
    return referentials._preloaded[1]


def test_a_database_holding_the_shipped_tables_gives_the_preloaded_ones(conn, preloaded):
    assert referentials.read(conn) is preloaded
    expected, got = _lookups(Referentials.from_rows(read_shipped(default_directory()))), _lookups(preloaded)
    assert got == expected


def test_a_database_holding_other_tables_is_read(conn, preloaded, tmp_path):
    """Tables loaded from another directory (the participation forfaitaire edited): the database's
    rows, not the preloaded ones."""
    directory = tmp_path / "referentials"
    shutil.copytree(default_directory(), directory)
    amounts = directory / "participation_forfaitaire.csv"
    amounts.write_text(amounts.read_text("utf-8").replace(",24.00,", ",26.00,"), "utf-8")
    assert referentials.load(conn, directory) == {"participation_forfaitaire": 2}
    stored = referentials.read(conn)
    assert stored is not preloaded
    assert stored.participation_forfaitaire(dt.date(2025, 3, 1)) == Decimal("26.00")
    assert preloaded.participation_forfaitaire(dt.date(2025, 3, 1)) == Decimal("24.00")


def test_unreadable_shipped_tables_do_not_stop_the_fork_server(monkeypatch):
    """The server imports fides.store.preload: it must start anyway (helpers then read the database)."""
    def unreadable(directory):
        raise ReferentialError(f"{directory}/manifest.toml: Invalid value")

    monkeypatch.setattr(referentials, "_preloaded", None)
    monkeypatch.setattr(referentials, "read_shipped", unreadable)
    monkeypatch.delitem(sys.modules, "fides.store.preload", raising=False)
    importlib.import_module("fides.store.preload")  # does not raise
    assert referentials._preloaded is None
