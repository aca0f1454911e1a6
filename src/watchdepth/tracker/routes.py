"""The tracker's public pages: the script, the demo, the embeddable player and its media.

Input: a catalog lookup (content id -> ``ContentInfo`` or ``None``). Output: Starlette
routes for ``/tracker.js`` (minified), ``/tracker.src.js`` (readable), ``/demo``,
``/embed/{video_id}`` and ``/media/{name}``, all served from files shipped in this
package. It does not receive events (``collect`` owns ``/collect``), authenticate,
or read the store; the pages load nothing from other origins.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from watchdepth.catalog.model import ContentInfo

HERE = Path(__file__).parent
MEDIA_DIR = HERE / "media"
PAGES_DIR = HERE / "pages"
DEMO_VIDEO_ID = "demo-video"
DEFAULT_MEDIA = "demo.webm"

MEDIA_TYPES = {".webm": "video/webm", ".mp4": "video/mp4"}
_MEDIA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

# The script URL carries no version, so browsers revalidate it hourly (cheap: ETag -> 304).
SCRIPT_MAX_AGE = 3600
MEDIA_MAX_AGE = 86400
# Inline scripts and styles are ours; nothing else loads except the media and /collect.
PAGE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; "
    "media-src 'self' https: http: blob:; img-src 'self' data:; base-uri 'none'; form-action 'none'"
)

ContentLookup = Callable[[str], "ContentInfo | None"]


class StaticScript:
    """One JavaScript file held in memory with its ETag and a gzipped copy."""

    def __init__(self, path: Path, max_age: int) -> None:
        self.body = path.read_bytes()
        self.gzipped = gzip.compress(self.body, compresslevel=9, mtime=0)
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'
        self.headers = {
            "Cache-Control": f"public, max-age={max_age}",
            "ETag": self.etag,
            "Vary": "Accept-Encoding",
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "X-Content-Type-Options": "nosniff",
        }

    async def respond(self, request: Request) -> Response:
        """The tracker script (gzipped when accepted; ETag, long cache)."""
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=self.headers)
        headers = dict(self.headers)
        body = self.body
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = self.gzipped
            headers["Content-Encoding"] = "gzip"
        return Response(body, headers=headers, media_type="text/javascript; charset=utf-8")


def routes(catalog_lookup: ContentLookup) -> list[BaseRoute]:
    """The tracker's routes; ``catalog_lookup`` tells which ids ``/embed`` may show."""
    minified = StaticScript(HERE / "tracker.min.js", SCRIPT_MAX_AGE)
    source = StaticScript(HERE / "tracker.js", SCRIPT_MAX_AGE)

    async def demo(request: Request) -> Response:
        """A demo page: a player with the tracker."""
        prefix = request.scope.get("root_path", "")
        return _page("demo.html", media=f"{prefix}/media/{DEFAULT_MEDIA}", tracker=f"{prefix}/tracker.js")

    async def embed(request: Request) -> Response:
        """An embeddable player page for a catalog video, with the tracker."""
        info = catalog_lookup(request.path_params["video_id"])
        if info is None:
            return _page("not_found.html", 404, message="This video does not exist or was removed.")
        prefix = request.scope.get("root_path", "")
        src = request.query_params.get("src") or f"{prefix}/media/{DEFAULT_MEDIA}"
        if not _is_media_url(src):
            return _page("not_found.html", 400, message="The src parameter must be an http(s) URL or a path.")
        external_id = request.query_params.get("external_id", "")[:256]
        ids = _id_attributes(info, external_id)
        return _page("embed.html", ids=ids, media=src, tracker=f"{prefix}/tracker.js", title=info.title or info.id)

    async def media(request: Request) -> Response:
        """The sample media the demo and embed pages play."""
        path = _media_path(request.path_params["name"])
        if path is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        headers = {"Cache-Control": f"public, max-age={MEDIA_MAX_AGE}", "Access-Control-Allow-Origin": "*"}
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=headers)

    return [
        Route("/tracker.js", minified.respond, methods=["GET", "HEAD"], name="tracker_js"),
        Route("/tracker.src.js", source.respond, methods=["GET", "HEAD"], name="tracker_src_js"),
        Route("/demo", demo, methods=["GET", "HEAD"], name="demo"),
        Route("/embed/{video_id}", embed, methods=["GET", "HEAD"], name="embed"),
        Route("/media/{name}", media, methods=["GET", "HEAD"], name="media"),
    ]


def _id_attributes(info: ContentInfo, external_id: str) -> str:
    """The data-* attributes that tell the tracker what plays (escaped, ready for HTML)."""
    if info.kind == "event":
        attrs = {"data-stream-id": info.stream_id or "", "data-event-id": info.id}
    elif info.kind == "stream":
        attrs = {"data-stream-id": info.id}
    else:
        attrs = {"data-video-id": info.id}
    if external_id:
        attrs["data-external-id"] = external_id
    return " ".join(f'{name}="{html.escape(value, quote=True)}"' for name, value in attrs.items())


def _is_media_url(src: str) -> bool:
    if src.startswith("/"):
        return not src.startswith("//")
    return src.startswith(("https://", "http://"))


def _media_path(name: str) -> Path | None:
    """A file shipped in media/, by exact name; None for anything else."""
    if not _MEDIA_NAME.fullmatch(name) or Path(name).suffix not in MEDIA_TYPES:
        return None
    path = MEDIA_DIR / name
    return path if path.is_file() else None


_PAGES: dict[str, str] = {}


def _page(name: str, status: int = 200, *, ids: str = "", **values: str) -> HTMLResponse:
    """Fill a page's {{placeholders}}: ``ids`` is already HTML, the rest is escaped."""
    if name not in _PAGES:
        _PAGES[name] = (PAGES_DIR / name).read_text(encoding="utf-8")
    text = _PAGES[name].replace("{{ids}}", ids)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value, quote=True))
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return HTMLResponse(text, status_code=status, headers=headers)
