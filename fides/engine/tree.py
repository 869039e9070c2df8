"""The buffer directory tree (DESIGN.md §2) and the only ways fides writes into it.

Every output is written under a temporary name, fsynced and renamed, so no reader ever sees half
a file; files and directories get the configured tight permissions (they hold NIRs), and the
configured group (`[security] group`) when there is one.

Archives encrypted at rest: when the installation's `fides.toml` names a key file
(`[security] archive_key_file`), every input moved under `archive/` is sealed into `<name>.fenc`
(fides/engine/archive.py) and its plaintext removed, whichever code moved it: the tree reads the
security settings of its root itself, so no caller can forget them.

Temporary names carry the host, the process and the thread (`.fides-tmp-<host>-<pid>-<tid>-…`):
several `fides run` on several hosts may share one root, and a pid alone is only unique on one
host. A writer killed mid-write leaves its temporary file behind; `create()`, run when an
installation is opened (every command, `fides run` and `fides process` included), removes those
older than TEMP_MAX_AGE in `out/`, `archive/` and the root itself (`fides.toml`): a live writer
touches its file at every write, so an old one has no writer left.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import re
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

log = logging.getLogger(__name__)

TEMP_PREFIX = ".fides-tmp-"
STAGING = ".staging"  # under out/: files whose transaction has yet to commit (Tree.stage)
ARCHIVE = "archive"
# Far above the longest write (a multi-gigabyte archive sealed or a month's EXTRACTEPMSI zip
# takes minutes, and each chunk written refreshes the mtime), and above the clock skew of hosts
# sharing a network root.
TEMP_MAX_AGE = dt.timedelta(hours=1)
NAME_MAX = 255  # bytes of one path component (Linux file systems, NFS, SMB)


def _host() -> str:
    """This host's name as it may appear in a file name: letters, digits, '-' and '.' only."""
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:64] or "unknown"


def temp_path(target: Path) -> Path:
    """The temporary name under which `target` is written before its rename: in the same
    directory, unique per host, process and thread, within NAME_MAX (the target's name is cut
    when needed: uniqueness comes from the prefix)."""
    target = Path(target)
    prefix = f"{TEMP_PREFIX}{_host()}-{os.getpid()}-{threading.get_native_id()}-"
    room = NAME_MAX - len(os.fsencode(prefix))
    name = target.name
    while len(os.fsencode(name)) > room:  # cut whole characters, never half a UTF-8 sequence
        name = name[:-1]
    return target.parent / (prefix + name)


@dataclass(frozen=True)
class Security:
    """What the configuration asks of every file fides writes in the tree."""

    gid: int | None = None  # group given to created files and directories
    archiver: object | None = None  # fides.engine.archive.Archiver: seals archived inputs


_SECURITY: dict[Path, tuple[tuple, Security]] = {}
_SECURITY_LOCK = threading.Lock()


def _signature(path: Path) -> tuple:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ()
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def security_of(config) -> Security:
    """The security settings of a loaded configuration."""
    import grp

    group = config["security.group"]
    key_file = config["security.archive_key_file"]
    archiver = None
    if key_file:
        from fides.engine.archive import Archiver

        archiver = Archiver(Path(key_file))
    return Security(grp.getgrnam(group).gr_gid if group else None, archiver)


def security_for(root: Path) -> Security:
    """The security settings of the installation at `root`, from its `fides.toml` (checked by
    `fides.config.load`), re-read when the file changes; none when there is no such file."""
    from fides.config import CONFIG_NAME, load

    from fides.config import ConfigError

    root = Path(root)
    sig = _signature(root / CONFIG_NAME)
    with _SECURITY_LOCK:
        cached = _SECURITY.get(root)
        if cached is not None and cached[0] == sig:
            return cached[1]
        try:
            security = security_of(load(root)) if sig else Security()
        except (ConfigError, KeyError) as exc:
            if cached is None:
                raise
            # Edited while running and now invalid: keep what was checked at start (a restart
            # will refuse the file and say why).
            log.error("%s modifié et invalide (%s) ; réglages de sécurité précédents conservés", CONFIG_NAME, exc)
            security = cached[1]
        _SECURITY[root] = (sig, security)
        return security


@dataclass(frozen=True)
class Tree:
    root: Path
    file_mode: int = 0o600
    dir_mode: int = 0o700
    # None: read from the root's fides.toml (security_for); tests may pass one explicitly.
    security: Security | None = field(default=None, compare=False, repr=False)

    @property
    def policy(self) -> Security:
        return self.security if self.security is not None else security_for(self.root)

    @property
    def inbox(self) -> Path:
        return self.root / "in"

    @property
    def arl(self) -> Path:
        return self.root / "out" / "arl"

    @property
    def b2(self) -> Path:
        return self.root / "out" / "b2"

    @property
    def reports(self) -> Path:
        return self.root / "out" / "reports"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def staging(self) -> Path:
        """fides' own out/.staging: beside the directories others read, on their file system."""
        return self.root / "out" / STAGING

    def archive(self, when: dt.datetime) -> Path:
        """`archive/AAAA/MM` of the month `when` falls in for the establishment (local time, as
        `.arl` timestamps): a file processed at 00:30 on 1 April in Paris is April's, although it
        is still March in UTC. A naive `when` is taken as local time already."""
        local = when.astimezone()
        return self.root / ARCHIVE / f"{local:%Y}" / f"{local:%m}"

    def create(self) -> None:
        """Make the tree ready for work: its directories, and no temporary file left by a dead writer."""
        for path in (self.inbox, self.arl, self.b2, self.reports, self.rejected, self.root / ARCHIVE):
            self.mkdir(path)
        self.sweep_temporaries()

    def sweep_temporaries(self, max_age: dt.timedelta = TEMP_MAX_AGE) -> int:
        """Remove fides' temporary files older than `max_age` (mtime) in `out/`, `archive/` and the
        root itself (`fides.toml`), at any depth; returns how many. Never follows a link, never
        touches `in/` (producers' names) or anything but regular files named TEMP_PREFIX…."""
        before = time.time() - max_age.total_seconds()
        removed = 0
        directories = [self.root]
        for top in (self.root / "out", self.root / ARCHIVE):
            directories += [Path(d) for d, _, _ in os.walk(top)]  # os.walk follows no link
        for directory in directories:
            try:
                entries = list(os.scandir(directory))
            except OSError:  # gone meanwhile, or unreadable: nothing of ours to remove there
                continue
            for entry in entries:
                if not entry.name.startswith(TEMP_PREFIX):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < before:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:  # renamed by its writer or removed by another sweep
                    continue
                except OSError as exc:
                    log.warning("fichier temporaire abandonné %s non supprimé : %s", entry.path, exc.strerror)
        if removed:
            log.info("%d fichier(s) temporaire(s) abandonné(s) supprimé(s) (plus de %d min)", removed,
                     max_age.total_seconds() // 60)
        return removed

    def mkdir(self, path: Path) -> None:
        """Create `path` and its missing parents, each with the directory mode (and group)."""
        if path.is_dir():
            return
        missing = []
        while not path.is_dir():
            missing.append(path)
            if path.parent == path:
                break
            path = path.parent
        gid = self.policy.gid
        for directory in reversed(missing):
            try:
                directory.mkdir()
            except FileExistsError:
                if not directory.is_dir():
                    raise
                continue  # created meanwhile by another process
            directory.chmod(self.dir_mode)
            if gid is not None:
                os.chown(directory, -1, gid)

    def write_atomic(self, path: Path, data: bytes | Iterable[bytes]) -> Path:
        """Write `data` (bytes, or its parts in order) to `path` so that `path` is either absent,
        the old file or the new one whole."""
        self.mkdir(path.parent)
        with atomic_file(path, self.file_mode, self.policy.gid) as out:
            for part in (data,) if isinstance(data, bytes) else data:
                out.write(part)
        return path

    # --- staged outputs: written before their transaction commits, put in place after ------------

    def stage(self, data: bytes) -> str:
        """A new file under `staging` holding `data`, fsynced, with the outputs' mode; its name.
        The caller records the name in its transaction and calls `sync_staging` before it commits;
        after the commit, `unstage` puts the file in place."""
        self.mkdir(self.staging)
        name = uuid.uuid4().hex
        path = self.staging / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, self.file_mode)
        try:
            if self.policy.gid is not None:
                os.fchown(fd, -1, self.policy.gid)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return name

    def sync_staging(self) -> None:
        """Make the names of the files staged so far durable (one fsync of the directory)."""
        fsync_dir(self.staging)

    def unstage(self, name: str, path: Path) -> None:
        """Put the staged file `name` at `path`, durably. Renamed already (a crash came before
        its row was dropped): nothing to do. Neither there nor staged: FileNotFoundError."""
        source = self.staging / name
        self.mkdir(path.parent)
        try:
            os.replace(source, path)
        except FileNotFoundError:
            if not os.path.lexists(path):
                raise
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            self.write_atomic(path, source.read_bytes())  # out/b2 mounted apart: copied, then dropped
            source.unlink()
        fsync_dir(path.parent)

    def sweep_staging(self, kept: set[str]) -> int:
        """Remove the staged files not named in `kept` (their transaction never committed: rolled
        back, or its process died); returns how many. The caller makes sure no transaction that
        stages files is running meanwhile."""
        try:
            entries = list(os.scandir(self.staging))
        except FileNotFoundError:
            return 0
        removed = 0
        for entry in entries:
            if entry.name not in kept and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:  # removed meanwhile by hand: nothing left to do
                    continue
                removed += 1
        if removed:
            log.info("%d fichier(s) préparé(s) d'une transaction abandonnée supprimé(s)", removed)
        return removed

    def move_into(self, source: Path, directory: Path) -> Path:
        """Move an input (never following links) into `directory`, keeping its name if free.
        Under archive/ with encryption on, the input ends up only as `<name>.fenc`."""
        policy = self.policy
        archiver = policy.archiver if self.in_archive(directory) else None
        self.mkdir(directory)
        target = directory / source.name
        n = 1
        while os.path.lexists(target) or (archiver is not None and os.path.lexists(f"{target}.fenc")):
            target = directory / f"{source.name}.{n}"
            n += 1
        os.rename(source, target)
        fsync_dir(directory)
        if archiver is not None:
            try:
                return archiver.seal(target, self.file_mode, policy.gid, name=source.name)
            except Exception as exc:  # noqa: BLE001  the input is safely archived, in clear for now
                log.error("archive : chiffrement de %s impossible (%s) ; il le sera au prochain balayage "
                          "(démarrage, rétention, fides archive seal)", source.name, type(exc).__name__)
        return target

    def in_archive(self, path: Path) -> bool:
        try:
            return Path(path).relative_to(self.root).parts[:1] == (ARCHIVE,)
        except ValueError:
            return False

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))


@contextmanager
def atomic_file(path: Path, mode: int, gid: int | None = None) -> Iterator[BinaryIO]:
    """A binary file that appears at `path` whole when the block ends, or not at all: written
    under a temporary name (removed on error), fsynced, given `mode` and `gid`, renamed, and its
    directory fsynced. Every output, archive and key file of fides is written through here."""
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        if gid is not None:
            os.fchown(fd, -1, gid)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
