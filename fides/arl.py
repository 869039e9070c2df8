"""The acknowledgement of an input file (DESIGN.md §4), rendered from values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from fides.errors import Finding

STATUSES = ("OK", "KO", "PARTIEL")


@dataclass(frozen=True)
class Acknowledgement:
    flux: str
    name: str
    status: str
    lines_read: int
    lines_integrated: int
    lines_refused: int
    at: dt.datetime

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(self.status)


def _field(text: str) -> str:
    # A `;` or a line break inside a message would break the record for every reader.
    return text.replace(";", ",").replace("\r", " ").replace("\n", " ")


def render(ack: Acknowledgement, findings: Sequence[Finding], total_errors: int, max_errors: int) -> str:
    lines = [
        ";".join(
            (
                "ARL",
                ack.flux,
                _field(ack.name),
                ack.status,
                str(ack.lines_read),
                str(ack.lines_integrated),
                str(ack.lines_refused),
                f"{ack.at:%Y%m%d%H%M%S}",
            )
        )
    ]
    for f in findings[:max_errors]:
        lines.append(f"ERR;{f.line_no};{f.position};{f.code};{f.severity};{_field(f.text())}")
    if total_errors > max_errors:
        more = Finding("FIC012", f"{total_errors - max_errors} autres messages non écrits")
        lines.append(f"ERR;0;0;{more.code};{more.severity};{_field(more.text())}")
    return "\n".join(lines) + "\n"


def arl_name(input_name: str) -> str:
    """`X.txt` is acknowledged by `X.txt.arl`; unprintable characters never reach a file name."""
    safe = "".join(c if c.isprintable() and c not in "/\\" else "_" for c in input_name)
    return safe + ".arl"
