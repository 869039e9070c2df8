"""Serving the dashboard: a threaded `wsgiref` server (standard library), on 127.0.0.1 by default.

    server = start(config, url, host="127.0.0.1", port=8470, token=token)   # in a thread
    ...
    server.stop()

`fides web` runs it in the foreground; `fides run` can start it next to the inbox loop with
`start(...)` and `stop()` it on shutdown.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socketserver
import threading
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from fides.web.app import WebApp
from fides.web.auth import Auth, TokenError, check_token_value, new_token
from fides.web.pool import Pool

log = logging.getLogger(__name__)

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8470
TOKEN_ENV, TOKEN_FILE_ENV = "FIDES_WEB_TOKEN", "FIDES_WEB_TOKEN_FILE"


class _Handler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the stdlib's name)
        log.debug("web: %s %s", self.address_string(), format % args)

    def address_string(self):
        return self.client_address[0]


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class Running:
    httpd: _Server
    thread: threading.Thread
    pool: Pool
    host: str
    port: int
    generated_token: str | None  # set when no token was configured: show it to the operator

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
        self.pool.close()


def resolve_token(explicit: str | None, configured: str | None) -> tuple[str, bool]:
    """(token, generated): --token, then $FIDES_WEB_TOKEN (or the file $FIDES_WEB_TOKEN_FILE names),
    then `[web] token`; with none of them a random token is made for this run."""
    for value in (explicit, os.environ.get(TOKEN_ENV)):
        if value:
            return check_token_value(value), False
    path = os.environ.get(TOKEN_FILE_ENV)
    if path:
        return check_token_value(Path(path).read_text(encoding="utf-8")), False
    if configured:
        return check_token_value(configured), False
    return new_token(), True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_app(finess: str, url: str, token: str, pool_size: int = 4, schedule: tuple = ()) -> WebApp:
    return WebApp(finess=finess, pool=Pool(url, pool_size), auth=Auth(token), schedule=schedule)


def start(config, url: str, *, host: str | None = None, port: int | None = None, token: str | None = None) -> Running:
    """Start serving in a background thread; `port=0` takes a free port (see `Running.port`)."""
    host = host or config["web.host"]
    port = config["web.port"] if port is None else port
    token, generated = resolve_token(token, config["web.token"])
    from fides.engine.scheduler import jobs_from

    # `fides web` alone shows the same plan: it reads the fides.toml that `fides run` reads
    app = make_app(config.finess, url, token, schedule=tuple(jobs_from(config)))
    httpd = _Server((host, port), _Handler)
    httpd.set_app(app)
    if not is_loopback(host):
        log.warning("web: listening on %s, not only on this machine: put an HTTPS reverse proxy in front", host)
    thread = threading.Thread(target=httpd.serve_forever, name="fides-web", daemon=True)
    thread.start()
    running = Running(httpd, thread, app.pool, host, httpd.server_address[1], token if generated else None)
    log.info("web: dashboard on %s", running.url)
    return running


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Running", "TokenError", "make_app", "resolve_token", "start"]
