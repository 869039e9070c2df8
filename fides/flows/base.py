"""What every flow module provides, and what the engine hands it.

A flow is registered once in `fides.flows.REGISTRY` (the plug-in table). The engine owns the file
(claim, hash, transaction, `.arl`, move); the flow owns the meaning of the lines.
"""

from __future__ import annotations

import datetime as dt
import pickle
import tempfile
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator, Protocol

import psycopg

from fides.config import Config
from fides.engine.tree import Tree
from fides.errors import Finding


class FindingSink:
    """Collects a file's findings: the first `keep` in memory for the `.arl`, every one counted
    and kept as a row for `file_error`. Past `spill_after` rows, batches go to an unnamed
    temporary file (mode 0600, gone with the process): a million-line file wrong on every line
    would otherwise hold its million findings in memory (measured: 250 MiB at 300 000 lines).
    Messages never carry a NIR (the codec shows "valeur" for sensitive fields)."""

    def __init__(self, keep: int, spill_after: int = 10_000) -> None:
        self.keep = keep
        self.kept: list[Finding] = []
        self.total = 0
        self.blocking = 0
        self._spill_after = spill_after
        self._rows: list[tuple] = []
        self._spilled: BinaryIO | None = None

    def add(self, finding: Finding) -> None:
        self.total += 1
        if finding.blocking:
            self.blocking += 1
        if len(self.kept) < self.keep:
            self.kept.append(finding)
        self._rows.append((finding.line_no, finding.position, finding.code, finding.severity, finding.text()))
        if len(self._rows) >= self._spill_after:
            if self._spilled is None:
                self._spilled = tempfile.TemporaryFile(prefix="fides-findings-")
            pickle.dump(self._rows, self._spilled, protocol=pickle.HIGHEST_PROTOCOL)
            self._rows = []

    def extend(self, findings) -> None:
        for f in findings:
            self.add(f)

    def rows(self) -> Iterator[tuple]:
        """Every finding as (line_no, position, code, severity, text), in the order added."""
        if self._spilled is not None:
            self._spilled.seek(0)
            while True:
                try:
                    batch = pickle.load(self._spilled)  # our own file, written just above
                except EOFError:
                    break
                yield from batch
        yield from self._rows

    def close(self) -> None:
        if self._spilled is not None:
            self._spilled.close()
            self._spilled = None


# The lines of a file a block at a time (engine.process.read_blocks): (number of its first line,
# its lines without terminator, plain: no line has a character str.isprintable refuses).
Block = tuple[int, list[str], bool]


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
    read_blocks: Callable[[], Iterator[Block]]
    findings: FindingSink
    actor: str
    context: dict = field(default_factory=dict)  # shared per pass: referentials, code sets
    fd: int | None = None  # the open file read_blocks reads (a large one is read by a helper process)
    size: int = 0
    early: Early | None = None  # what the flow's read_early started for this file while it was hashed

    def read_lines(self) -> Iterator[tuple[int, str]]:
        """(1-based line number, text without terminator), line by line."""
        for first, lines, _ in self.read_blocks():
            yield from enumerate(lines, first)


@dataclass
class Outcome:
    status: str  # OK, KO, PARTIEL
    lines_read: int = 0
    lines_integrated: int = 0
    lines_refused: int = 0
    outputs: list = field(default_factory=list)  # (path, bytes) written atomically after commit


@dataclass(frozen=True)
class Opened:
    """A file the engine opened and is about to hash: what a flow may start reading it from."""

    fd: int
    size: int
    config: Config
    context: dict
    name_finess: str | None
    encoding: str  # the connection's, a Python codec name


class Early(Protocol):
    def close(self) -> None:
        """Stops what was started; once its flow used it, does nothing."""


@dataclass(frozen=True)
class Flow:
    name: str
    data: bool  # a data flow: content already applied under another name is a duplicate
    handle: Callable[[FileJob], Outcome]
    sniff: Callable[[bytes], bool] | None = None  # recognise raw content with no known name prefix
    # Starts reading a file named for this flow while the engine hashes it, writing nothing: the
    # handle finds it in FileJob.early; the engine closes it whatever happens (a duplicate…)
    read_early: Callable[[Opened], Early | None] | None = None
