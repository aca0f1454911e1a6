"""Quality of experience end to end (docs/metrics.md §7): real Chromium, the real tracker, the REAL server.

A small media server beside the real one serves the demo video with HTTP Range and can hold
its bytes past an offset until the test lets them go: playback runs out of data there and
stalls, for as long as the test holds. The page measures what it saw itself (its own
``play``, first frame, ``waiting`` and ``playing`` times), and the API must report the same:
the stall count exactly, its duration within 0.3 s, the startup time within 0.1 s. A broken
source (garbage after a delay, so the ``play`` comes first) must give a playback failure and
an exit before start.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DEMO = (Path(__file__).parents[2] / "src/watchdepth/tracker/media/demo.webm").read_bytes()
VIDEO = "document.querySelector('video')"
FIRST_HOLD_S = 1.0
HOLD_AT = 30_000  # bytes: about 5 s of the demo video (369 KB for 60 s; its cues are at the front)
FIELDS = (
    "startup_time,startup_time_p90,buffering_count,buffering_time,rebuffer_ratio,playback_failures,"
    "failure_rate,exits_before_start"
)


class Media:
    """``/slow.webm``: the demo with Range; bytes from HOLD_AT on wait for ``release``.
    ``/broken.webm``: 1 s of nothing, then bytes that are no video."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held = threading.Event()  # a response reached HOLD_AT
        #: Chromium shows no first frame from the bytes before HOLD_AT alone: it waits for the
        #: download to go on (or, stalled, ~30 s). So the first hold lasts FIRST_HOLD_S (a slow
        #: start, measured by the page like any other), then one more chunk goes and the next
        #: hold is the stall under test, until ``release``.
        self.first_hold_done = False
        media = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/broken.webm"):
                    time.sleep(1.0)
                    body = b"this is not a video " * 2000
                    self.send_response(200)
                    self.send_header("Content-Type", "video/webm")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                m = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                start = int(m.group(1)) if m else 0
                end = int(m.group(2)) if m and m.group(2) else len(DEMO) - 1
                self.send_response(206 if m else 200)
                self.send_header("Content-Type", "video/webm")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(end - start + 1))
                if m:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(DEMO)}")
                self.end_headers()
                try:
                    for at in range(start, end + 1, 4096):
                        if at + 4096 > HOLD_AT and not media.release.is_set():
                            if not media.first_hold_done:
                                media.first_hold_done = True
                                time.sleep(FIRST_HOLD_S)
                            else:
                                media.held.set()
                                media.release.wait(30)
                        self.wfile.write(DEMO[at : min(at + 4096, end + 1)])
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def media() -> Iterator[Media]:
    m = Media()
    yield m
    m.close()


#: The page's own account: first play, first frame (requestVideoFrameCallback), and each
#: waiting -> playing after that frame, in performance.now() ms.
WATCH = """() => {
  const v = document.querySelector('video');
  const o = window.__qoe = {play: null, frame: null, stalls: [], errors: 0};
  v.addEventListener('play', () => {
    if (o.play !== null) return;
    o.play = performance.now();
    v.requestVideoFrameCallback(() => { o.frame = performance.now(); });
  });
  v.addEventListener('waiting', () => { if (o.frame !== null && !v.seeking) o.stalls.push([performance.now(), null]); });
  v.addEventListener('playing', () => { const s = o.stalls[o.stalls.length - 1]; if (s && s[1] === null) s[1] = performance.now(); });
  v.addEventListener('error', () => { o.errors++; });
}"""


def open_page(context: Any, server: Any, src: str) -> Any:
    page = context.new_page()
    page.goto(f"{server.url}/embed/v1?src={quote(src, safe='')}", wait_until="domcontentloaded")
    page.evaluate(WATCH)
    page.evaluate(f"{VIDEO}.muted = true")
    return page


def until(check: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def quality(server: Any) -> dict[str, Any]:
    body = server.ok("GET", "/v1/analytics", params={"period": "all_time", "group_by": "video_id", "fields": FIELDS})
    rows = [r for r in body["data"] if r["video_id"] == "v1"]
    return rows[0] if rows else {}


def test_a_held_download_is_a_stall_as_long_as_the_page_waited_and_startup_as_measured(
    catalog: Any, context: Any, media: Media
) -> None:
    page = open_page(context, catalog, media.url + "/slow.webm")
    page.evaluate(f"{VIDEO}.play()")
    until(lambda: page.evaluate("window.__qoe.frame !== null"), what="the first frame")
    # An open stall: the page waits on the held bytes (on a loaded machine Chromium may also
    # report a blip of waiting -> playing before it, which is a stall too, and counted).
    open_stall = "(s => s.length > 0 && s[s.length - 1][1] === null)(window.__qoe.stalls)"
    until(lambda: media.held.is_set() and page.evaluate(open_stall), 30, "the stall")
    time.sleep(2.0)  # the stall being measured: it lasts as long as the bytes are held
    media.release.set()
    until(lambda: page.evaluate("window.__qoe.stalls.every(s => s[1] !== null)"), what="playback to resume")
    page.evaluate(
        f"new Promise(r => {{ const v = {VIDEO}; const t = v.currentTime + 1; "
        f"v.addEventListener('timeupdate', function f() {{ if (v.currentTime >= t) {{ v.removeEventListener('timeupdate', f); r(); }} }}); }})"
    )
    seen = page.evaluate("window.__qoe")
    page.close()  # before the browser: the pagehide beacon carries the rest
    stall_s = sum(b - a for a, b in seen["stalls"]) / 1000
    held_s = max(b - a for a, b in seen["stalls"]) / 1000
    startup_s = (seen["frame"] - seen["play"]) / 1000
    row = until(
        lambda: (r := quality(catalog)) and r["buffering_count"] >= 1 and r["startup_time"] is not None and r,
        what="the numbers in the API",
    )
    assert row["buffering_count"] == len(seen["stalls"]), (row, seen)
    assert abs(row["buffering_time"] - stall_s) <= 0.3, (row, seen)
    assert held_s >= 1.5, seen  # the held one is among them
    assert abs(row["startup_time"] - startup_s) <= 0.1, (row, seen)
    assert row["startup_time_p90"] == row["startup_time"]  # one startup
    assert (row["playback_failures"], row["exits_before_start"]) == (0, 0)
    assert 0 < row["rebuffer_ratio"] < 100


def test_a_broken_source_is_a_playback_failure_and_an_exit_before_start(
    catalog: Any, context: Any, media: Media
) -> None:
    page = open_page(context, catalog, media.url + "/broken.webm")
    page.evaluate(f"{VIDEO}.play().catch(() => {{}})")  # before the bytes come: the play counts
    until(lambda: page.evaluate("window.__qoe.errors > 0"), what="the media error")
    assert page.evaluate("window.__qoe.play") is not None
    page.close()
    row = until(lambda: (r := quality(catalog)) and r["playback_failures"] >= 1 and r, what="the failure in the API")
    assert (row["playback_failures"], row["failure_rate"], row["exits_before_start"]) == (1, 100.0, 1)
    assert (row["buffering_count"], row["startup_time"]) == (0, None)
