"""The buffer directory tree (DESIGN.md §2) and the only ways fides writes into it.

Every output is written under a temporary name, fsynced and renamed, so no reader ever sees half
a file; files and directories get the configured tight permissions (they hold NIRs).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

TEMP_PREFIX = ".fides-tmp-"


@dataclass(frozen=True)
class Tree:
    root: Path
    file_mode: int = 0o600
    dir_mode: int = 0o700

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
        return self.root / "archive" / f"{when:%Y}" / f"{when:%m}"

    def create(self) -> None:
        for path in (self.inbox, self.arl, self.b2, self.reports, self.rejected, self.root / "archive"):
            self.mkdir(path)

    def mkdir(self, path: Path) -> None:
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(self.dir_mode)

    def write_atomic(self, path: Path, data: bytes) -> Path:
        """Write `data` to `path` so that `path` is either absent, the old file or the new one whole."""
        self.mkdir(path.parent)
        tmp = path.parent / f"{TEMP_PREFIX}{os.getpid()}-{path.name}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, self.file_mode)
        try:
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
        """Move an input (never following links) into `directory`, keeping its name if free."""
        self.mkdir(directory)
        target = directory / source.name
        n = 1
        while os.path.lexists(target):
            target = directory / f"{source.name}.{n}"
            n += 1
        os.rename(source, target)
        _fsync_dir(directory)
        return target

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
