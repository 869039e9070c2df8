"""Helpers are forked by a server that has already read and compiled every layout
(fides.layouts.preload): a helper does not read the descriptions again at its start."""

from __future__ import annotations

from fides import helpers
from fides.layouts import registry


def _layouts_here(channel) -> None:
    """In the helper: what its registry holds before it does anything."""
    channel.send((registry._specs is not None, sorted(registry._compiled)))
    channel.close()


def test_a_helper_starts_with_every_layout_compiled():
    here, there = helpers.CONTEXT.Pipe()
    helper = helpers.CONTEXT.Process(target=_layouts_here, args=(there,), daemon=True)
    helper.start()
    there.close()
    read, compiled = here.recv()
    helper.join(5)
    assert helper.exitcode == 0
    assert read and compiled == registry.names()


def test_a_description_in_error_does_not_stop_the_fork_server(monkeypatch):
    """The server imports fides.layouts.preload: a layout that cannot be read or compiled must not
    make that import fail (the server would die, and every helper with it)."""
    import importlib
    import sys

    from fides.layouts import model

    def broken():
        raise model.DescriptionError("vidhosp_V099.xml: field overlaps")

    monkeypatch.setattr(registry, "_specs", None)
    monkeypatch.setattr(registry, "read_all", broken)
    monkeypatch.delitem(sys.modules, "fides.layouts.preload", raising=False)
    importlib.import_module("fides.layouts.preload")  # does not raise


def _referentials_here(channel, url: str) -> None:
    """In the helper: whether it was forked with the shipped referentials, and takes them."""
    import psycopg

    from fides.store import referentials

    with psycopg.connect(url) as conn:
        channel.send((referentials._preloaded is not None, referentials.read(conn) is referentials._preloaded[1]))
    channel.close()


def test_a_helper_starts_with_the_shipped_referentials(db_url):
    here, there = helpers.CONTEXT.Pipe()
    helper = helpers.CONTEXT.Process(target=_referentials_here, args=(there, db_url), daemon=True)
    helper.start()
    there.close()
    assert here.recv() == (True, True)
    helper.join(5)
    assert helper.exitcode == 0
