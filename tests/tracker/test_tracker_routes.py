"""The tracker's routes over HTTP: the script and its size, the pages, the media with Range."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from watchdepth.tracker import routes as tracker_routes

from .conftest import CATALOG

TRACKER_DIR = Path(tracker_routes.__file__).parent
SOURCE = TRACKER_DIR / "tracker.js"
MINIFIED = TRACKER_DIR / "tracker.min.js"
DEMO = TRACKER_DIR / "media" / "demo.webm"
SIZE_BUDGET = 4096  # bytes, minified and gzipped


class Client:
    """A synchronous face on httpx's in-process ASGI transport (no server, no thread)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://wd.test") as c:
                return await c.request(method, path, **kw)

        # in a thread of its own: Playwright's sync API may hold this thread's event loop
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(lambda: asyncio.run(go())).result()

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def head(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("HEAD", path, **kw)


@pytest.fixture(scope="module")
def client() -> Client:
    return Client(Starlette(routes=tracker_routes.routes(CATALOG.get)))


# ---- the script ----


def test_tracker_js_is_the_minified_copy(client: Client) -> None:
    r = client.get("/tracker.js")
    assert r.status_code == 200
    assert r.content == MINIFIED.read_bytes()
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "public, max-age=3600"
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["access-control-allow-origin"] == "*"
    assert client.get("/tracker.src.js").content == SOURCE.read_bytes()


def test_tracker_js_revalidates_with_etag(client: Client) -> None:
    etag = client.get("/tracker.js").headers["etag"]
    r = client.get("/tracker.js", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    plain = client.get("/tracker.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == MINIFIED.read_bytes()
    assert client.head("/tracker.js").status_code == 200


def test_minified_copy_is_built_from_the_current_source() -> None:
    header = MINIFIED.read_text().splitlines()[0]
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    assert f"sha256:{digest}" in header, "tracker.js changed: run src/watchdepth/tracker/build.sh"


def test_size_budget() -> None:
    size = len(gzip.compress(MINIFIED.read_bytes(), compresslevel=9))
    assert size <= SIZE_BUDGET, f"tracker.min.js is {size} bytes gzipped"


# ---- the pages ----


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "poster", "action")]


def _srcs(page: str) -> list[str]:
    """Every URL the page's tags would load."""
    parser = _Links()
    parser.feed(page)
    return parser.urls


def test_demo_page(client: Client) -> None:
    r = client.get("/demo")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert 'data-video-id="demo-video"' in page
    assert 'src="/media/demo.webm"' in page
    assert '<script src="/tracker.js" data-debug>' in page
    assert 'id="log"' in page
    assert all(s.startswith("/") or s.startswith("data:") for s in _srcs(page)), _srcs(page)
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_embed_page_marks_the_video_and_escapes_the_query(client: Client) -> None:
    r = client.get("/embed/lesson-1", params={"external_id": 'a"b<c>@example.com'})
    assert r.status_code == 200
    page = r.text
    assert 'data-video-id="lesson-1"' in page
    assert 'data-external-id="a&quot;b&lt;c&gt;@example.com"' in page
    assert "<title>Lesson &lt;1&gt; &amp; more</title>" in page
    assert 'src="/media/demo.webm"' in page and 'src="/tracker.js"' in page
    assert all(s.startswith("/") or s.startswith("data:") for s in _srcs(page))
    assert "x-frame-options" not in r.headers, "it is meant for iframes"
    assert "data-external-id" not in client.get("/embed/lesson-1").text


def test_embed_page_of_a_stream_and_a_broadcast(client: Client) -> None:
    assert 'data-stream-id="live-1"' in client.get("/embed/live-1").text
    page = client.get("/embed/show-7").text
    assert 'data-stream-id="live-1" data-event-id="show-7"' in page


def test_embed_page_takes_src(client: Client) -> None:
    page = client.get("/embed/lesson-1", params={"src": "https://cdn.example/v/1.mp4"}).text
    assert 'src="https://cdn.example/v/1.mp4"' in page
    assert 'src="/other/clip.webm"' in client.get("/embed/lesson-1?src=/other/clip.webm").text
    for bad in ("javascript:alert(1)", "//evil.example/x.mp4", "data:video/mp4;base64,AAAA"):
        assert client.get("/embed/lesson-1", params={"src": bad}).status_code == 400


def test_embed_page_of_an_unknown_id_is_404(client: Client) -> None:
    r = client.get("/embed/no-such-video")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "does not exist" in r.text and "tracker.js" not in r.text


def test_pages_under_a_path_prefix() -> None:
    c = Client(Starlette(routes=[Mount("/stats", routes=tracker_routes.routes(CATALOG.get))]))
    page = c.get("/stats/embed/lesson-1").text
    assert 'src="/stats/tracker.js"' in page and 'src="/stats/media/demo.webm"' in page
    assert c.get("/stats/tracker.js").status_code == 200


# ---- the media ----


def test_media_whole_file(client: Client) -> None:
    r = client.get("/media/demo.webm")
    assert r.status_code == 200
    assert r.headers["content-type"] == "video/webm"
    assert r.headers["accept-ranges"] == "bytes"
    assert r.content[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file
    assert len(r.content) == DEMO.stat().st_size


def test_media_range_requests(client: Client) -> None:
    size = DEMO.stat().st_size
    data = DEMO.read_bytes()
    r = client.get("/media/demo.webm", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 100-199/{size}"
    assert r.content == data[100:200]
    tail = client.get("/media/demo.webm", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    open_end = client.get("/media/demo.webm", headers={"Range": f"bytes={size - 10}-"})
    assert open_end.status_code == 206 and open_end.content == data[-10:]
    assert client.get("/media/demo.webm", headers={"Range": f"bytes={size + 10}-"}).status_code == 416


def test_media_serves_only_shipped_media(client: Client) -> None:
    for name in ("nope.webm", "make_demo_video.sh", "..%2Froutes.py", ".hidden.webm"):
        assert client.get(f"/media/{name}").status_code == 404, name


def test_demo_video_is_small() -> None:
    assert DEMO.stat().st_size < 600_000


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None, reason="needs ffmpeg")
def test_make_demo_video_script(tmp_path: Path) -> None:
    out = tmp_path / "demo.webm"
    script = TRACKER_DIR / "media" / "make_demo_video.sh"
    env = {**os.environ, "DURATION": "6"}  # the shipped file is 60 s; 6 s proves the script in a few seconds
    subprocess.run(["sh", str(script), str(out)], check=True, timeout=300, env=env, capture_output=True)
    assert 5_000 < out.stat().st_size < 60_000
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_name,width,height",
            "-of",
            "csv=p=0",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert probe[0] == "vp9,320,180" and float(probe[1]) == pytest.approx(6, abs=0.1)
