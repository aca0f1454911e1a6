"""Helpers of the dashboard tests against the real ``watchdepth serve``: one server per module,
a signed-in browser context, console-error capture and screenshots as artifacts.

Input: the session ``browser`` (tests/conftest.py) and a data dir. Output: a started
``Server`` and Playwright pages. Screenshots go under ``$WATCHDEPTH_ARTIFACTS`` (default
``test-artifacts/``, ignored by git). It asserts nothing about numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.conftest import Server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("WATCHDEPTH_ARTIFACTS") or ROOT / "test-artifacts")
SCREENSHOTS = ARTIFACTS / "screenshots"


def start(data: Path) -> Server:
    s = Server(data)
    s.start()
    return s


def new_context(browser: Any, server: Server, *, signed_in: bool = True) -> Any:
    """A 1280×900 en-GB context in UTC; with the ``wd_token`` cookie as ``/login`` sets it."""
    ctx = browser.new_context(
        base_url=server.url,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        timezone_id="UTC",
        accept_downloads=True,
    )
    ctx.set_default_timeout(8000)
    if signed_in:
        ctx.add_cookies(
            [{"name": "wd_token", "value": server.token, "url": server.url, "httpOnly": True, "sameSite": "Strict"}]
        )
    return ctx


@contextmanager
def watched_page(ctx: Any, allowed: tuple[str, ...] = ()) -> Iterator[Any]:
    """A new page that fails the test on a console error or an uncaught exception (bar ``allowed``)."""
    errors: list[str] = []
    page = ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    try:
        yield page
    finally:
        page.close()
    unexpected = [e for e in errors if not any(a in e for a in allowed)]
    assert unexpected == [], f"console errors: {unexpected}"


def goto(page: Any, hash_: str) -> None:
    page.goto(f"/{hash_}")
    ready(page)


def ready(page: Any) -> None:
    """The page is drawn: <html data-wd-state="ready"> and no section still busy."""
    expect(page.locator("html")).to_have_attribute("data-wd-state", "ready")
    expect(page.locator("main [aria-busy=true]")).to_have_count(0)


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar is drawn mid-page
    page.screenshot(path=str(path), full_page=full_page)
    return path
