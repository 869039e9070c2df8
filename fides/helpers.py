"""Helper processes: how fides spreads a large file's check (fides.flows.reading), a large
validation backlog (fides.engine.validation) and a large billing run (fides.billing.valuing)
over the machine's cores.

Every helper is forked by one server that has already imported what they run (multiprocessing's
"forkserver"), compiled every layout (fides.layouts.preload) and read the shipped referentials
(fides.store.preload): no interpreter start, import, reading of the layouts nor, when the
database holds the shipped tables, of the referentials per helper, and nothing inherited from the
process that asks (no connection, no thread). A fork costs 0.02 s; with spawned helpers (an
interpreter started and fides imported each time), a 100 000-dossier billing run had its first
chunk valued 1.04 s after it started, with forked ones 0.6 s, now 0.26 s (each helper still
connects, checks the referentials' checksums and values its chunk). `fides run` starts the server when it starts
(`start`); elsewhere the first helper starts it.

A helper is not this process's child: it tells its own peak memory and CPU time (`usage`, in
the helper), and the process that used it adds them up (`account`) for `fides bench`.
"""

from __future__ import annotations

import multiprocessing
import time

CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload(["fides.flows", "fides.engine.validation", "fides.billing.valuing",
                                "fides.layouts.preload", "fides.store.preload"])

# What this process's helpers used, as they said it (fides bench adds it to its own figures):
# the sum of their peaks (they run alongside this process and each other) and of their CPU time.
peak_kib_total = 0
cpu_seconds = 0.0

_reported = (0, 0.0)  # in a helper: the peak memory and CPU time it already reported


def _ready() -> None:
    """A helper that only starts."""


def start() -> None:
    """Starts the fork server and waits until it forks: otherwise the first large file or run pays
    for it (~0.3 s: an interpreter start and fides' import, against 0.02 s a helper once it runs)."""
    helper = CONTEXT.Process(target=_ready, name="fides-helper", daemon=True)
    helper.start()
    helper.join()


def peak_kib() -> int:
    """This process's peak resident memory (VmHWM), in KiB; 0 where /proc does not tell it (a
    helper must not fail its work for a figure only the bench reads)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


def usage() -> tuple[int, float]:
    """In a helper: what it used since it last said so: (how much its peak memory grew, in KiB;
    CPU seconds). Forked: process_time counts this process's own time only, from the fork on. So
    the sums of what a helper says, however many times it says it, are its peak and its time."""
    global _reported
    now = (peak_kib(), time.process_time())
    grown, spent = now[0] - _reported[0], now[1] - _reported[1]
    _reported = now
    return grown, spent


def account(grown: int, spent: float) -> None:
    """In the process that used a helper: adds what `usage` said there."""
    global peak_kib_total, cpu_seconds
    peak_kib_total += grown
    cpu_seconds += spent
