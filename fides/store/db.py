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
from psycopg.types.json import Jsonb

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
        fresh = not (pgdata / "PG_VERSION").exists()
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        _embedded[pgdata] = server
        waiting = _tune(server.get_uri())
        if waiting and fresh:  # nobody else uses it yet: restart it now
            from pgserver import _commands

            with server._lock:
                _commands.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=server.system_user)
                server.ensure_postgres_running()
        elif waiting:
            log.info("embedded database: %s take effect at its next start", ", ".join(waiting))
    return server.get_uri()


# The embedded server's settings, for fides's work: files of up to a million lines written in one
# transaction, ~1 GB of WAL for 1M VIDHOSP lines. With PostgreSQL's defaults (4 MB of WAL buffers,
# a WAL writer waking every 200 ms) the buffers were full 122 000 times: the ingesting backend wrote
# the WAL itself, 8 KB at a time, and flushed each 16 MB segment it finished. A WAL writer that
# wakes every 10 ms with 64 MB of buffers writes and flushes it meanwhile (1M VIDHOSP then RSS
# lines in a harness, 3 runs each: 11.0 -> 10.7 s and 14.7 -> 13.9 s). Checkpoints stay as they
# are: putting them off (max_wal_size 4GB, tried) only moved their cost to the next files.
# The README gives the same settings for an external server; docker-compose.yml passes them.
EMBEDDED_SETTINGS = {"wal_buffers": "64MB", "wal_writer_delay": "10ms"}


def _tune(url: str) -> list[str]:
    """Gives the embedded server EMBEDDED_SETTINGS (kept in its postgresql.auto.conf); returns
    the names of those that take effect only at its next start."""
    with psycopg.connect(url, autocommit=True) as conn:
        differ = conn.execute("SELECT name, context FROM pg_settings WHERE name = ANY(%s) "
                              "AND current_setting(name) <> (%s::jsonb ->> name)",
                              [list(EMBEDDED_SETTINGS), Jsonb(EMBEDDED_SETTINGS)]).fetchall()
        for name, _ in differ:
            conn.execute(f"ALTER SYSTEM SET {name} = '{EMBEDDED_SETTINGS[name]}'")  # our constants only
        if differ:
            conn.execute("SELECT pg_reload_conf()")
    return [name for name, context in differ if context == "postmaster"]


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
    return in_utf8(_from_environment() or configured or embedded_url(root / "pgdata"))


def in_utf8(url: str) -> str:
    """`url` (a postgresql:// URI, or libpq's key=value form) with client_encoding=UTF8, whatever
    the environment says (libpq reads PGCLIENTENCODING, LATIN1 on many older servers): fides'
    referentials hold characters LATIN1 has not (’), and it writes text in the connection's
    encoding. Found by a test: with PGCLIENTENCODING=LATIN1, reading the referentials failed and
    nothing ran."""
    if "://" not in url:
        return make_conninfo(url, client_encoding="UTF8")
    base, _, query = url.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("client_encoding=")]
    return f"{base}?{'&'.join(kept + ['client_encoding=UTF8'])}"


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
