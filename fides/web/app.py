"""The WSGI application: routes, authentication, security headers, errors.

    app = WebApp(finess="990000010", pool=Pool(url), auth=Auth(token))

Pages need a session (sign in at /connexion) or `Authorization: Bearer <token>`; without either
a page answers 401 with the sign-in form and the API answers 401 in JSON. Only the style sheet,
the sign-in form and /api/openapi.json are public.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Callable
from urllib.parse import quote

import psycopg

from fides.web import api, pages
from fides.web.auth import COOKIE, Auth, clean_user
from fides.web.html import STYLE
from fides.web.http import HttpError, Request, Response, json_response, redirect
from fides.web.pages import Ctx, now_utc
from fides.web.pool import Pool

log = logging.getLogger(__name__)

PUBLIC, PAGE, API = "public", "page", "api"

Handler = Callable[..., Response]

ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", r"/style\.css", lambda ctx, req: Response(STYLE.encode(), 200, "text/css; charset=utf-8"), PUBLIC),
    ("GET", r"/connexion", None, PUBLIC),  # handled by the app (needs the auth object)
    ("POST", r"/connexion", None, PUBLIC),
    ("POST", r"/deconnexion", None, PAGE),
    ("GET", r"/", pages.home, PAGE),
    ("GET", r"/fichiers", pages.files, PAGE),
    ("GET", r"/fichiers/([0-9]{1,18})", pages.file_detail, PAGE),
    ("GET", r"/fichiers/([0-9]{1,18})/arl", pages.file_arl, PAGE),
    ("GET", r"/dossiers", pages.dossiers, PAGE),
    ("GET", r"/dossiers/([^/]+)", pages.dossier, PAGE),
    ("POST", r"/dossiers/([^/]+)/managereject", pages.managereject, PAGE),
    ("GET", r"/rejets", pages.rejects, PAGE),
    ("GET", r"/lots", pages.lots, PAGE),
    ("GET", r"/lots/([0-9]{1,18})", pages.lot_detail, PAGE),
    ("GET", r"/paiements", pages.payments, PAGE),
    ("GET", r"/taches", pages.jobs, PAGE),
    ("GET", r"/referentiels", pages.referentials, PAGE),
    ("GET", r"/api/openapi\.json", api.openapi, PUBLIC),
    ("GET", r"/api/statistiques", api.stats, API),
    ("GET", r"/api/dossiers", api.dossiers, API),
    ("GET", r"/api/dossiers/([^/]+)", api.dossier, API),
    ("GET", r"/api/fichiers", api.files, API),
    ("GET", r"/api/fichiers/([^/]+)", api.file, API),
    ("GET", r"/api/fichiers/([^/]+)/erreurs", api.file_errors, API),
    ("GET", r"/api/fichiers/([^/]+)/arl", api.file_arl, API),
    ("GET", r"/api/lots", api.lots, API),
    ("GET", r"/api/lots/([^/]+)", api.lot, API),
    ("GET", r"/api/rejets", api.rejects, API),
    ("GET", r"/api/paiements", api.payments, API),
    ("GET", r"/api/taches", api.jobs, API),
    ("GET", r"/api/referentiels", api.referentials, API),
]
_COMPILED = [(m, re.compile(p), h, k) for m, p, h, k in ROUTES]

SECURITY_HEADERS = [
    ("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]
LOGIN_DELAY = 0.5  # seconds after a wrong token: guessing stays slow


def _safe_next(path: str | None) -> str:
    """A local path to go back to after sign-in (never another site), ASCII for the Location header."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or re.search(r"[\x00-\x1f]", path):
        return "/"
    return quote(path, safe="/?=&%:@-._~+,;")


class WebApp:
    def __init__(self, *, finess: str, pool: Pool, auth: Auth, clock=now_utc, secure_cookie: bool = False,
                 schedule: tuple = ()):
        self.finess = finess
        self.schedule = tuple(schedule)
        self.pool = pool
        self.auth = auth
        self.clock = clock
        self.secure_cookie = secure_cookie

    # --- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        req = Request(environ)
        head = req.method == "HEAD"
        if head:
            req.method = "GET"
        try:
            resp = self.dispatch(req)
        except HttpError as exc:
            resp = self._safe_error(req, exc.status, exc.message, exc.code, exc.headers)
        except psycopg.OperationalError as exc:
            log.error("web: database unavailable (%s)", type(exc).__name__)
            resp = self._safe_error(req, 503, "base de données indisponible, réessayer dans un instant")
        except Exception:
            log.exception("web: error on %s %s", req.method, req.path)
            resp = self._safe_error(req, 500, "erreur interne : voir le journal du serveur")
        headers = [("Content-Type", resp.content_type), ("Content-Length", str(len(resp.body)))]
        headers += SECURITY_HEADERS + resp.headers
        start_response(resp.status_line, headers)
        return [b"" if head else resp.body]

    def _safe_error(self, req: Request, status: int, message: str, code: str | None = None, headers=None) -> Response:
        try:
            return self._error(req, status, message, code, headers)
        except Exception:  # the error page itself failed (database gone...): answer plainly
            log.exception("web: error page failed")
            return Response(message.encode(), status, "text/plain; charset=utf-8",
                            headers or [])

    def _error(self, req: Request, status: int, message: str, code: str | None = None, headers=None) -> Response:
        if req.path.startswith("/api/"):
            resp = json_response({"erreur": message, "code": code}, status)
        elif status == 401:
            query = req.environ.get("QUERY_STRING", "")
            wanted = req.path + ("?" + query if query else "") if req.method == "GET" else "/"
            resp = pages.login_page(_safe_next(wanted))
        else:
            user = self._user(req)
            ctx = self._ctx(req, user) if user else None
            resp = pages.error_page(ctx, status, message)
        resp.headers += headers or []
        return resp

    # --- authentication --------------------------------------------------------------------------

    def _bearer(self, req: Request) -> bool:
        header = req.header("Authorization") or ""
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and self.auth.check_token(value)

    def _user(self, req: Request) -> str | None:
        user = self.auth.user(req.cookies.get(COOKIE))
        if user:
            return user
        return "api" if self._bearer(req) else None

    def _ctx(self, req: Request, user: str | None) -> Ctx:
        cookie = req.cookies.get(COOKIE, "")
        return Ctx(self.finess, user, self.auth.csrf(cookie) if cookie else "", self.pool, self.clock, self.schedule)

    def _cookie(self, value: str, max_age: int) -> tuple[str, str]:
        secure = "; Secure" if self.secure_cookie else ""
        return ("Set-Cookie", f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")

    def _login(self, req: Request) -> Response:
        if req.method == "GET":
            return pages.login_page(_safe_next(req.query.get("suivant")), status=200)
        form = req.form
        next_path = _safe_next(form.get("suivant"))
        user = clean_user(form.get("nom"))
        if not self.auth.check_token(form.get("jeton")):
            time.sleep(LOGIN_DELAY)
            log.warning("web: sign-in refused (wrong token)")
            return pages.login_page(next_path, "Jeton d'accès incorrect.", form.get("nom", "")[:60])
        if user is None:
            return pages.login_page(next_path, "Nom invalide : lettres, chiffres, espaces, . ' @ - (60 au plus).",
                                    status=400)
        log.info("web: %s signed in", user)
        return redirect(next_path, [self._cookie(self.auth.session(user), self.auth.max_age)])

    def _logout(self, req: Request) -> Response:
        cookie = req.cookies.get(COOKIE)
        if not self.auth.check_csrf(cookie, req.form.get("csrf")):
            raise HttpError(403, "formulaire expiré : recharger la page")
        return redirect("/connexion", [self._cookie("", 0)])

    # --- routing ---------------------------------------------------------------------------------

    def dispatch(self, req: Request) -> Response:
        path = req.path if req.path == "/" else req.path.rstrip("/")
        allowed = []
        for method, pattern, handler, kind in _COMPILED:
            match = pattern.fullmatch(path)
            if not match:
                continue
            if method != req.method:
                allowed.append(method)
                continue
            if path == "/connexion":
                return self._login(req)
            if kind == PUBLIC:
                return handler(self._ctx(req, None), req, *match.groups())
            user = self._user(req)
            if user is None:
                raise HttpError(401, "authentification requise : jeton (Authorization: Bearer) ou session",
                                headers=[("WWW-Authenticate", 'Bearer realm="fides"')])
            if req.method == "POST" and user != "api":
                if not self.auth.check_csrf(req.cookies.get(COOKIE), req.form.get("csrf")):
                    raise HttpError(403, "formulaire expiré ou d'une autre origine : recharger la page")
            if path == "/deconnexion":
                return self._logout(req)
            return handler(self._ctx(req, user), req, *match.groups())
        if allowed:
            raise HttpError(405, "méthode non permise", headers=[("Allow", ", ".join(sorted(set(allowed))))])
        raise HttpError(404, "page inconnue")
