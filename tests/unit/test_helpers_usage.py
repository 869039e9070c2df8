"""What a helper says it used (fides.helpers.usage) and how the process that used it adds it up."""

from __future__ import annotations

import time

from fides import helpers


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_helper_says_what_it_used_since_it_last_said_so(monkeypatch):
    monkeypatch.setattr(helpers, "_reported", (0, 0.0))
    first_grown, first = helpers.usage()  # everything so far (a helper: since its fork)
    _spin(0.05)
    grown, spent = helpers.usage()
    assert first >= 0.0 and 0.05 <= spent < 1.0  # this interval only, not the process's life
    assert first_grown > 0 and grown >= 0  # VmHWM in KiB: it never goes down
    assert first_grown + grown == helpers.peak_kib()  # what it said adds up to its peak


def test_the_peaks_and_times_of_helpers_add_up(monkeypatch):
    monkeypatch.setattr(helpers, "cpu_seconds", 1.5)
    monkeypatch.setattr(helpers, "peak_kib_total", 1000)
    helpers.account(40_000, 0.25)
    helpers.account(50_000, 2.0)
    assert helpers.cpu_seconds == 3.75
    assert helpers.peak_kib_total == 91_000  # they run alongside each other: peaks are summed
