"""The dashboard's HTTP side: the sign-in page, the single-page app shell, static files.

Input: a token checker (``api_auth``). Output: Starlette routes for ``/``, ``/login``,
``/logout`` and ``/static/...``. The token is kept in the ``wd_token`` cookie
(HttpOnly, SameSite=Strict); the API reads the same cookie, so the app's ``fetch``
calls carry no token. The cookie lives 30 days, but every request checks the token
(an in-memory lookup): once it is revoked, the page and the API refuse it at once. This module computes no metric and reads no data: every
number on the pages comes from ``/v1/...`` in the browser.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from string import Template
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Route

from watchdepth.api.auth import COOKIE

COOKIE_MAX_AGE = 30 * 24 * 3600
MAX_FORM_BYTES = 8192
HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

# Versioned URLs (/static/<hash>/...) never change content, so they may be cached for
# a year; the unversioned path still works, with a short cache.
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"
# No inline script anywhere; uPlot only touches element.style (CSSOM), which CSP allows.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: Modules the first page load does not need (app.js imports them when a page asks): not preloaded.
LAZY_MODULES = {
    "signin.js",
    "js/export.js",
    "js/views/catalog.js",
    "js/views/live.js",
    "js/views/referrers.js",
    "js/views/viewer.js",
}

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/json", ".json")


def routes(api_auth: Callable[[str], bool]) -> list[BaseRoute]:
    """The dashboard's routes; ``api_auth(token)`` says whether a token may sign in."""
    assets = _Assets(STATIC_DIR)

    def signed_in(request: Request) -> bool:
        token = request.cookies.get(COOKIE, "")
        return bool(token) and api_auth(token)

    async def index(request: Request) -> Response:
        """The dashboard, or its sign-in page."""
        if not signed_in(request):
            page = _page(assets.signin(error=None))
            if COOKIE in request.cookies:  # a revoked (or unknown) token: the session ends here
                page.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
            return page
        return _page(assets.shell())

    async def login(request: Request) -> Response:
        """Sign in to the dashboard with an API token (a cookie)."""
        token = (await _form_field(request, "token")).strip()
        if not token or not api_auth(token):
            return _page(assets.signin(error="That token is not valid. Check it and try again."), 401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=COOKIE_MAX_AGE,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def login_get(request: Request) -> Response:
        """Redirect to the dashboard."""
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        """Sign out of the dashboard."""
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    async def static(request: Request) -> Response:
        """The dashboard's static files."""
        return assets.serve(request.path_params["path"])

    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/login", login, methods=["POST"]),
        Route("/login", login_get, methods=["GET"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/static/{path:path}", static, methods=["GET", "HEAD"]),
    ]


class _Assets:
    """The static tree, its content hash (the URL version) and the two HTML pages."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        files = sorted(p for p in self.root.rglob("*") if p.is_file())
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(self.root)).encode())
            digest.update(path.read_bytes())
        self.version = digest.hexdigest()[:12]
        self.prefix = f"/static/{self.version}"
        modules = [p.relative_to(self.root).as_posix() for p in files if p.suffix == ".js" and "vendor" not in p.parts]
        self.preload = "\n".join(
            f'<link rel="modulepreload" href="{self.prefix}/{m}">' for m in modules if m not in LAZY_MODULES
        )
        # The whole tree is a few hundred kB: kept in memory, served without a file read
        # per request (a page load asks for about twenty files at once).
        self._files = {p.relative_to(self.root).as_posix(): p.read_bytes() for p in files}
        self._shell = Template((TEMPLATES_DIR / "shell.html").read_text())
        self._signin = Template((TEMPLATES_DIR / "signin.html").read_text())

    def shell(self) -> str:
        return self._shell.substitute(static=self.prefix, preload=self.preload, version=_package_version())

    def signin(self, error: str | None) -> str:
        block = f'<p class="form-error" id="token-error" role="alert">{html.escape(error)}</p>' if error else ""
        invalid = 'aria-invalid="true" aria-describedby="token-error"' if error else ""
        return self._signin.substitute(static=self.prefix, error=block, invalid=invalid)

    def serve(self, rel: str) -> Response:
        head, _, rest = rel.partition("/")
        cache = IMMUTABLE if head == self.version and rest else SHORT_CACHE
        if cache == IMMUTABLE:
            rel = rest
        body = self._files.get(rel)  # exact names only: no path is ever joined from the URL
        if body is None:
            return PlainTextResponse("Not found", status_code=404)
        media_type = mimetypes.guess_type(rel)[0] or "application/octet-stream"
        headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
        return Response(body, media_type=media_type, headers=headers)


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


async def _form_field(request: Request, name: str) -> str:
    """One field of an urlencoded form body (no multipart dependency for one field)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return ""
    values = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).get(name, [""])
    return values[0]


def _package_version() -> str:
    try:
        return version("watchdepth")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return ""
