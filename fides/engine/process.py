"""One pass over the inbox: claim, check, apply in one transaction, then acknowledge and move.

Exactly-once rests on three rules:
1. a file's effects, its `flux_file` row (name + content hash) and the outputs it causes commit
   together, or not at all;
2. the file is moved, and its outputs written, only after that commit; a process that dies in
   between leaves an unfinished row that the next pass completes (`recover`);
3. a file is claimed with a PostgreSQL advisory lock held by the session, so two processes never
   handle the same name, and a dead process's claim vanishes with its connection.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import os
import socket
import stat
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import psycopg

from fides import arl, audit, flows
from fides.config import Config
from fides.engine import faults
from fides.engine.tree import Tree
from fides.errors import Finding
from fides.flows.base import Block, FileJob, FindingSink, Flow, Opened, Outcome
from fides.flows.naming import is_dangerous, is_temporary, parse
from fides.store import sql

log = logging.getLogger(__name__)

CHUNK = 1 << 20
SNIFF_BYTES = 128
# Longer than any line of any layout (an RSS with 99 diagnoses and 999 acts is ~30 kB) or any
# plausible NOEMIE file written on one line. Fix (fault tests): a file with no line break was accumulated
# whole, with a copy per 1 MiB read (quadratic: a 2 GiB one-line file never finished and took
# gigabytes); it is now refused once a line passes this size.
MAX_LINE_BYTES = 16 << 20


# Lock conflicts with another process (each class named: DeadlockDetected is not a subclass of
# TransactionRollback in psycopg 3.3): the file's transaction was rolled back, not the connection.
_CONFLICTS = (psycopg.errors.TransactionRollback, psycopg.errors.DeadlockDetected,
              psycopg.errors.SerializationFailure, psycopg.errors.LockNotAvailable)


@dataclass
class PassReport:
    processed: list[tuple[str, str, str]] = field(default_factory=list)  # (name, flux, status)
    waiting: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # names left for a later pass by an error (logged)


class _Rollback(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


class _Changed(Exception):
    """The file changed while it was read: nothing is kept, it is read again later."""


class _LineTooLong(Exception):
    """A line longer than MAX_LINE_BYTES: nothing is kept, the file is refused."""

    def __init__(self, line_no: int) -> None:
        super().__init__(line_no)  # pickled as its arguments: raised again from a helper process
        self.line_no = line_no


# Stop a pass on these (the disk or the quota is full, the tree is read-only): later files would
# fail the same way. Anything committed is finished by `recover` at a later pass.
_STOP_PASS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}




def db_name(name: str) -> str:
    """The name as stored and claimed in the database. Fix (hostile tests): a name that is not
    UTF-8 (a producer writing latin-1 names) reaches Python with surrogates, which PostgreSQL
    text cannot hold: the claim raised UnicodeEncodeError and stopped the pass (and `fides run`)
    for good. Such bytes are written `\\xNN`; the name is refused as dangerous anyway."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate no file system gives (found by tests/unit/test_fuzz.py)
            return name.encode("utf-8", "backslashreplace").decode("utf-8")


def actor() -> str:
    return f"fides@{socket.gethostname()}:{os.getpid()}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _local(at: dt.datetime) -> dt.datetime:
    """Timestamps in `.arl` and file names are in the establishment's local time."""
    return at.astimezone().replace(tzinfo=None)


# The latin-1 bytes of a plain line: those str.isprintable accepts (not the C0/C1 controls, DEL,
# NBSP (0xA0) nor the soft hyphen (0xAD)). Whatever a block keeps once these are deleted tells, in
# C, whether any of its lines has a character the line check would refuse
# (tests/integration/test_read_blocks.py checks the table byte by byte).
_PLAIN = bytes(b for b in range(256) if chr(b).isprintable())


def read_blocks(fd: int) -> Iterator[Block]:
    """The file's lines without their terminator (LF or CRLF), as latin-1 text (every byte maps to
    one character: a line written back is byte-identical to the one read), a block of about CHUNK
    bytes at a time. A block is `plain` when none of its lines has a character that
    str.isprintable refuses: checked on the whole block, ~0.2 µs a VIDHOSP line instead of 1.2 for
    the check."""
    rest = b""
    number = offset = 0
    while chunk := os.pread(fd, CHUNK, offset):  # at its own offset: the engine may hash it meanwhile
        offset += len(chunk)
        data = rest + chunk
        end = data.rfind(b"\n") + 1
        rest = data[end:]
        if end:
            number = yield from _block(data[:end], number)
        if len(rest) > MAX_LINE_BYTES:
            raise _LineTooLong(number + 1)
    if rest:
        yield from _block(rest + b"\n", number)


def _block(data: bytes, number: int):
    """Yields the block of the lines of `data` (complete lines, each ending with LF); returns the
    number of its last line."""
    left = data.translate(None, _PLAIN)  # the LFs, the CRs and any other character: few
    lf, cr = left.count(b"\n"), left.count(b"\r")
    text = data.decode("latin-1")
    if cr == lf and len(lines := text.split("\r\n")) == lf + 1:
        crlf = lf  # every line ends with CRLF, and there is no other CR (the usual file)
    else:
        lines = text.split("\n")
        crlf = data.count(b"\r\n") if cr else 0
        if crlf:
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    lines.pop()  # after the last terminator
    if faults.armed("read"):
        for _ in lines:
            faults.point("read")
    yield number + 1, lines, len(left) == lf + cr and cr == crlf  # plain: nothing else, no lone CR
    return number + len(lines)


def _digest(fd: int) -> tuple[str, bytes, bool]:
    """(sha256, first bytes, contains a NUL byte)."""
    h = hashlib.sha256()
    head = b""
    nul = False
    offset = 0
    while chunk := os.pread(fd, CHUNK, offset):  # at its own offset: a helper may read it meanwhile
        offset += len(chunk)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        nul = nul or b"\0" in chunk
        h.update(chunk)
    return h.hexdigest(), head, nul


class Processor:
    """Processes the inbox of one root with one database connection."""

    def __init__(self, config: Config, conn: psycopg.Connection, context: dict | None = None,
                 after_pass: list[Callable[["Processor"], None]] | None = None) -> None:
        self.config = config
        self.conn = conn
        self.tree = Tree(config.root, config["security.file_mode"], config["security.dir_mode"])
        self.actor = actor()
        self.context = context if context is not None else {}
        self.after_pass = after_pass or []
        self._recover_failed = ""  # what the last `recover` could not finish (logged)
        # name -> (size, mtime_ns) when its writer closed it (filled by `fides run`'s watcher)
        self.closed: dict[str, tuple[int, int]] = {}

    # --- the pass ---------------------------------------------------------------------------

    def run_pass(self) -> PassReport:
        report = PassReport()
        # While outputs cannot be written (disk full), new inputs stay in in/ untouched.
        arrivals = self._arrivals() if self.recover() else []
        if self._recover_failed:
            report.errors.append(self._recover_failed)
        for entry in arrivals:
            try:
                result = self.process(entry)
            except OSError as exc:
                # Fix (disk-full tests): an I/O error (ENOSPC writing an .arl…) went up through
                # `run_pass` and stopped `fides run`. The file's transaction, if any, committed
                # or rolled back whole; what committed is finished by `recover` at a later pass.
                self._io_error(entry.name, exc)
                report.waiting.append(entry.name)
                report.errors.append(db_name(entry.name))
                if exc.errno in _STOP_PASS:
                    break
                continue
            except _CONFLICTS as exc:
                # A deadlock (or a lock timeout) with another process working on the same
                # dossiers, chunk after chunk: PostgreSQL rolled this file's transaction back
                # whole, the connection is fine. The file stays in in/ for the next pass.
                log.warning("%s: conflit de verrous avec un autre traitement (%s), fichier repris au "
                            "prochain passage", arl.arl_name(db_name(entry.name))[:-4], type(exc).__name__)
                report.waiting.append(entry.name)
                continue
            except (psycopg.OperationalError, psycopg.InterfaceError):
                raise  # the database is gone: `fides run` waits for it and reconnects
            except Exception as exc:
                # Fix (concurrency tests): one file's unexpected error (there, a UniqueViolation)
                # stopped the pass and `fides run` with it, so no other file was processed.
                # Its transaction rolled back; it stays in in/ and is tried again next pass.
                log.error("%s: erreur interne %s, fichier laissé dans in/ :\n%s", arl.arl_name(db_name(entry.name))[:-4],
                          type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
                report.waiting.append(entry.name)
                report.errors.append(db_name(entry.name))
                continue
            if result is None:
                report.waiting.append(entry.name)
            else:
                report.processed.append(result)
        for hook in self.after_pass:
            faults.point("hook")
            hook(self)
        return report

    @staticmethod
    def _io_error(name: str, exc: OSError) -> None:
        where = f" ({exc.filename})" if isinstance(exc.filename, str) else ""
        log.error("%s: %s%s%s; it will be retried at the next pass", arl.arl_name(db_name(name))[:-4],
                  exc.strerror or exc, where, ", pass stopped" if exc.errno in _STOP_PASS else "")

    def _arrivals(self) -> list[os.DirEntry]:
        """Inbox entries in arrival order (mtime, then name); producers' temporary names skipped."""
        keyed = []
        with os.scandir(self.tree.inbox) as it:
            for e in it:
                if is_temporary(e.name):
                    continue
                try:
                    keyed.append((e.stat(follow_symlinks=False).st_mtime_ns, e.name, e))
                except FileNotFoundError:
                    # Fix (several processes): moved by another process between the listing and
                    # this stat; the error used to abort the whole pass (and `fides run`).
                    continue
        return [e for _, _, e in sorted(keyed, key=lambda k: k[:2])]

    # --- one file ---------------------------------------------------------------------------

    def process(self, entry: os.DirEntry) -> tuple[str, str, str] | None:
        """Handle one inbox entry; None when it must wait (unstable, claimed elsewhere, changed)."""
        name = db_name(entry.name)
        if not self._claim(name):
            return None
        try:
            return self._process_claimed(Path(entry.path), name)
        finally:
            self._release(name)

    def _process_claimed(self, path: Path, name: str) -> tuple[str, str, str] | None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None  # taken and finished by another process meanwhile
        if is_dangerous(name):
            return self._refuse(path, name, "INCONNU", Finding("FIC005", repr(name)[1:-1]))
        if not stat.S_ISREG(st.st_mode):
            kind = "lien symbolique" if stat.S_ISLNK(st.st_mode) else "pas un fichier ordinaire"
            return self._refuse(path, name, "INCONNU", Finding("FIC004", kind))
        age = _now().timestamp() - st.st_mtime
        if age < self.config["inbox.stable_seconds"] and self.closed.get(name) != (st.st_size, st.st_mtime_ns):
            return None
        self.closed.pop(name, None)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM):
                # Unreadable for fides' user (the producer's mode or group): it will not fix itself.
                parsed = parse(name, flows.known_names())
                return self._refuse(path, name, parsed.flux if parsed else "INCONNU", Finding(
                    "FIC011", "permission refusée : vérifier les droits du fichier et le groupe ([security] group)"))
            log.warning("cannot open %s: %s", name, exc.strerror)
            return None
        try:
            return self._process_open(path, name, fd)
        finally:
            os.close(fd)

    def _process_open(self, path: Path, name: str, fd: int) -> tuple[str, str, str] | None:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return self._refuse(path, name, "INCONNU", Finding("FIC004", "pas un fichier ordinaire"))
        if st.st_size > self.config["inbox.max_file_bytes"]:
            return self._refuse(path, name, "INCONNU", Finding("FIC008", f"{st.st_size} octets"))
        parsed = parse(name, flows.known_names())
        early = self._read_early(parsed, fd, st)
        try:
            return self._process_read(path, name, fd, st, parsed, early)
        finally:
            if early is not None:
                early.close()

    def _read_early(self, parsed, fd: int, st: os.stat_result):
        """What the file's flow starts reading while the file is hashed (Flow.read_early), or None.
        Nothing is written before the hash is known and the duplicate check is done: a helper
        checking the lines of a large file meanwhile only gets ahead (1M VIDHOSP lines: their
        SHA-256 takes ~0.4 s, during which the checking helper, the slowest stage, waited)."""
        flow = flows.REGISTRY[parsed.flux] if parsed else None
        if flow is None or flow.read_early is None or (parsed.finess and parsed.finess != self.config.finess):
            return None
        return flow.read_early(Opened(fd, st.st_size, self.config, self.context, parsed.finess,
                                      self.conn.info.encoding))

    def _process_read(self, path: Path, name: str, fd: int, st: os.stat_result, parsed,
                      early) -> tuple[str, str, str] | None:
        sha, head, nul = _digest(fd)
        if self._finish_previous(path, name, sha):
            return None
        flow = flows.REGISTRY[parsed.flux] if parsed else flows.by_content(head)
        flux = flow.name if flow else "INCONNU"
        if st.st_size == 0:
            return self._refuse(path, name, flux, Finding("FIC001"), sha)
        if nul:
            return self._refuse(path, name, flux, Finding("FIC006", "octet nul"), sha)
        if flow is None:
            return self._refuse(path, name, flux, Finding("FIC002"), sha)
        if parsed and parsed.finess and parsed.finess != self.config.finess:
            return self._refuse(path, name, flux, Finding("FIC007", parsed.finess), sha)
        try:
            return self._apply(path, name, fd, st, sha, flow, parsed.finess if parsed else None,
                               conforming=bool(parsed and parsed.conforming), early=early)
        except _Changed:
            log.warning("%s changed while being read; it will be read again", name)
            return None
        except _LineTooLong as exc:
            return self._refuse(path, name, flux, Finding(
                "FIC008", f"ligne {exc.line_no} de plus de {MAX_LINE_BYTES} octets sans fin de ligne"), sha)

    def _apply(self, path: Path, name: str, fd: int, st: os.stat_result, sha: str, flow: Flow,
               name_finess: str | None, conforming: bool, early=None) -> tuple[str, str, str]:
        now = _now()
        sink = FindingSink(self.config["arl.max_errors"])
        if not conforming and flow.sniff is None:
            sink.add(Finding("FIC010", name))
        with self.conn.transaction():
            file_id = self._insert_file(name, flow.name, name_finess, sha, st)
            if flow.data:
                self.conn.execute(sql.LOCK_CONTENT, (sha,))
            duplicate = self.conn.execute(sql.APPLIED_WITH_HASH, (sha,)).fetchone() if flow.data else None
            if duplicate:
                sink.add(Finding("FIC003", f"déjà intégré sous le nom {duplicate[1]}"))
                outcome = Outcome("OK")
            else:
                job = FileJob(self.conn, self.config, self.tree, name, flow.name, name_finess, file_id, now,
                              lambda: read_blocks(fd), sink, self.actor, self.context, fd, st.st_size, early)
                outcome = self._run_flow(flow, job)
            self._check_unchanged(path, fd, st)
            destination = self.tree.rejected if outcome.status == "KO" else self.tree.archive(now)
            self._record(file_id, name, flow.name, outcome, sink, destination, now,
                         applied=flow.data and not duplicate and outcome.status != "KO",
                         duplicate_of=duplicate[0] if duplicate else None)
            faults.point("commit")
        faults.point("committed")
        self._complete(file_id, path, destination)
        log.info("file %s (%s): %s, %d read, %d integrated, %d refused", name, flow.name, outcome.status,
                 outcome.lines_read, outcome.lines_integrated, outcome.lines_refused)
        return name, flow.name, "DOUBLON" if duplicate else outcome.status

    def _run_flow(self, flow: Flow, job: FileJob) -> Outcome:
        try:
            with self.conn.transaction():  # savepoint: a KO file keeps nothing of its effects
                outcome = flow.handle(job)
                faults.point("handled")
                if outcome.status == "KO":
                    raise _Rollback(outcome)
                return outcome
        except _Rollback as rb:
            return rb.outcome

    def _check_unchanged(self, path: Path, fd: int, before: os.stat_result) -> None:
        after = os.fstat(fd)
        try:
            now_at_path = os.lstat(path)
        except FileNotFoundError:
            raise _Changed() from None
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or \
                now_at_path.st_ino != before.st_ino:
            raise _Changed()

    # --- refusals, records, outputs ----------------------------------------------------------

    def _refuse(self, path: Path, name: str, flux: str, finding: Finding, sha: str = "") -> tuple[str, str, str]:
        """A file refused before any line is read: KO `.arl`, input moved to rejected/."""
        now = _now()
        sink = FindingSink(self.config["arl.max_errors"])
        sink.add(finding)
        try:
            size = os.lstat(path).st_size
        except FileNotFoundError:
            size = 0
        with self.conn.transaction():
            file_id = self._insert_file(name, flux, None, sha, None, size)
            self._record(file_id, name, flux, Outcome("KO"), sink, self.tree.rejected, now, False, None)
            faults.point("commit")
        faults.point("committed")
        self._complete(file_id, path, self.tree.rejected)
        log.warning("file refused (%s): %s", finding.code, arl.arl_name(name))
        return name, flux, "KO"

    def _insert_file(self, name: str, flux: str, finess: str | None, sha: str,
                     st: os.stat_result | None, size: int = 0) -> int:
        received = dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc) if st else None
        return self.conn.execute(sql.INSERT_FILE, {
            "name": name, "flux": flux, "finess": finess, "sha256": sha,
            "size": st.st_size if st else size, "received_at": received, "processed_by": self.actor,
        }).fetchone()[0]

    def _record(self, file_id: int, name: str, flux: str, outcome: Outcome, sink: FindingSink,
                destination: Path, now: dt.datetime, applied: bool, duplicate_of: int | None) -> None:
        ack = arl.Acknowledgement(flux, name, outcome.status, outcome.lines_read, outcome.lines_integrated,
                                  outcome.lines_refused, _local(now))
        text = arl.render(ack, sink.kept, sink.total, self.config["arl.max_errors"])
        if sink.total:
            with self.conn.cursor().copy(sql.COPY_FILE_ERRORS) as copy:
                for row in sink.rows():
                    copy.write_row((file_id, *row))
            sink.close()
        self.conn.execute(sql.FINISH_FILE_RECORD, {
            "id": file_id, "status": "DOUBLON" if duplicate_of else outcome.status, "applied": applied,
            "duplicate_of": duplicate_of, "lines_read": outcome.lines_read,
            "lines_integrated": outcome.lines_integrated, "lines_refused": outcome.lines_refused,
            "errors_total": sink.total, "arl_text": text,
            "destination": self.tree.relative(destination), "at": now,
        })
        acknowledgement = (self.tree.arl / arl.arl_name(name), text.encode(self.config["arl.encoding"], "replace"))
        self.queue_outputs([acknowledgement, *outcome.outputs], file_id)
        event = "fichier_rejete" if outcome.status == "KO" else "fichier_integre"
        audit.append(self.conn, [audit.Event(event, self.actor, file_id=file_id,
                                             detail=f"{flux};{name};{outcome.status}")], now)

    def _complete(self, file_id: int, path: Path, destination: Path) -> None:
        """After commit: move the input, write its outputs, mark the file finished."""
        if os.path.lexists(path):
            self.tree.move_into(path, destination)
        faults.point("moved")
        self.write_outputs(file_id)
        faults.point("finish")
        with self.conn.transaction():
            self.conn.execute(sql.MARK_FINISHED, (file_id,))

    def queue_outputs(self, outputs: list[tuple[Path, bytes]], file_id: int | None = None) -> None:
        """Record outputs in the caller's transaction; `write_outputs` puts them on disk after commit."""
        for path, data in outputs:
            self.conn.execute(sql.ADD_OUTPUT, (self.tree.relative(path), data, file_id))

    def write_outputs(self, file_id: int | None) -> None:
        with self.conn.transaction():
            rows = self.conn.execute(sql.PENDING_OUTPUTS, (file_id,)).fetchall()
        for rel, part_ids, staged in rows:
            faults.point(f"write-{Path(rel).parent.name}")
            if staged is None:
                self.tree.write_atomic(self.tree.root / rel, map(self._output_part, part_ids))
            else:  # written and fsynced before the commit (a billing run's B2 lot): put in place
                self.tree.unstage(staged, self.tree.root / rel)
            faults.point("written")
            with self.conn.transaction():
                self.conn.execute(sql.DROP_OUTPUT, (part_ids,))

    def _output_part(self, part_id: int) -> bytes:
        with self.conn.transaction():
            # binary: the bytes as stored (in text, PostgreSQL would hex-encode them and psycopg decode)
            return bytes(self.conn.execute(sql.OUTPUT_CONTENT, (part_id,), binary=True).fetchone()[0])

    # --- recovery and claims ------------------------------------------------------------------

    def recover(self) -> bool:
        """Finish what a dead process committed but did not move or write. False when an output
        could not be written for lack of space: the pass then takes no new file."""
        self._recover_failed = ""
        for file_id, name, sha, _arl, destination in self.conn.execute(sql.UNFINISHED).fetchall():
            if not self._claim(name):
                continue
            try:
                if self.conn.execute(sql.STILL_UNFINISHED, (file_id,)).fetchone() is None:
                    continue  # finished by its owner while this pass was listing
                faults.point("recover")
                path = self._inbox_path(name)
                if os.path.lexists(path) and (not sha or self._sha_of(path) == sha):
                    self.tree.move_into(path, self.tree.root / destination)
                self.write_outputs(file_id)
                with self.conn.transaction():
                    self.conn.execute(sql.MARK_FINISHED, (file_id,))
                log.info("recovered %s", arl.arl_name(name))
            except OSError as exc:  # disk still full…: stays unfinished, retried next pass
                self._io_error(name, exc)
                if exc.errno in _STOP_PASS:
                    self._recover_failed = name
                    return False
            finally:
                self._release(name)
        try:
            self.write_outputs(None)  # outputs of runs with no input file (fides bill, schedules)
        except OSError as exc:
            self._io_error("(sorties sans fichier d'entrée)", exc)
            self._recover_failed = "(sorties sans fichier d'entrée)"
            return exc.errno not in _STOP_PASS
        return True

    def _inbox_path(self, name: str) -> Path:
        """The inbox entry a stored name stands for (a non-UTF-8 name is stored escaped)."""
        path = self.tree.inbox / name
        if "\\" in name and not os.path.lexists(path):
            with os.scandir(self.tree.inbox) as it:
                for e in it:
                    if e.name != name and db_name(e.name) == name:
                        return Path(e.path)
        return path

    def _finish_previous(self, path: Path, name: str, sha: str) -> bool:
        """True when this very file was already applied by a process that died before moving it."""
        rows = self.conn.execute(sql.UNFINISHED_WITH_NAME, (name,)).fetchall()
        self.conn.commit()
        for file_id, row_sha, _arl, destination in rows:
            if row_sha == sha:
                self.tree.move_into(path, self.tree.root / destination)
                self.write_outputs(file_id)
                with self.conn.transaction():
                    self.conn.execute(sql.MARK_FINISHED, (file_id,))
                log.info("recovered %s", arl.arl_name(name))  # as `recover` says it
                return True
        return False

    @staticmethod
    def _sha_of(path: Path) -> str:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            return _digest(fd)[0]
        finally:
            os.close(fd)

    def _claim(self, name: str) -> bool:
        got = self.conn.execute(sql.TRY_CLAIM, (name,)).fetchone()[0]
        self.conn.commit()
        return bool(got)

    def _release(self, name: str) -> None:
        self.conn.execute(sql.RELEASE_CLAIM, (name,))
        self.conn.commit()
