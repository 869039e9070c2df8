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
