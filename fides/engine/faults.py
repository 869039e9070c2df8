"""Fault injection for the crash-safety tests (docs/robustness.md): a no-op unless the environment
variable FIDES_FAULT_POINT is set.

    FIDES_FAULT_POINT="<point>:<n>[:<action>][,<point>:<n>[:<action>]…]"

The engine calls `point(name)` at named places; at the n-th pass through `<point>` in this
process the action happens:

    kill    (default) SIGKILL this very process: no `finally`, no atexit, no flush, like a crash
    enospc  raise OSError(ENOSPC) at that pass and every later one ("disk full"), as long as the
            file `$FIDES_FAULT_DIR/full` exists (always when FIDES_FAULT_DIR is unset)
    pause   create `$FIDES_FAULT_DIR/<point>.reached`, then wait until `$FIDES_FAULT_DIR/<point>.go`
            exists (lets a test act at an exact moment, e.g. change a file being read)

Points (fides/engine/process.py): `read` (each input line read, passed for a block of lines as the
block is read: parsing and COPY), `handled` (the flow has run), `commit` (just before a file's
transaction commits), `committed` (just after), `moved` (input moved, outputs not written),
`write-arl`, `write-b2`, `write-reports` (before an output is written), `written` (output on disk,
its pending row not yet dropped), `finish` (before a file is marked finished), `recover` (before an
unfinished file is completed), `hook` (before each after-pass job: validation).
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

_SPEC = os.environ.get("FIDES_FAULT_POINT", "")
_plan: dict[str, tuple[int, str]] = {}
for _item in filter(None, (s.strip() for s in _SPEC.split(","))):
    _name, _n, *_action = _item.split(":")
    _plan[_name] = (int(_n), _action[0] if _action else "kill")
_hits: dict[str, int] = {}


def armed(name: str) -> bool:
    """Whether a fault is planned at `name` (a caller may then pass it once per item)."""
    return name in _plan


def point(name: str) -> None:
    """The engine passes a named point; see the module docstring."""
    if not _plan or name not in _plan:
        return
    _hits[name] = hits = _hits.get(name, 0) + 1
    at, action = _plan[name]
    if hits == at and action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif hits == at and action == "pause":
        folder = Path(os.environ["FIDES_FAULT_DIR"])
        (folder / f"{name}.reached").touch()
        while not (folder / f"{name}.go").exists():
            time.sleep(0.01)
    elif hits >= at and action == "enospc":
        folder = os.environ.get("FIDES_FAULT_DIR")
        if folder is None or os.path.exists(os.path.join(folder, "full")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
