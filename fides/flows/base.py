"""What every flow module provides, and what the engine hands it.

A flow is registered once in `fides.flows.REGISTRY` (the plug-in table). The engine owns the file
(claim, hash, transaction, `.arl`, move); the flow owns the meaning of the lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterator

import psycopg

from fides.config import Config
from fides.engine.tree import Tree
from fides.errors import Finding


class FindingSink:
    """Collects a file's findings: the first `keep` in memory for the `.arl`, every one counted."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.kept: list[Finding] = []
        self.all: list[tuple] = []
        self.total = 0
        self.blocking = 0

    def add(self, finding: Finding) -> None:
        self.total += 1
        if finding.blocking:
            self.blocking += 1
        if len(self.kept) < self.keep:
            self.kept.append(finding)
        self.all.append((finding.line_no, finding.position, finding.code, finding.severity, finding.text()))

    def extend(self, findings) -> None:
        for f in findings:
            self.add(f)


@dataclass
class FileJob:
    conn: psycopg.Connection
    config: Config
    tree: Tree
    name: str
    flux: str
    name_finess: str | None
    file_id: int
    now: dt.datetime
    read_lines: Callable[[], Iterator[tuple[int, str]]]  # (1-based line number, text without terminator)
    findings: FindingSink
    actor: str
    context: dict = field(default_factory=dict)  # shared per pass: referentials, code sets


@dataclass
class Outcome:
    status: str  # OK, KO, PARTIEL
    lines_read: int = 0
    lines_integrated: int = 0
    lines_refused: int = 0
    outputs: list = field(default_factory=list)  # (path, bytes) written atomically after commit


@dataclass(frozen=True)
class Flow:
    name: str
    data: bool  # a data flow: content already applied under another name is a duplicate
    handle: Callable[[FileJob], Outcome]
    sniff: Callable[[bytes], bool] | None = None  # recognise raw content with no known name prefix
