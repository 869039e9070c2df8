"""The buffer directory tree (DESIGN.md §2) and the only ways fides writes into it.

Every output is written under a temporary name, fsynced and renamed, so no reader ever sees half
a file; files and directories get the configured tight permissions (they hold NIRs), and the
configured group (`[security] group`) when there is one.

Archives encrypted at rest: when the installation's `fides.toml` names a key file
(`[security] archive_key_file`), every input moved under `archive/` is sealed into `<name>.fenc`
(fides/engine/archive.py) and its plaintext removed, whichever code moved it: the tree reads the
security settings of its root itself, so no caller can forget them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

TEMP_PREFIX = ".fides-tmp-"
ARCHIVE = "archive"


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

    def archive(self, when: dt.datetime) -> Path:
        return self.root / ARCHIVE / f"{when:%Y}" / f"{when:%m}"

    def create(self) -> None:
        for path in (self.inbox, self.arl, self.b2, self.reports, self.rejected, self.root / ARCHIVE):
            self.mkdir(path)

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

    def write_atomic(self, path: Path, data: bytes) -> Path:
        """Write `data` to `path` so that `path` is either absent, the old file or the new one whole."""
        self.mkdir(path.parent)
        tmp = path.parent / f"{TEMP_PREFIX}{os.getpid()}-{path.name}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, self.file_mode)
        try:
            gid = self.policy.gid
            if gid is not None:
                os.fchown(fd, -1, gid)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, self.file_mode)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return path

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
        _fsync_dir(directory)
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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
