"""Input file names: `<FLUX>_<FINESS>_<AAAAMMJJHHMMSS>_<NNNN>.<ext>` (DESIGN.md §2)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_NAME = re.compile(r"^(?P<flux>[A-Z0-9]+)_(?P<finess>[0-9][0-9AB][0-9]{7})_(?P<ts>[0-9]{14})_(?P<seq>[0-9]{4})(?:\..*)?$")


@dataclass(frozen=True)
class InputName:
    flux: str
    finess: str | None
    stamp: dt.datetime | None
    seq: int | None
    conforming: bool


def parse(name: str, known: frozenset[str]) -> InputName | None:
    """The flux a name announces, or None when no known prefix starts it."""
    m = _NAME.match(name)
    if m and m["flux"] in known:
        try:
            stamp = dt.datetime.strptime(m["ts"], "%Y%m%d%H%M%S")
        except ValueError:
            stamp = None
        return InputName(m["flux"], m["finess"], stamp, int(m["seq"]), stamp is not None)
    prefix = name.split("_", 1)[0].split(".", 1)[0]
    if prefix in known:
        return InputName(prefix, None, None, None, False)
    return None


def is_temporary(name: str) -> bool:
    """A producer still writing: leading dot, or a `.tmp`/`.part` suffix."""
    return name.startswith(".") or name.endswith((".tmp", ".part", "~"))


def is_dangerous(name: str) -> bool:
    return ".." in name or any(not c.isprintable() for c in name) or "/" in name or "\\" in name
