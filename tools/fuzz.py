#!/usr/bin/env python3
"""Fuzz every parser fides runs on input it does not control, with hypothesis.

    .venv/bin/python tools/fuzz.py --examples 100000     # ~3-4 min on 2 cores
    .venv/bin/python tools/fuzz.py --examples 1000000 --only lines,noemie

The targets and their generators are those of tests/unit/test_fuzz.py (the default test run does
20 000 inputs in all); this command runs the same targets with a larger budget, split between
them in the same proportions, and prints how many inputs each really ran. Any input that ends in
an exception other than a clean, coded error is shrunk by hypothesis and printed; the exit status
is then 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {
    "lines": "test_layouts_detect_check_parse",
    "noemie": "test_noemie_reader",
    "control": "test_control_flow_readers",
    "b2": "test_b2_reader",
    "names": "test_file_name_rules",
    "arl": "test_arl_renderer",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100_000, help="inputs in all (split between targets)")
    parser.add_argument("--only", default="", help=f"comma-separated targets among {', '.join(TARGETS)}")
    args = parser.parse_args(argv)
    os.environ["FIDES_FUZZ_EXAMPLES"] = str(args.examples)  # read by test_fuzz at import
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "unit"))
    import test_fuzz

    chosen = [t for t in (args.only.split(",") if args.only else TARGETS) if t]
    failed = []
    started = time.monotonic()
    for target in chosen:
        t0 = time.monotonic()
        try:
            getattr(test_fuzz, TARGETS[target])()
            outcome = "ok"
        except Exception:
            failed.append(target)
            outcome = "FAILED"
            traceback.print_exc()
        print(f"{target:8} {test_fuzz.RUNS[target]:9} inputs  {time.monotonic() - t0:7.1f} s  {outcome}", flush=True)
    total = sum(test_fuzz.RUNS[t] for t in chosen)
    print(f"{total} inputs in {time.monotonic() - started:.0f} s; "
          + (f"FAILED: {', '.join(failed)}" if failed else "every one ended in a clean result or a coded error"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
