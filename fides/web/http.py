"""Requests, responses and parameters of the WSGI application (standard library only)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

MAX_BODY = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: list | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or []


def _wsgi_text(value: str) -> str:
    """WSGI gives paths as latin-1 decoded bytes: read them back as UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value


class Request:
    def __init__(self, environ: dict):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = _wsgi_text(environ.get("PATH_INFO", "") or "/")
        self.query = self._parse(environ.get("QUERY_STRING", ""))
        self._form: dict[str, str] | None = None
        self.cookies: dict[str, str] = {}
        raw = environ.get("HTTP_COOKIE", "")
        if raw:
            try:
                jar = SimpleCookie()
                jar.load(raw)
                self.cookies = {k: m.value for k, m in jar.items()}
            except CookieError:
                self.cookies = {}

    @staticmethod
    def _parse(text: str) -> dict[str, str]:
        try:
            parsed = parse_qs(text or "", keep_blank_values=True, max_num_fields=100, errors="replace")
        except ValueError:
            raise HttpError(400, "paramètres trop nombreux") from None
        return {k: v[0] for k, v in parsed.items()}

    def header(self, name: str) -> str | None:
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"))

    @property
    def form(self) -> dict[str, str]:
        if self._form is None:
            self._form = {}
            if self.method == "POST":
                try:
                    length = int(self.environ.get("CONTENT_LENGTH") or 0)
                except ValueError:
                    raise HttpError(400, "Content-Length invalide") from None
                if length > MAX_BODY:
                    raise HttpError(413, "requête trop volumineuse")
                body = self.environ["wsgi.input"].read(length) if length > 0 else b""
                ctype = (self.environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
                if body and ctype not in ("application/x-www-form-urlencoded", ""):
                    raise HttpError(415, "formulaire application/x-www-form-urlencoded attendu")
                self._form = self._parse(body.decode("utf-8", "replace"))
        return self._form

    # --- parameters (400 on anything doubtful) -------------------------------------------------

    def text(self, name: str, *, max_len: int = 60, pattern: str | None = None, source: dict | None = None) -> str | None:
        value = (self.query if source is None else source).get(name, "")
        value = value.strip()
        if not value:
            return None
        if len(value) > max_len or _CONTROL.search(value):
            raise HttpError(400, f"paramètre {name} invalide")
        if pattern and not re.fullmatch(pattern, value):
            raise HttpError(400, f"paramètre {name} invalide")
        return value

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.query.get(name, "").strip()
        if not raw:
            return default
        if not re.fullmatch(r"[0-9]{1,9}", raw):
            raise HttpError(400, f"paramètre {name} : entier attendu")
        value = int(raw)
        if not lo <= value <= hi:
            raise HttpError(400, f"paramètre {name} : entre {lo} et {hi}")
        return value

    def boolean(self, name: str) -> bool:
        raw = self.query.get(name, "").strip().lower()
        if raw in ("", "0", "false", "non", "off"):
            return False
        if raw in ("1", "true", "oui", "on"):
            return True
        raise HttpError(400, f"paramètre {name} : true ou false attendu")

    def choice(self, name: str, choices) -> str | None:
        value = self.query.get(name, "").strip()
        if not value:
            return None
        if value not in choices:
            raise HttpError(400, f"paramètre {name} : une valeur parmi {', '.join(choices)}")
        return value


@dataclass
class Response:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def status_line(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"


def html(text: str, status: int = 200) -> Response:
    return Response(text.encode("utf-8"), status)


def json_response(data, status: int = 200, headers: list | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=_json_default, separators=(",", ":")).encode("utf-8")
    return Response(body, status, "application/json; charset=utf-8", headers or [])


def plain(text: str, status: int = 200, filename: str | None = None) -> Response:
    headers = []
    if filename:
        safe = re.sub(r'[^A-Za-z0-9._-]', "_", filename)
        headers.append(("Content-Disposition", f'inline; filename="{safe}"'))
    return Response(text.encode("utf-8"), status, "text/plain; charset=utf-8", headers)


def redirect(location: str, headers: list | None = None) -> Response:
    return Response(b"", 303, "text/plain; charset=utf-8", [("Location", location)] + (headers or []))


def _json_default(value):
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
