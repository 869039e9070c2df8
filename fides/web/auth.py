"""Who may look: one shared token, checked in constant time, and signed sessions naming the user.

A person signs in once with their name and the token (`/connexion`); the browser then holds a
session cookie (HttpOnly, SameSite=Strict) signed with a key derived from the token, carrying the
name that the audit trail records for their actions. Scripts send `Authorization: Bearer <token>`.
Changing the token ends every session. Forms that change something carry a CSRF value bound to the
session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time

COOKIE = "fides_session"
SESSION_SECONDS = 12 * 3600
MIN_TOKEN_LENGTH = 16
_USER = re.compile(r"[\w .'@-]{1,60}")


class TokenError(ValueError):
    pass


def check_token_value(token: str) -> str:
    token = token.strip()
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenError(f"jeton du tableau de bord trop court ({len(token)} caractères, {MIN_TOKEN_LENGTH} au moins)")
    if any(ord(c) < 33 or ord(c) > 126 for c in token):
        raise TokenError("jeton du tableau de bord : caractères ASCII imprimables sans espace attendus")
    return token


def new_token() -> str:
    return secrets.token_urlsafe(24)


def clean_user(name: str | None) -> str | None:
    """The name as recorded in the audit trail ('web:<name>'), or None when unusable."""
    if not name:
        return None
    name = " ".join(name.split())
    if name.lower() == "api":  # the actor name of Bearer requests
        return None
    return name if _USER.fullmatch(name) else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Auth:
    def __init__(self, token: str, *, session_seconds: int = SESSION_SECONDS, clock=time.time):
        token = check_token_value(token)
        self._digest = hashlib.sha256(token.encode()).digest()
        self._key = hmac.new(token.encode(), b"fides-web-session-v1", hashlib.sha256).digest()
        self._seconds = session_seconds
        self._clock = clock

    def check_token(self, candidate: str | None) -> bool:
        """Constant time whatever the candidate's length (both sides are hashed first)."""
        given = hashlib.sha256((candidate or "").strip().encode("utf-8", "replace")).digest()
        return hmac.compare_digest(given, self._digest)

    def _sign(self, payload: str, purpose: bytes = b"session") -> str:
        return _b64(hmac.new(self._key, purpose + b"\x00" + payload.encode(), hashlib.sha256).digest())

    def session(self, user: str) -> str:
        payload = _b64(json.dumps({"u": user, "exp": int(self._clock()) + self._seconds}).encode())
        return f"{payload}.{self._sign(payload)}"

    def user(self, cookie: str | None) -> str | None:
        if not cookie or cookie.count(".") != 1:
            return None
        payload, signature = cookie.split(".")
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            return None
        try:
            data = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] < self._clock():
            return None
        return clean_user(data.get("u")) if isinstance(data.get("u"), str) else None

    def csrf(self, cookie: str) -> str:
        return self._sign(cookie, b"csrf")

    def check_csrf(self, cookie: str | None, given: str | None) -> bool:
        if not cookie or not given:
            return False
        return hmac.compare_digest(self.csrf(cookie).encode(), given.encode("utf-8", "replace"))

    @property
    def max_age(self) -> int:
        return self._seconds
