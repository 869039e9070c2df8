"""A few database connections shared by the web server's threads (standard library only).

Pages read in READ ONLY transactions with a statement timeout; the MANAGEREJECT button writes in
one ordinary transaction. Sessions use the server's local time zone, so months and days in SQL
are those people read on the page.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from typing import Iterator

import psycopg

log = logging.getLogger(__name__)


def local_zone() -> str | None:
    try:
        from tzlocal import get_localzone_name

        return get_localzone_name()
    except Exception:  # no zone configured on the host: keep the server's
        return None


class Pool:
    def __init__(self, url: str, size: int = 4, *, wait_seconds: float = 30.0, statement_timeout_ms: int = 30_000):
        self._url = url
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._wait = wait_seconds
        self._timeout = statement_timeout_ms
        self._zone = local_zone()
        self._closed = False

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self._url, autocommit=False, application_name="fides-web")
        conn.execute(f"SET statement_timeout = {int(self._timeout)}")
        conn.commit()
        if self._zone:
            try:
                conn.execute("SELECT set_config('TimeZone', %s, false)", (self._zone,))
                conn.commit()
            except psycopg.DataError:  # a zone name the server does not know: keep its own
                conn.rollback()
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        if not self._slots.acquire(timeout=self._wait):
            raise psycopg.OperationalError("toutes les connexions du tableau de bord sont occupées")
        conn = None
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            yield conn
        finally:
            if conn is not None:
                if conn.closed or conn.broken or self._closed:
                    with contextlib.suppress(Exception):
                        conn.close()
                else:
                    try:
                        conn.rollback()
                        self._idle.put(conn)
                    except psycopg.Error:
                        conn.close()
            self._slots.release()

    @contextlib.contextmanager
    def read(self) -> Iterator[psycopg.Connection]:
        with self._connection() as conn:
            conn.execute("SET TRANSACTION READ ONLY")
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[psycopg.Connection]:
        with self._connection() as conn:
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
