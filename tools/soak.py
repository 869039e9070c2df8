#!/usr/bin/env python3
"""Crash-safety soak: many seeded kill/restart cycles against real processes, files and PostgreSQL.

    .venv/bin/python tools/soak.py --cycles 1000            # ~35 min on 2 cores
    .venv/bin/python tools/soak.py --cycles 200 --seed 7    # another sequence
    FIDES_TEST_DATABASE_URL=postgresql://… tools/soak.py    # on another server

Each cycle drops a random mix of files (new dossiers' VIDHOSP / RSS / FICHCOMP, the same content
under other names, bad files, STATEREQUEST, B2REQUEST), runs `fides process` (or `fides run
--poll`) with a SIGKILL planted at a named point of one phase, restarts, and checks the
invariants of docs/robustness.md after every kill and every clean restart
(tests/fault/faultkit.py). A new root and database are started every `--per-site` cycles, so
that lot numbers (001-999) and check times stay bounded. Exit status 1 at the first broken
invariant, with the seed and cycle to replay it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fault"))

import faultkit  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-site", type=int, default=100, help="cycles per fresh root + database")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="fides-soak-"))
    server = os.environ.get("FIDES_TEST_DATABASE_URL")
    if not server:
        from fides.store.db import embedded_url

        server = embedded_url(work / "pgdata")
    corpus = faultkit.Corpus()
    totals = faultkit.Stats()
    started = time.monotonic()
    done = 0
    site_no = 0
    status = 0
    try:
        while done < args.cycles:
            site_no += 1
            seed = args.seed * 100_000 + site_no
            url = faultkit.make_database(server, f"fides_soak_{site_no}")
            base = work / f"site{site_no}"
            base.mkdir()
            site = faultkit.Site(base / "root", url, random.Random(seed), corpus, log_dir=base)
            site.setup()
            count = min(args.per_site, args.cycles - done)
            for i in range(count):
                try:
                    site.cycle(i)
                except faultkit.InvariantError as exc:
                    print(f"BROKEN: site seed {seed}, cycle {i}: {exc}", file=sys.stderr)
                    status = 1
                    break
            _merge(totals, site.stats)
            done += site.stats.cycles
            print(f"[{time.monotonic() - started:7.0f}s] {done}/{args.cycles} cycles", flush=True)
            if status:
                args.keep = True
                break
            shutil.rmtree(base, ignore_errors=True)
    finally:
        print(totals.summary())
        print(f"{time.monotonic() - started:.0f} s; work directory {work}"
              + (" (kept)" if args.keep else " (removed)"))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return status


def _merge(total: faultkit.Stats, one: faultkit.Stats) -> None:
    total.cycles += one.cycles
    total.runs += one.runs
    total.temp_leftovers += one.temp_leftovers
    for name in ("kills", "tried", "files"):
        getattr(total, name).update(getattr(one, name))


if __name__ == "__main__":
    sys.exit(main())
