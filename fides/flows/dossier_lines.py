"""VIDHOSP, RSS and FICHCOMP: lines that create or replace parts of dossiers (DESIGN.md §3).

Each line is recognised (layout and version) and checked field by field. Good lines are applied
in chunks: the chunk's dossiers are created (EN_COURS) or locked, lines of dossiers no longer
EN_COURS are refused one by one (PARTIEL), the previous version of the replaced part is kept as
history, and the lines are COPYed once into dossier_line. Memory stays flat in the file's size.
A file with any format error keeps nothing: the engine rolls its savepoint back, and once such an
error is seen the remaining lines are only checked, not written. A large file is read and checked
in a helper process while this one applies its chunks (see HELPER_BYTES).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import queue
import threading
from dataclasses import dataclass
from multiprocessing import reduction
from typing import Callable

import psycopg

from fides import dossiers
from fides.errors import Finding
from fides.flows import register
from fides.flows.base import FileJob, Flow, Outcome
from fides.layouts import Layout, LayoutError, detect
from fides.store import sql


@dataclass(frozen=True)
class Part:
    """Which part of a dossier a flow replaces, and where its key and dates are."""

    kind: str
    entry: str | None
    exit: str | None
    subtype: Callable[[Layout, str], str]
    per_subtype: bool  # FICHCOMP replaces only the lines of its own type
    single_line: bool  # one current line per dossier (VIDHOSP): the file's last one wins
    span_dates: bool  # the dossier's dates are the span of its lines (RSS), else the last line's
    touch: str


PARTS = {
    "VIDHOSP": Part("VIDHOSP", "date_entree", "date_sortie", lambda lay, line: lay.part(line),
                    False, True, False, sql.TOUCH_DOSSIERS_FROM_VIDHOSP),
    "RSS": Part("RSS", "date_entree_um", "date_sortie_um", lambda lay, line: "", False, False, True,
                sql.TOUCH_DOSSIERS_FROM_RSS),
    "FICHCOMP": Part("FICHCOMP", None, None, lambda lay, line: line[9:11], True, False, False, sql.TOUCH_DOSSIERS),
}

CHUNK_LINES = 10_000  # lines applied per round of statements: bounds memory, amortises round trips
_SAVEPOINTS_MAX = 48  # chunks that may create their dossiers in a savepoint (see _Applier._create)
_ISO: dict[str, str | None] = {}
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\r": "\\r", "\n": "\\n"})


@dataclass(frozen=True)
class _Keys:
    """Where, in a line of one layout, are the few fields the merge needs (0-based slices)."""

    finess: slice | None
    nda: slice
    entry: slice | None
    exit: slice | None

    @classmethod
    def of(cls, layout: Layout, part: Part) -> "_Keys":
        at = {f.name: slice(f.start - 1, f.start - 1 + f.length) for f in layout.fields if f.zone is None}
        return cls(at.get("finess_epmsi"), at["num_admin_sejour"], at[part.entry] if part.entry else None,
                   at[part.exit] if part.exit else None)


def _iso(text: str) -> str | None:
    """JJMMAAAA (already checked) as ISO text; few distinct values: cached."""
    found = _ISO.get(text, "")
    if found == "":
        found = None if not text.strip() else dt.date(int(text[4:8]), int(text[2:4]), int(text[0:2])).isoformat()
        _ISO[text] = found
    return found


def _pack(values) -> str:
    """Values as one text for string_to_array(…, chr(31), ''): None as an empty element."""
    return "\x1f".join("" if v is None else str(v) for v in values)


def _unpack(text: str | None) -> list[str]:
    """The elements of a string_agg(…, chr(31)) answer; NULL (no row) is none."""
    return text.split("\x1f") if text is not None else []


def _row(kind: str, subtype: str, layout: str, line_no: int, text: str, file_id: int) -> str:
    """A line's dossier_line row (sql.COPY_LINES) without its leading dossier_id and trailing
    `current` (known only once its dossier is created or locked)."""
    return f"\t{kind}\t{subtype}\t{layout}\t{line_no}\t{_copy_text(text)}\t{file_id}\t{line_no}\t"


def _copy_text(value: str) -> str:
    return value.translate(_COPY_ESCAPE) if ("\\" in value or "\t" in value or "\r" in value) else value


# A checked line waiting to be applied: (line_no, nda, subtype, row, entry, exit); `row` is its
# dossier_line row for COPY but the dossier's id in front and `current` at the end (`_row`),
# made by the reader: the applying side, which waits on PostgreSQL, only completes it.
_Line = tuple


class _Applier:
    """Applies a file's good lines chunk by chunk, in the file's transaction. Refusals are kept
    as (line_no, nda, state) for the caller: the applier may run on another thread."""

    def __init__(self, job: FileJob, part: Part) -> None:
        self.job, self.part = job, part
        self.cause = dossiers.Cause(job.actor, job.file_id, None, job.name)
        self.applied = 0
        self.savepoints = 0
        self.fresh = True  # every dossier of the file so far was new (a first send)
        self.refusals: list[tuple[int, str, int]] = []

    def apply(self, chunk: list[_Line]) -> None:
        job, conn = self.job, self.job.conn
        spans = self._spans(chunk)
        ids: dict[str, int] = {}
        locked: dict[str, int] = {}
        existing: list[str] = []
        # While a file brings only new dossiers, they are inserted straight away: looking them up
        # first cost 1.6 s of a million-line first send. Once one exists, or a chunk of the file
        # had one, existing dossiers are looked up and locked first (an index lookup each), then
        # the missing ones created: cheaper than ON CONFLICT for all when most exist (RSS after
        # VIDHOSP, a resend).
        created = self._create(list(spans), spans) if self.fresh else None
        self.fresh = created is not None
        if created is None:
            existing = self._lock(list(spans), ids, locked)
            missing = [n for n in spans if n not in ids and n not in locked]
            created = (self._create(missing, spans) or self._create_carefully(missing, spans)) if missing else {}
            raced = [n for n in missing if n not in created]  # created meanwhile by another process
            if raced:
                existing += self._lock(raced, ids, locked)
        ids.update(created)
        self._touch(chunk, existing, ids, spans)
        dossiers.record_created(conn, list(created.values()), self.cause, job.now)
        self._write(chunk, ids, locked)

    def _create(self, ndas: list[str], spans) -> dict[str, int] | None:
        """Creates the dossiers `ndas`, all of them, in a savepoint; {nda: id}, or None when one
        of them exists (nothing created) or no savepoint is left."""
        # Each savepoint that writes takes one of the 64 subtransaction slots PostgreSQL keeps per
        # transaction; past them, other sessions' snapshots slow down: huge files finish carefully.
        if self.savepoints >= _SAVEPOINTS_MAX:
            return None
        self.savepoints += 1
        try:
            with self.job.conn.transaction():
                return self._insert(sql.CREATE_DOSSIERS, ndas, spans)
        except psycopg.errors.UniqueViolation:
            return None  # the savepoint is rolled back

    def _create_carefully(self, missing: list[str], spans) -> dict[str, int]:
        """Creates those of the dossiers `missing` that another process did not create meanwhile."""
        return self._insert(sql.CREATE_DOSSIERS_RACED, missing, spans)

    def _insert(self, statement: str, ndas: list[str], spans) -> dict[str, int]:
        job = self.job
        ids, created = job.conn.execute(statement, {
            "finess": job.config.finess, "at": job.now, "file_id": job.file_id, "nda": _pack(ndas),
            "entry": _pack(spans[n][0] for n in ndas), "exit": _pack(spans[n][1] for n in ndas)}).fetchone()
        return dict(zip(_unpack(created), map(int, _unpack(ids))))

    def _lock(self, ndas: list[str], ids: dict[str, int], locked: dict[str, int]) -> list[str]:
        """Locks the existing dossiers among `ndas`: EN_COURS ones go to `ids` (and are returned),
        the others to `locked` with their state."""
        open_ = []
        found = self.job.conn.execute(sql.LOCK_DOSSIERS, {"finess": self.job.config.finess, "nda": _pack(ndas)})
        id_texts, nda_texts, states = found.fetchone()
        for i, nda, state in zip(_unpack(id_texts), _unpack(nda_texts), map(int, _unpack(states))):
            if state == dossiers.EN_COURS:
                ids[nda] = int(i)
                open_.append(nda)
            else:
                locked[nda] = state
        return open_

    def _spans(self, chunk: list[_Line]) -> dict[str, tuple[str | None, str | None]]:
        """Per dossier of the chunk: (entry, exit) of its last line, or of all its lines (RSS)."""
        spans: dict[str, tuple[str | None, str | None]] = {}
        if not self.part.span_dates:
            for ln in chunk:
                spans[ln[1]] = (ln[4], ln[5])
            return spans
        for _, nda, _, _, entry, exit_ in chunk:
            seen = spans.get(nda)
            if seen is None:
                spans[nda] = (entry, exit_)
            else:  # ISO dates compare as text; None (blank) never wins
                spans[nda] = (min(filter(None, (seen[0], entry)), default=None),
                              max(filter(None, (seen[1], exit_)), default=None))
        return spans

    def _touch(self, chunk: list[_Line], existing: list[str], ids: dict[str, int], spans) -> None:
        """Existing EN_COURS dossiers: previous lines of the part retired, dossier to validate."""
        if not existing:
            return
        job, part = self.job, self.part
        if part.per_subtype:
            wanted = set(existing)
            pairs = sorted({(ids[ln[1]], ln[2]) for ln in chunk if ln[1] in wanted})
        else:
            pairs = sorted((ids[n], "") for n in existing)
        scope = "AND dl.subtype = k.subtype" if part.per_subtype else ""
        job.conn.execute(sql.RETIRE_LINES.format(scope=scope), {
            "at": job.now, "kind": part.kind, "file_id": job.file_id, "single": part.single_line,
            "id": _pack(p[0] for p in pairs), "subtype": _pack(p[1] for p in pairs)})
        job.conn.execute(part.touch, {"at": job.now, "id": _pack(ids[n] for n in existing),
                                      "entry": _pack(spans[n][0] for n in existing),
                                      "exit": _pack(spans[n][1] for n in existing)})

    def _write(self, chunk: list[_Line], ids: dict[str, int], locked: dict[str, int]) -> None:
        job, part = self.job, self.part
        last = {ln[1]: ln[0] for ln in chunk} if part.single_line else None
        rows = []
        for line_no, nda, _, row, _, _ in chunk:
            state = locked.get(nda)
            if state is not None:
                self.refusals.append((line_no, nda, state))
                continue
            rows.append(f"{ids[nda]}{row}{'t' if last is None or last[nda] == line_no else 'f'}\n")
        self.applied += len(rows)
        if rows:
            with job.conn.cursor().copy(sql.COPY_LINES) as copy:
                copy.write("".join(rows))


class _Behind:
    """Runs `apply` on a second thread, one chunk behind the reader: PostgreSQL creates dossiers
    and stores lines while the next chunk is read and checked (measured: 100 000 VIDHOSP lines
    from 4.7 s to 2.1 s; the applying side is now the slower one). At most two chunks wait, so
    memory stays bounded."""

    def __init__(self, apply: Callable[[list[_Line]], None]) -> None:
        self._apply = apply
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="fides-apply", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self._apply(chunk)
                except BaseException as exc:  # handed to the reader, which raises it
                    self.error = exc

    def put(self, chunk: list[_Line]) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(chunk)

    def close(self) -> None:
        """Waits for every chunk to be applied (or dropped after an error), then raises it."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


def _read(lines, part: Part, file_id: int, finess: str, name_finess: str | None, refs, findings,
          put: Callable[[list[_Line]], None], chunk_lines: int) -> int:
    """Check every line of `lines` ((line_no, text) pairs); hand the good ones to `put` by chunks
    while the file has no blocking error; `findings` gets every finding. Returns the number of
    lines read."""
    keys_of: dict[Layout, _Keys] = {}
    read = 0
    chunk: list[_Line] = []
    # A small first chunk: the applying side starts after ~1 000 lines, not 10 000 (in a fresh
    # helper, 0.06 s instead of 0.2 s of checking, layouts compiled, before anything is applied).
    limit = max(1, chunk_lines // 10)
    for line_no, text in lines:
        read += 1
        try:
            layout = detect(part.kind, text)
        except LayoutError as exc:
            findings.extend(_at(exc.findings, line_no))
            continue
        found = layout.check(text, refs, line_no)
        if found:
            findings.extend(found)
            if any(f.blocking for f in found):
                continue
            if any(f.code == "FMT102" for f in found):  # right-trimmed by an editor: store it whole
                text = layout.render(layout.parse(text))
        keys = keys_of.get(layout) or keys_of.setdefault(layout, _Keys.of(layout, part))
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
        subtype = _copy_text(part.subtype(layout, text))
        chunk.append((line_no, nda, subtype, _row(part.kind, subtype, layout.name, line_no, text, file_id),
                      _iso(text[keys.entry]) if keys.entry else None,
                      _iso(text[keys.exit]) if keys.exit else None))
        if len(chunk) >= limit:
            put(chunk)
            chunk, limit = [], chunk_lines
    if chunk and not findings.blocking:
        put(chunk)
    return read


# --- large files: read and checked in a helper process ---------------------------------------
# With the reading thread and the applying one in one process, each waited for the other's
# interpreter lock: 100 000 VIDHOSP lines were applied in 1.95 s instead of 1.34 s when applied
# alone. From HELPER_BYTES up, a helper process reads and checks the file (the same `_read`, the
# same file descriptor, handed over) and sends its chunks and findings through a pipe; this
# process applies each chunk as it comes, in the file's transaction. Smaller files stay in process:
# a fork costs more than checking them. Helpers are forked by a server that has already imported
# fides (multiprocessing's "forkserver"): no interpreter start per file, no inherited connection.
HELPER_BYTES = 8 << 20
_FINDINGS_BATCH = 5_000
_HELPERS = multiprocessing.get_context("forkserver")
_HELPERS.set_forkserver_preload(["fides.flows"])
helper_peak_kib = 0  # the largest peak memory of this process's helpers (fides bench adds it to its own)


def peak_kib() -> int:
    """This process's peak resident memory (VmHWM), in KiB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


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


def _check_in_helper(channel, kind: str, file_id: int, finess: str, name_finess: str | None,
                     refs: dict | None, sizes: tuple[int, int]) -> None:
    """The helper process: reads the file whose descriptor comes first on `channel`, then sends
    ("findings", [...]) and ("chunk", [...]) in file order, and ("done", (lines read, its peak
    memory in KiB)) or ("error", exception) last. `sizes`: lines per chunk, findings per batch (the caller's)."""
    from fides.engine.process import read_lines  # the engine imports the flows: not at import time

    fd = reduction.recv_handle(channel)
    findings = _Forwarded(channel, sizes[1])

    def put(chunk: list[_Line]) -> None:
        findings.flush()  # a chunk's findings before it, as in process
        channel.send(("chunk", chunk))

    try:
        read = _read(read_lines(fd), PARTS[kind], file_id, finess, name_finess, refs, findings, put, sizes[0])
        findings.flush()
        channel.send(("done", (read, peak_kib())))
    except Exception as exc:  # the engine's own refusals (a line too long) are raised again there
        channel.send(("error", exc))
    finally:
        os.close(fd)
        channel.close()


def _read_in_helper(job: FileJob, part: Part, apply: Callable[[list[_Line]], None]) -> int:
    global helper_peak_kib
    codes = job.context.get("codes")
    refs = {table: codes[table] for table in codes} if codes is not None else None
    here, there = _HELPERS.Pipe()
    helper = _HELPERS.Process(target=_check_in_helper, name="fides-check", daemon=True,
                              args=(there, part.kind, job.file_id, job.config.finess, job.name_finess, refs,
                                    (CHUNK_LINES, _FINDINGS_BATCH)))
    helper.start()
    there.close()
    # Received on a thread: the helper sends the next chunk while this one is applied (a chunk
    # is larger than a pipe holds: received here only between two chunks, each waited ~8 ms).
    incoming: queue.Queue = queue.Queue(maxsize=2)
    receiver = threading.Thread(target=_receive, args=(here, incoming), name="fides-receive", daemon=True)
    try:
        reduction.send_handle(here, job.fd, helper.pid)
        receiver.start()
        while True:
            what, value = incoming.get()
            if what == "chunk":
                apply(value)
            elif what == "findings":
                job.findings.extend(value)
            elif what == "done":
                helper_peak_kib = max(helper_peak_kib, value[1])
                return value[0]
            elif what == "lost":
                helper.join(5)
                raise RuntimeError(f"le processus de contrôle de {job.name} s'est arrêté (code {helper.exitcode})")
            else:
                raise value
    finally:
        helper.join(0 if receiver.is_alive() else 5)
        if helper.is_alive():  # stopped early (an error here): its end of the pipe closes
            helper.kill()
            helper.join()
        while receiver.is_alive():  # it ends at the pipe's end; make room for its last message
            _drain(incoming)
            receiver.join(0.05)
        here.close()


def _receive(channel, incoming: queue.Queue) -> None:
    """Puts the helper's messages in `incoming` until its last one, or ("lost", None)."""
    try:
        while True:
            message = channel.recv()
            incoming.put(message)
            if message[0] in ("done", "error"):
                return
    except (EOFError, OSError):
        incoming.put(("lost", None))


def _drain(incoming: queue.Queue) -> None:
    try:
        while True:
            incoming.get_nowait()
    except queue.Empty:
        pass

def _at(findings, line_no: int) -> list[Finding]:
    return [Finding(f.code, f.message, line_no, f.position) for f in findings]


def _handler(part: Part) -> Callable[[FileJob], Outcome]:
    def handle(job: FileJob) -> Outcome:
        job.conn.execute(sql.PLAN_BY_INDEX)  # until the file's savepoint ends
        applier = _Applier(job, part)
        if job.size >= HELPER_BYTES and job.fd is not None:
            read = _read_in_helper(job, part, applier.apply)
        else:
            behind = _Behind(applier.apply)
            try:
                read = _read(job.read_lines(), part, job.file_id, job.config.finess, job.name_finess,
                             job.context.get("codes"), job.findings, behind.put, CHUNK_LINES)
            finally:
                behind.close()  # the connection is the reader's again only once the thread is idle
        if read == 0:
            job.findings.add(Finding("FIC001"))
        if read == 0 or job.findings.blocking:
            return Outcome("KO", read, 0, read)  # the engine rolls back what chunks were applied
        for line_no, nda, state in applier.refusals:
            job.findings.add(Finding("DOS001", f"dossier {nda} à l'état {dossiers.STATE_NAMES[state]}", line_no))
        refused = len(applier.refusals)
        return Outcome("PARTIEL" if refused else "OK", read, applier.applied, refused)

    return handle


for _name, _part in PARTS.items():
    register(Flow(_name, data=True, handle=_handler(_part)))
