"""`fides process` (like every command that opens the installation, `fides run` included) starts
by removing the temporary files that writers killed mid-write left in out/ and archive/, and
only those old enough to have no writer left."""

from __future__ import annotations

import os
import time

from fides.engine.tree import TEMP_PREFIX


def test_process_removes_old_leftovers_and_keeps_a_live_writers_file(site):
    old = time.time() - 2 * 3600
    dead = [site.root / "out" / "arl" / f"{TEMP_PREFIX}gap-02-9181-9181-X.txt.arl",
            site.root / "archive" / "2025" / "03" / f"{TEMP_PREFIX}gap-02-9181-9181-X.txt.fenc"]
    live = site.root / "out" / "arl" / f"{TEMP_PREFIX}gap-03-77-77-Y.txt.arl"
    for path in (*dead, live):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    for path in dead:
        os.utime(path, (old, old))

    site.process()

    assert [p for p in dead if p.exists()] == []
    assert live.read_bytes() == b"half"
