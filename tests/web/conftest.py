"""Fixtures for the dashboard's tests: the fake API server (fake_api.py) and headless Chromium.

The fake runs under uvicorn on loopback in a thread; Chromium is Debian's, driven by
Playwright. Screenshots go to $WATCHDEPTH_ARTIFACTS/screenshots/ (default test-artifacts/, not committed).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fake_api import (
    CUSTOM_SEED,
    PREVIOUS_SEED,
    TOKEN,
    VIEWER,
    FakeState,
    build_app,
    period_range,
    rfc3339,
    totals,
)

CHROMIUM = os.environ.get("WD_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = (
    Path(os.environ.get("WATCHDEPTH_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")
    / "screenshots"
)


@dataclass
class FakeServer:
    """The running fake: its URL, its state, and its data rules for tests to state expectations."""

    url: str
    state: FakeState
    token: str = TOKEN
    viewer: str = VIEWER
    previous_seed: int = PREVIOUS_SEED
    custom_seed: int = CUSTOM_SEED
    totals = staticmethod(totals)
    period_range = staticmethod(period_range)
    rfc3339 = staticmethod(rfc3339)

    def get(self, path: str, **params: Any) -> Any:
        """Ask the fake API directly, as the page does (for expected numbers)."""
        response = httpx.get(self.url + path, params=params, headers={"Authorization": f"Bearer {TOKEN}"})
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeServer]:
    state = FakeState()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(build_app(state), log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "fake API server did not start"
    yield FakeServer(url=f"http://127.0.0.1:{port}", state=state)
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture
def fake(fake_server: FakeServer) -> Iterator[FakeServer]:
    fake_server.state.reset()
    yield fake_server
    fake_server.state.reset()


@dataclass
class Console:
    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


@pytest.fixture
def console() -> Console:
    return Console()


def _new_context(browser: Any, url: str) -> Any:
    ctx = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="UTC")
    ctx.set_default_timeout(5000)
    return ctx


@pytest.fixture
def context(browser: Any, fake: FakeServer) -> Iterator[Any]:
    """A fresh browser context with no cookie (for the sign-in flow)."""
    ctx = _new_context(browser, fake.url)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def signed_in(browser: Any, fake_server: FakeServer) -> Iterator[Any]:
    """One context for the signed-in tests, holding the cookie as /login sets it."""
    ctx = _new_context(browser, fake_server.url)
    ctx.add_cookies(
        [{"name": "wd_token", "value": TOKEN, "url": fake_server.url, "httpOnly": True, "sameSite": "Strict"}]
    )
    yield ctx
    ctx.close()


@pytest.fixture
def page(signed_in: Any, fake: FakeServer, console: Console) -> Iterator[Any]:
    """A new signed-in page; the test fails on console errors."""
    pg = signed_in.new_page()
    pg.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: console.errors.append(f"pageerror: {e}"))
    yield pg
    pg.close()
    assert console.unexpected() == [], f"console errors: {console.unexpected()}"


@pytest.fixture
def screenshot() -> Any:
    """screenshot(page, "name") saves <artifacts>/screenshots/fake-name.png (full page)."""

    def take(page: Any, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"fake-{name}.png"
        if full_page:
            page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar is drawn mid-page
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
