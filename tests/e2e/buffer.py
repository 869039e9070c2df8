"""End-to-end helpers: a real buffer directory, `fides process` run as a subprocess against a real
PostgreSQL database, and readers for what it leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
FINESS = "990000010"


def example_lines(name: str) -> list[str]:
    return (EXAMPLES / name).read_bytes().decode("latin-1").splitlines()


def flow_name(flux: str, seq: int, ext: str = "txt") -> str:
    return f"{flux}_{FINESS}_20250325101500_{seq:04d}.{ext}"


@dataclass
class Arl:
    header: list[str]
    errors: list[list[str]]

    @property
    def status(self) -> str:
        return self.header[3]

    @property
    def counts(self) -> tuple[int, int, int]:
        return int(self.header[4]), int(self.header[5]), int(self.header[6])

    @property
    def codes(self) -> list[str]:
        return [e[3] for e in self.errors]


@dataclass
class Site:
    root: Path
    db_url: str

    @property
    def inbox(self) -> Path:
        return self.root / "in"

    def drop(self, name: str, content: bytes | str) -> Path:
        data = content.encode("latin-1") if isinstance(content, str) else content
        tmp = self.inbox / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.inbox / name)
        return self.inbox / name

    def drop_lines(self, name: str, lines: list[str], eol: str = "\r\n") -> Path:
        return self.drop(name, "".join(line + eol for line in lines))

    def fides(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, FIDES_DATABASE_URL=self.db_url)
        proc = subprocess.run([sys.executable, "-m", "fides.cli", *args, "--root", str(self.root)],
                              capture_output=True, text=True, env=env, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"fides {args} failed: {proc.stdout}\n{proc.stderr}")
        return proc

    def process(self) -> subprocess.CompletedProcess:
        return self.fides("process")

    def arl(self, name: str) -> Arl:
        text = (self.root / "out" / "arl" / f"{name}.arl").read_text(encoding="utf-8")
        rows = [line.split(";") for line in text.splitlines()]
        assert rows[0][0] == "ARL"
        assert all(r[0] == "ERR" for r in rows[1:])
        return Arl(rows[0], rows[1:])

    def archived(self, name: str) -> bool:
        return any(p.name == name for p in (self.root / "archive").rglob("*"))

    def rejected(self, name: str) -> bool:
        return os.path.lexists(self.root / "rejected" / name)

    def query(self, sql: str, *params):
        with psycopg.connect(self.db_url) as c:
            return c.execute(sql, params).fetchall()
