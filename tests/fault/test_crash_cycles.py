"""Crash safety, proved with real processes, files and PostgreSQL (docs/robustness.md).

Seeded cycles (tests/fault/faultkit.py): files dropped, `fides process` / `fides run --poll`
SIGKILLed at a named point of every phase (parsing + COPY, commit, move, `.arl` write, B2 write,
report write, inside the atomic write, recovery, validation, or a random moment), restarted, and
the invariants checked after every kill and after every clean restart.

The default run does CYCLES cycles (about 2 minutes); `tools/soak.py --cycles 1000` runs more, and
the `slow` test below runs SOAK_CYCLES.
"""

from __future__ import annotations

import os
import random

import pytest
from faultkit import POINTS, InvariantError, Site

CYCLES = int(os.environ.get("FIDES_FAULT_CYCLES", "50"))
SEED = int(os.environ.get("FIDES_FAULT_SEED", "20250402"))
SOAK_CYCLES = 300


def _cycles(tmp_path, db_url, count: int, seed: int) -> Site:
    site = Site(tmp_path / "root", db_url, random.Random(seed), log_dir=tmp_path)
    site.setup()
    for i in range(count):
        try:
            site.cycle(i)
        except InvariantError as exc:
            raise AssertionError(f"seed {seed}, cycle {i}: {exc}\n{site.stats.summary()}") from None
    print(site.stats.summary())
    return site


def test_kill_cycles_lose_nothing_and_apply_nothing_twice(tmp_path, db_url):
    site = _cycles(tmp_path, db_url, CYCLES, SEED)
    stats = site.stats
    assert stats.cycles == CYCLES
    if CYCLES >= 2 * len(POINTS):
        # every phase really was interrupted at least once
        missing = [p for p in POINTS if stats.kills[p] == 0]
        assert not missing, f"no kill landed at {missing}\n{stats.summary()}"


@pytest.mark.slow
def test_soak(tmp_path, db_url):
    _cycles(tmp_path, db_url, SOAK_CYCLES, SEED + 1)


def test_checker_sees_damage(fault_site):
    """The invariants are not vacuous: a half-written `.arl`, an input lost, a B2 file cut short
    and a file applied twice are each reported."""
    site = fault_site
    site.drop_mix()
    assert site.run().returncode == 0
    site.drop("B2REQUEST", b"*\r\n", "request")  # the dossiers validated by the first pass
    assert site.run().returncode == 0
    site.check_settled()
    arl_dir = site.root / "out" / "arl"
    victim = sorted(arl_dir.iterdir())[-1]
    good = victim.read_bytes()
    victim.write_bytes(good[: len(good) // 2])
    with pytest.raises(InvariantError, match="differs from flux_file.arl_text"):
        site.check_anytime()
    victim.write_bytes(good)
    archived = next(p for p in (site.root / "archive").rglob("*") if p.is_file())
    data = archived.read_bytes()
    archived.unlink()
    with pytest.raises(InvariantError, match="not in in/ nor in its destination"):
        site.check_anytime()
    archived.write_bytes(data)
    b2_file = next((site.root / "out" / "b2").iterdir())
    content = b2_file.read_bytes()
    b2_file.write_bytes(content[:-130])
    with pytest.raises(InvariantError, match="incomplete B2 file"):
        site.check_anytime()
    b2_file.write_bytes(content)
    site.check_settled()
    site.query("UPDATE flux_file SET applied = false WHERE id = (SELECT max(id) FROM flux_file "
               "WHERE applied AND flux = 'VIDHOSP') RETURNING id")
    with pytest.raises(InvariantError, match="dossier line of a file not applied"):
        site.check_anytime()
