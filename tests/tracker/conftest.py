"""Fixtures for the tracker's tests: a recording collector and headless Chromium.

Input: the tracker routes (``watchdepth.tracker.routes``) over a tiny in-memory catalog.
Output: ``recorder`` (a live server on loopback that serves those routes and records
every ``POST /collect`` body, and can be told to answer 503), ``browser`` and
``context`` (Debian's Chromium driven by Playwright; a fresh profile per test). It is not the real collector: it checks no
event and counts nothing; tests/tracker/test_tracker_metrics.py is for that.
"""

from __future__ import annotations

import html
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from watchdepth.catalog.model import ContentInfo
from watchdepth.tracker.routes import routes

from .recorder import Recorder

CHROMIUM = os.environ.get("WATCHDEPTH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

CATALOG = {
    "demo-video": ContentInfo(id="demo-video", kind="video", project_id="p1", title="Demo", duration=60.0),
    "lesson-1": ContentInfo(id="lesson-1", kind="video", project_id="p1", title="Lesson <1> & more", duration=60.0),
    "live-1": ContentInfo(id="live-1", kind="stream", project_id="p1", title="Live"),
    "show-7": ContentInfo(id="show-7", kind="event", project_id="p1", title="Show", stream_id="live-1"),
}


def _lookup(content_id: str) -> ContentInfo | None:
    return CATALOG.get(content_id)


async def _host_page(request: Request) -> Response:
    """A page of some site that puts /embed/{id} in an iframe: ?embed=<the iframe's URL>."""
    src = html.escape(request.query_params["embed"], quote=True)
    return HTMLResponse(f'<!doctype html><title>host</title><iframe src="{src}" width="640" height="360"></iframe>')


@pytest.fixture(scope="session")
def recorder_server() -> Iterator[Recorder]:
    recorder = Recorder()
    extra = [Route("/collect", recorder.collect, methods=["POST", "OPTIONS"]), Route("/test-host", _host_page)]
    app = Starlette(routes=[*routes(_lookup), *extra])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the recording server did not start")
        time.sleep(0.02)
    recorder.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield recorder
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def recorder(recorder_server: Recorder) -> Recorder:
    recorder_server.reset()
    return recorder_server


HUMAN_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile per test: its own localStorage, so its own session."""
    # Headless Chromium announces itself as HeadlessChrome, which the collector rightly counts as a bot;
    # these tests play the part of a person's browser.
    ctx = browser.new_context(user_agent=HUMAN_UA)
    yield ctx
    ctx.close()
