"""Where the database is, and connections to it.

Default: an embedded PostgreSQL (the `pgserver` wheel) under `<root>/pgdata`, listening on a Unix
socket only, started on first use and stopped when the last fides process using it exits.
`FIDES_DATABASE_URL` or `[database] url` selects an external server instead.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

log = logging.getLogger(__name__)

_embedded: dict[Path, object] = {}


def embedded_url(pgdata: Path) -> str:
    """Start (or join) the embedded server and return its socket URL."""
    pgdata = pgdata.resolve()
    server = _embedded.get(pgdata)
    if server is None:
        # pgserver prints to the root logger at INFO; keep our logs for our own events.
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        import pgserver  # imported lazily: external-database installs never start it

        pgdata.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        _embedded[pgdata] = server
    return server.get_uri()


def stop_embedded(pgdata: Path) -> None:
    """Stop the embedded server this process started for `pgdata` (before removing its files)."""
    server = _embedded.pop(pgdata.resolve(), None)
    if server is not None:
        server.cleanup()


def _from_environment() -> str:
    """FIDES_DATABASE_URL, or the file FIDES_DATABASE_URL_FILE names (a container secret)."""
    url = os.environ.get("FIDES_DATABASE_URL", "")
    path = os.environ.get("FIDES_DATABASE_URL_FILE")
    if not url and path:
        url = Path(path).read_text(encoding="utf-8").strip()
    return url


def resolve_url(configured: str, root: Path) -> str:
    return _from_environment() or configured or embedded_url(root / "pgdata")


def connect(url: str, *, wait_seconds: float = 0.0) -> psycopg.Connection:
    """An autocommit connection: every unit of work is an explicit `with conn.transaction()` block,
    so nothing depends on an implicit transaction someone left open. With `wait_seconds`, retry
    while the server is unreachable (restart, failover)."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.2
    while True:
        try:
            return psycopg.connect(url, autocommit=True, application_name="fides")
        except psycopg.OperationalError:
            if time.monotonic() >= deadline:
                raise
            log.warning("database unreachable, retrying in %.1fs", delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def helper_dsn(conn: psycopg.Connection) -> str:
    """The parameters of `conn` for a helper process to open its own connection (its password
    included: hand it over through a pipe, never a command line or a log)."""
    info = conn.info
    return make_conninfo(info.dsn, password=info.password) if info.password else info.dsn


def sqlalchemy_url(url: str) -> str:
    """The same database for SQLAlchemy/alembic, through psycopg 3."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://"):]
    return url
