"""`fides …` (same arguments) with one more fault point, inside `Tree.write_atomic`, which
fides/engine/faults.py does not instrument (fides/engine/tree.py is not part of the harness):

    FIDES_FAULT_TMP=<n>   at the n-th atomic write of this process, once the temporary file is
                          written and fsynced, cut it to half its size and SIGKILL the process
                          before the rename: a crash in the middle of writing an output.

Only the renames of atomic writes' temporary files (TEMP_PREFIX) count: a staged B2 file put in
place (Tree.unstage) was whole and fsynced before its transaction committed, and no crash can
halve it then (cutting it would fake a loss fides cannot have).
"""

from __future__ import annotations

import os
import signal
import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fides.engine import tree  # noqa: E402

_at = int(os.environ.get("FIDES_FAULT_TMP", "0"))
_count = 0


def _replace(src, dst, *args, **kwargs):
    global _count
    if Path(src).name.startswith(tree.TEMP_PREFIX):
        _count += 1
        if _count == _at:
            os.truncate(src, os.stat(src).st_size // 2)
            os.kill(os.getpid(), signal.SIGKILL)
    return os.replace(src, dst, *args, **kwargs)


if _at:
    # Only the tree module sees the patched `replace`; everything else keeps the real `os`.
    proxy = types.ModuleType("os")
    proxy.__dict__.update(os.__dict__)
    proxy.replace = _replace
    tree.os = proxy

if __name__ == "__main__":
    from fides.cli import main

    sys.exit(main())
