"""VIDHOSP, RSS and FICHCOMP: lines that create or replace parts of dossiers (DESIGN.md §3).

Each line is recognised (layout and version) and checked field by field (fides.flows.reading, in
a helper process for a large file). Good lines are applied in chunks: the chunk's dossiers are
created (EN_COURS) or locked, lines of dossiers no longer EN_COURS are refused one by one
(PARTIEL), the previous version of the replaced part is kept as history, and the lines are COPYed
once into dossier_line. Memory stays flat in the file's size.
A file with any format error keeps nothing: the engine rolls its savepoint back, and once such an
error is seen the remaining lines are only checked, not written.
"""

from __future__ import annotations

import queue
import struct
import threading
from dataclasses import dataclass, field
from typing import Callable

import psycopg

from fides import dossiers
from fides.errors import Finding
from fides.flows import reading, register
from fides.flows.base import FileJob, Flow, Opened, Outcome
from fides.flows.reading import Line
from fides.layouts import Layout
from fides.layouts.values import Cache
from fides.store import binary, sql


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
    bit: int  # in dossier.line_kinds


PARTS = {
    "VIDHOSP": Part("VIDHOSP", "date_entree", "date_sortie", Layout.part,
                    False, True, False, sql.TOUCH_DOSSIERS_FROM_VIDHOSP, 1),
    "RSS": Part("RSS", "date_entree_um", "date_sortie_um", lambda lay, line: "", False, False, True,
                sql.TOUCH_DOSSIERS_FROM_RSS, 2),
    "FICHCOMP": Part("FICHCOMP", None, None, lambda lay, line: line[9:11], True, False, False, sql.TOUCH_DOSSIERS, 4),
}

_SAVEPOINTS_MAX = 48  # chunks that may create their dossiers in a savepoint (see _Applier._create)
_COPY_ROWS = 2_000  # a chunk's rows go to COPY by slices: joined whole, they would cost their size again
# Rows in binary COPY format (fides.store.binary): the field count, then the first field, an id
_ROW_HEAD = struct.Struct(">hiq")
_LINE_TAIL = struct.Struct(">iiiqiiib")  # a line's last fields: seq (int4), file_id (int8), line_no, current
_DATES = Cache(binary.date)  # ISO text (None: NULL) -> its field


def _pack(values) -> str:
    """Values as one text for string_to_array(…, chr(31), ''): None as an empty element."""
    return "\x1f".join("" if v is None else str(v) for v in values)


def _unpack(text: str | None) -> list[str]:
    """The elements of a string_agg(…, chr(31)) answer; NULL (no row) is none."""
    return text.split("\x1f") if text is not None else []


@dataclass
class _Found:
    """A chunk's dossiers, as they were created or locked."""

    ids: dict[str, int] = field(default_factory=dict)  # N° -> id of the EN_COURS ones, new ones included
    existing: list[str] = field(default_factory=list)  # the N°s of the EN_COURS ones that existed, in lock order
    tids: list[str] = field(default_factory=list)  # their ctids, in the same order
    holding: list[str] = field(default_factory=list)  # those of them with lines of this kind (line_kinds)
    locked: dict[str, int] = field(default_factory=dict)  # N° -> state, the dossiers not EN_COURS


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

    def apply(self, chunk: list[Line]) -> None:
        job, conn = self.job, self.job.conn
        spans = self._spans(chunk)
        found = _Found()
        # While a file brings only new dossiers, they are inserted straight away: looking them up
        # first cost 1.6 s of a million-line first send. Once one of them exists (or the file's
        # savepoints are used up), existing dossiers are looked up and locked first (an index
        # lookup each), then the missing ones created: cheaper than ON CONFLICT for all when most
        # exist (RSS after VIDHOSP, a resend).
        created = self._create(list(spans), spans) if self.fresh else None
        self.fresh = created is not None
        if created is None:
            self._lock(list(spans), found, "ctid")
            missing = [n for n in spans if n not in found.ids and n not in found.locked]
            created = (self._create(missing, spans) or self._create_carefully(missing, spans)) if missing else {}
            raced = [n for n in missing if n not in created]  # created (or updated) meanwhile by another process
            if raced:
                self._lock(raced, found, "id")
        found.ids.update(created)
        self._touch(chunk, found, spans)
        dossiers.record_created(conn, list(created.values()), self.cause, job.now)
        self._write(chunk, found)

    def _create(self, ndas: list[str], spans) -> dict[str, int] | None:
        """Creates the dossiers `ndas`, all of them, in a savepoint; {nda: id}, or None when one
        of them exists (nothing created) or no savepoint is left."""
        # Each savepoint that writes takes one of the 64 subtransaction slots PostgreSQL keeps per
        # transaction; past them, other sessions' snapshots slow down: huge files finish carefully.
        if self.savepoints >= _SAVEPOINTS_MAX:
            return None
        self.savepoints += 1
        conn = self.job.conn
        try:
            with conn.transaction():
                ids = conn.execute(sql.RESERVE_DOSSIER_IDS, [len(ndas)]).fetchone()[0]
                created = dict(zip(ndas, map(int, _unpack(ids))))
                self._copy_dossiers(created, spans)
                return created
        except psycopg.errors.UniqueViolation:
            return None  # the savepoint is rolled back

    def _copy_dossiers(self, created: dict[str, int], spans) -> None:
        """The new dossiers `created` ({N°: id}) as sql.COPY_DOSSIERS rows, dated by `spans`."""
        job, head, encoding = self.job, _ROW_HEAD.pack, self.job.conn.info.encoding
        finess = binary.text(job.config.finess.encode(encoding))
        tail = binary.timestamptz(job.now) + binary.int8(job.file_id) + binary.int2(self.part.bit)
        ndas = list(created)
        with job.conn.cursor().copy(sql.COPY_DOSSIERS) as copy:
            copy.write(binary.HEADER)
            for at in range(0, len(ndas), _COPY_ROWS):
                pieces: list[bytes] = []
                for n in ndas[at:at + _COPY_ROWS]:
                    entry, exit_ = spans[n]
                    nda = n.encode(encoding)
                    pieces += (head(8, 8, created[n]), finess, binary.length(len(nda)), nda, _DATES[entry],
                               _DATES[exit_], tail)
                copy.write(b"".join(pieces))
            copy.write(binary.TRAILER)

    def _create_carefully(self, missing: list[str], spans) -> dict[str, int]:
        """Creates those of the dossiers `missing` that another process did not create meanwhile."""
        job = self.job
        ids, created = job.conn.execute(sql.CREATE_DOSSIERS_RACED, {
            "finess": job.config.finess, "at": job.now, "file_id": job.file_id, "nda": _pack(missing),
            "entry": _pack(spans[n][0] for n in missing), "exit": _pack(spans[n][1] for n in missing),
            "bit": self.part.bit}).fetchone()
        return dict(zip(_unpack(created), map(int, _unpack(ids))))

    def _lock(self, ndas: list[str], found: _Found, key: str) -> None:
        """Locks the existing dossiers among `ndas` into `found`, found by `key` (sql.LOCK_DOSSIERS)."""
        job = self.job
        ids, en_cours, tids, holding, others, states = job.conn.execute(sql.LOCK_DOSSIERS.format(key=key), {
            "finess": job.config.finess, "nda": _pack(ndas), "en_cours": dossiers.EN_COURS,
            "bit": self.part.bit}).fetchone()
        existing = _unpack(en_cours)
        found.ids.update(zip(existing, map(int, _unpack(ids))))
        found.existing += existing
        found.tids += _unpack(tids)
        found.holding += _unpack(holding)
        found.locked.update(zip(_unpack(others), map(int, _unpack(states))))

    def _spans(self, chunk: list[Line]) -> dict[str, tuple[str | None, str | None]]:
        """Per dossier of the chunk: (entry, exit) of its last line, or of all its lines (RSS)."""
        spans: dict[str, tuple[str | None, str | None]] = {}
        if not self.part.span_dates:
            for ln in chunk:
                spans[ln[1]] = (ln[4], ln[5])
            return spans
        for _, nda, _, _, entry, exit_ in chunk:  # ISO dates compare as text; a blank one never wins
            seen = spans.get(nda)
            if seen is None:
                spans[nda] = (entry, exit_)
            else:
                first, last = seen
                if entry and (not first or entry < first):
                    first = entry
                if exit_ and (not last or exit_ > last):
                    last = exit_
                spans[nda] = (first, last)
        return spans

    def _touch(self, chunk: list[Line], found: _Found, spans) -> None:
        """Existing EN_COURS dossiers: previous lines of the part retired, dossier to validate."""
        existing = found.existing
        if not existing:
            return
        job, part = self.job, self.part
        if found.holding:
            self._retire(chunk, found)
        dates = part.entry is not None
        job.conn.execute(part.touch, {"at": job.now, "tid": "\x1f".join(found.tids),
                                      "entry": "\x1f".join([spans[n][0] or "" for n in existing]) if dates else None,
                                      "exit": "\x1f".join([spans[n][1] or "" for n in existing]) if dates else None,
                                      "bit": part.bit})

    def _retire(self, chunk: list[Line], found: _Found) -> None:
        """The current lines of the part that the chunk's lines replace, on the dossiers holding
        lines of its kind (`found.holding`): only they can have some (RSS after VIDHOSP skips 1.2 s
        of probes per million dossiers)."""
        job, part, ids = self.job, self.part, found.ids
        if part.per_subtype:
            wanted = set(found.holding)
            pairs = sorted({(ids[ln[1]], ln[2]) for ln in chunk if ln[1] in wanted})
        else:
            pairs = sorted((ids[n], "") for n in found.holding)
        scope = "AND dl.subtype = k.subtype" if part.per_subtype else ""
        job.conn.execute(sql.RETIRE_LINES.format(scope=scope), {
            "at": job.now, "kind": part.kind, "file_id": job.file_id, "single": part.single_line,
            "id": _pack(p[0] for p in pairs), "subtype": _pack(p[1] for p in pairs)})

    def _write(self, chunk: list[Line], found: _Found) -> None:
        ids, locked = found.ids, found.locked
        if locked:
            self.refusals += [(ln[0], ln[1], locked[ln[1]]) for ln in chunk if ln[1] in locked]
            chunk = [ln for ln in chunk if ln[1] not in locked]
        last = {ln[1]: ln[0] for ln in chunk} if self.part.single_line else None
        head, tail, file_id = _ROW_HEAD.pack, _LINE_TAIL.pack, self.job.file_id
        with self.job.conn.cursor().copy(sql.COPY_LINES) as copy:
            copy.write(binary.HEADER)
            for at in range(0, len(chunk), _COPY_ROWS):
                pieces: list[bytes] = []
                for line_no, nda, _, row, _, _ in chunk[at:at + _COPY_ROWS]:
                    pieces += (head(9, 8, ids[nda]), row,
                               tail(4, line_no, 8, file_id, 4, line_no, 1, last is None or last[nda] == line_no))
                copy.write(b"".join(pieces))
                self.applied += len(pieces) // 3
            copy.write(binary.TRAILER)


class _Behind:
    """Runs `apply` on a second thread, one chunk behind the reader: PostgreSQL creates dossiers
    and stores lines while the next chunk is read and checked (measured: 100 000 VIDHOSP lines
    from 4.7 s to 2.1 s; the applying side is now the slower one). At most two chunks wait, so
    memory stays bounded."""

    def __init__(self, apply: Callable[[list[Line]], None]) -> None:
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

    def put(self, chunk: list[Line]) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(chunk)

    def close(self) -> None:
        """Waits for every chunk to be applied (or dropped after an error), then raises it."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


def _handler(part: Part) -> Callable[[FileJob], Outcome]:
    def handle(job: FileJob) -> Outcome:
        job.conn.execute(sql.PLAN_BY_INDEX)  # until the file's savepoint ends
        applier = _Applier(job, part)
        if job.size >= reading.HELPER_BYTES and job.fd is not None:
            read = reading.read_in_helper(job, part, applier.apply)
        else:
            behind = _Behind(applier.apply)
            try:
                read = reading.read(job.read_blocks(), part, job.config.finess, job.name_finess,
                                    job.context.get("codes"), job.findings, behind.put, reading.CHUNK_LINES,
                                    job.conn.info.encoding)
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


def _read_early(part: Part) -> Callable[[Opened], reading.Checker | None]:
    def start(opened: Opened) -> reading.Checker | None:
        """A large file's checking helper, started while the engine hashes the file."""
        if opened.size < reading.HELPER_BYTES:
            return None
        return reading.Checker(part.kind, opened.fd, opened.config.finess, opened.name_finess,
                               opened.context.get("codes"), opened.encoding)

    return start


for _name, _part in PARTS.items():
    register(Flow(_name, data=True, handle=_handler(_part), read_early=_read_early(_part)))
