"""Reading and checking the lines of a VIDHOSP, RSS or FICHCOMP file (fides.flows.dossier_lines
applies them).

Each line is recognised (layout and version) and checked field by field; the good ones are handed
over by chunks, each line already made into its dossier_line row. A large file is read and
checked in a helper process (`read_in_helper`) while the file's transaction, in this process,
applies the chunks as they come.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import queue
import threading
from dataclasses import dataclass, field
from itertools import chain
from multiprocessing import reduction
from typing import Callable, Iterable

from fides import helpers
from fides.errors import Finding
from fides.flows.base import Block
from fides.layouts import Layout, LayoutError, detect
from fides.layouts.values import Cache
from fides.store import binary

CHUNK_LINES = 10_000  # lines per chunk, applied in one round: bounds memory, amortises round trips
# A chunk that creates dossiers takes one of the file's savepoints; once dossier_lines._SAVEPOINTS_MAX
# (48) are used, each chunk looks its dossiers up first and creates them with ON CONFLICT (86 ms
# instead of 51 ms per 10 000 VIDHOSP lines). A large file read in a helper is therefore cut in at
# most FILE_CHUNKS chunks (room for a line length estimated a sixth off), of at most
# CHUNK_BYTES_MAX of lines (memory: ~30 000 VIDHOSP lines, enough for 1 200 000 in 40 chunks):
# 1 000 000 VIDHOSP lines in 41 chunks instead of 101, 14.9 → 12.7 s.
FILE_CHUNKS = 40
CHUNK_BYTES_MAX = 16 << 20

# A checked line waiting to be applied: (line_no, nda, subtype, row, entry, exit); `row` is the
# part of its dossier_line row in binary COPY format (sql.COPY_LINES, fides.store.binary) that the
# line alone gives (kind, subtype, layout, line). The applying side, which waits on PostgreSQL,
# completes it: the dossier's id in front (known once it is created or locked), the line's number,
# the file's id and `current` behind. The reader needs neither the file's id nor a database: it
# may start before the file is recorded (Checker, read early).
Line = tuple


@dataclass(frozen=True)
class _Keys:
    """Where, in a line of one layout, are the few fields the merge needs (0-based slices), and
    the row's fields before the line: kind, subtype and layout (see Line)."""

    finess: slice | None
    nda: slice
    entry: slice | None
    exit: slice | None
    kind: bytes  # the kind's and the layout's fields, the subtype's between them
    layout: bytes
    heads: dict = field(default_factory=dict)  # subtype -> the three fields

    @classmethod
    def of(cls, layout: Layout, part, encoding: str) -> "_Keys":
        at = {f.name: slice(f.start - 1, f.start - 1 + f.length) for f in layout.fields if f.zone is None}
        return cls(at.get("finess_epmsi"), at["num_admin_sejour"], at[part.entry] if part.entry else None,
                   at[part.exit] if part.exit else None, binary.text(part.kind.encode(encoding)),
                   binary.text(layout.name.encode(encoding)))

    def head(self, subtype: str, encoding: str) -> bytes:
        head = self.heads.get(subtype)
        if head is None:
            head = self.heads[subtype] = self.kind + binary.text(subtype.encode(encoding)) + self.layout
        return head


def _iso(text: str) -> str | None:
    """JJMMAAAA (already checked) as ISO text."""
    return None if not text.strip() else dt.date(int(text[4:8]), int(text[2:4]), int(text[0:2])).isoformat()


_ISO = Cache(_iso)  # few distinct dates: a dict hit each


def read(blocks: Iterable[Block], part, finess: str, name_finess: str | None, refs, findings,
         put: Callable[[list[Line]], None], chunk_lines: int, encoding: str) -> int:
    """Check every line of `blocks` (flows.base.Block) as lines of `part` (a dossier_lines.Part);
    hand the good ones to `put` by chunks while the file has no blocking error; `findings` gets
    every finding; rows' texts in `encoding` (the connection's, a Python codec name). Returns the
    number of lines read."""
    keys_of: dict[Layout, _Keys] = {}
    count = 0
    chunk: list[Line] = []
    # A small first chunk: the applying side starts after ~1 000 lines, not 10 000 (in a fresh
    # helper, 0.06 s instead of 0.2 s of checking, layouts compiled, before anything is applied).
    limit = max(1, chunk_lines // 10)
    for first, texts, plain in blocks:
        count += len(texts)
        for line_no, text in enumerate(texts, first):
            try:
                layout = detect(part.kind, text)
            except LayoutError as exc:
                findings.extend(_at(exc.findings, line_no))
                continue
            found = layout.check(text, refs, line_no, plain)
            if found:
                findings.extend(found)
                if any(f.blocking for f in found):
                    continue
                if any(f.code == "FMT102" for f in found):  # right-trimmed by an editor: store it whole
                    text = layout.render(layout.parse(text))
            keys = keys_of.get(layout) or keys_of.setdefault(layout, _Keys.of(layout, part, encoding))
            line_finess = text[keys.finess].strip() if keys.finess else name_finess
            if line_finess != finess:
                findings.add(Finding("FMT013", f"{line_finess or 'absent'} au lieu de {finess}", line_no,
                                     keys.finess.start + 1 if keys.finess else 0))
                continue
            nda = text[keys.nda].strip()
            if not nda:
                findings.add(Finding("FMT012", "", line_no, keys.nda.start + 1))
                continue
            if findings.blocking:
                continue  # the file will keep nothing: checking the rest is enough
            subtype = part.subtype(layout, text)
            stored = text.encode(encoding)
            row = b"".join((keys.head(subtype, encoding), binary.length(len(stored)), stored))
            chunk.append((line_no, nda, subtype, row,
                          _ISO[text[keys.entry]] if keys.entry else None, _ISO[text[keys.exit]] if keys.exit else None))
            if len(chunk) >= limit:
                put(chunk)
                chunk, limit = [], chunk_lines
    if chunk and not findings.blocking:
        put(chunk)
    return count


def chunk_lines_for(file_bytes: int, block: Block | None, least: int, most_bytes: int, chunks: int) -> int:
    """Lines per chunk for a file of `file_bytes` bytes whose first block is `block`: `least` at
    least, and enough for the whole file to make `chunks` chunks, up to `most_bytes` a chunk."""
    if block is None or not block[1]:
        return least
    lines = block[1]
    sample = sum(map(len, lines)) + len(lines)  # a terminator each
    expected = -(-file_bytes * len(lines) // sample)
    return max(least, min(most_bytes * len(lines) // sample, -(-expected // chunks)))


def _at(findings, line_no: int) -> list[Finding]:
    return [Finding(f.code, f.message, line_no, f.position) for f in findings]


# --- large files: read and checked in a helper process ---------------------------------------
# With the reading thread and the applying one in one process, each waited for the other's
# interpreter lock: 100 000 VIDHOSP lines were applied in 1.95 s instead of 1.34 s when applied
# alone. From HELPER_BYTES up, a helper process reads and checks the file (the same `read`, the
# same file descriptor, handed over) and sends its chunks and findings through a pipe; this
# process applies each chunk as it comes, in the file's transaction. Smaller files stay in process:
# a fork costs more than checking them. Helpers are forked by fides.helpers' server.
HELPER_BYTES = 8 << 20
_FINDINGS_BATCH = 5_000
# A chunk crosses the pipe in pieces: pickled whole, a 25 000-line chunk took ~35 MB more on each
# side for the time of its (un)pickling.
_PIECE_LINES = 2_000


class _Forwarded:
    """The helper's side of a FindingSink: counts blocking findings, sends them in batches."""

    def __init__(self, channel, batch: int) -> None:
        self.blocking = 0
        self._channel = channel
        self._size = batch
        self._batch: list[Finding] = []

    def add(self, finding: Finding) -> None:
        self.blocking += finding.blocking
        self._batch.append(finding)
        if len(self._batch) >= self._size:
            self.flush()

    def extend(self, findings) -> None:
        for f in findings:
            self.add(f)

    def flush(self) -> None:
        if self._batch:
            self._channel.send(("findings", self._batch))
            self._batch = []


def _check_in_helper(channel, kind: str, finess: str, name_finess: str | None, refs: dict | None,
                     sizes: tuple[int, int, int, int], encoding: str) -> None:
    """The helper process: reads the file whose descriptor comes first on `channel`, then sends
    ("findings", [...]) and each chunk as ("piece", [...])… ("chunk", None) in file order, and
    ("done", (lines read, (its peak memory in KiB, its CPU seconds))) or ("error", exception) last.
    `sizes`: the fewest lines and the most bytes per chunk, the chunks wanted for the whole file,
    findings per batch (the caller's settings); `encoding`: the rows' texts' (see `read`)."""
    from fides.engine.process import read_blocks  # the engine imports the flows: not at import time
    from fides.flows.dossier_lines import PARTS

    fd = reduction.recv_handle(channel)
    least, most_bytes, chunks, batch = sizes
    findings = _Forwarded(channel, batch)

    def put(chunk: list[Line]) -> None:
        findings.flush()  # a chunk's findings before it, as in process
        for at in range(0, len(chunk), _PIECE_LINES):  # pickled a piece at a time (memory)
            _send_plain(channel, ("piece", chunk[at:at + _PIECE_LINES]))
        channel.send(("chunk", None))

    try:
        blocks = read_blocks(fd)
        first = next(blocks, None)  # its mean line length tells how many lines the file has
        chunk_lines = chunk_lines_for(os.fstat(fd).st_size, first, least, most_bytes, chunks)
        count = read(chain([first] if first else [], blocks), PARTS[kind], finess, name_finess, refs, findings,
                     put, chunk_lines, encoding)
        findings.flush()
        channel.send(("done", (count, helpers.usage())))
    except Exception as exc:  # the engine's own refusals (a line too long) are raised again there
        channel.send(("error", exc))
    finally:
        os.close(fd)
        channel.close()


def _send_plain(channel, message) -> None:
    """`channel.send(message)` for plain values, pickled by pickle itself: Connection.send's
    pickler (multiprocessing's, with its own reducers) took 1.0 µs a line of a chunk instead of
    0.17 (2 000 VIDHOSP lines, measured), 0.8 s of a helper's time for a million lines. The
    receiving end's `recv` unpickles it as any message."""
    channel.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))


class Checker:
    """A helper process reading and checking a file (its descriptor handed over), its messages
    received on a thread of this process. It writes nothing: it may start while the engine hashes
    the file (Flow.read_early), and `apply_all` takes its chunks once the file's transaction is
    ready for them. Always closed (idempotent): a helper still running is stopped."""

    def __init__(self, kind: str, fd: int, finess: str, name_finess: str | None, codes, encoding: str) -> None:
        refs = {table: codes[table] for table in codes} if codes is not None else None
        self._here, there = helpers.CONTEXT.Pipe()
        self._helper = helpers.CONTEXT.Process(
            target=_check_in_helper, name="fides-check", daemon=True,
            args=(there, kind, finess, name_finess, refs, (CHUNK_LINES, CHUNK_BYTES_MAX, FILE_CHUNKS, _FINDINGS_BATCH),
                  encoding))
        self._helper.start()
        there.close()
        # Received on a thread: the helper sends the next chunk while this one is applied. One
        # chunk waits, the next is being put together: a third one would only cost memory.
        self._incoming: queue.Queue = queue.Queue(maxsize=1)
        self._receiver = threading.Thread(target=_receive, args=(self._here, self._incoming), name="fides-receive",
                                          daemon=True)
        self._closed = False
        try:
            reduction.send_handle(self._here, fd, self._helper.pid)
            self._receiver.start()
        except BaseException:
            self.close()
            raise

    def apply_all(self, apply: Callable[[list[Line]], None], findings, name: str) -> int:
        """`apply` gets the chunks as they come, `findings` the findings; returns the number of
        lines read."""
        while True:
            what, value = self._incoming.get()
            if what == "chunk":
                apply(value)
            elif what == "findings":
                findings.extend(value)
            elif what == "done":
                helpers.account(*value[1])
                return value[0]
            elif what == "lost":
                self._helper.join(5)
                raise RuntimeError(f"le processus de contrôle de {name} s'est arrêté (code {self._helper.exitcode})")
            else:
                raise value

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        helper, receiver = self._helper, self._receiver
        helper.join(0 if receiver.is_alive() else 5)
        if helper.is_alive():  # stopped early (an error here, a duplicate): its end of the pipe closes
            helper.kill()
            helper.join()
        while receiver.is_alive():  # it ends at the pipe's end; make room for its last message
            _drain(self._incoming)
            receiver.join(0.05)
        self._here.close()


def read_in_helper(job, part, apply: Callable[[list[Line]], None]) -> int:
    """Reads and checks the file of `job` (a FileJob) in a helper process, the one started while
    it was hashed if any (`job.early`); `apply` gets its chunks here, as they come. Returns the
    number of lines read."""
    checker = job.early or Checker(
        part.kind, job.fd, job.config.finess, job.name_finess, job.context.get("codes"), job.conn.info.encoding)
    try:
        return checker.apply_all(apply, job.findings, job.name)
    finally:
        checker.close()


def _receive(channel, incoming: queue.Queue) -> None:
    """Puts the helper's messages in `incoming` until its last one, or ("lost", None); a chunk's
    pieces are put together first."""
    pieces: list[Line] = []
    try:
        while True:
            what, value = channel.recv()
            if what == "piece":
                pieces += value
                continue
            if what == "chunk":
                value, pieces = pieces, []
            incoming.put((what, value))
            if what in ("done", "error"):
                return
    except (EOFError, OSError):
        incoming.put(("lost", None))


def _drain(incoming: queue.Queue) -> None:
    try:
        while True:
            incoming.get_nowait()
    except queue.Empty:
        pass
