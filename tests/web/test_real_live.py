"""A new workspace in the dashboard, then viewers arriving: empty states and "Watching now".

A real ``watchdepth serve`` of its own (its data must start empty). The empty states tell
a new user what to do (first a video, then the embed snippet with that video's id);
"Watching now" follows ``/collect`` through Server-Sent Events, and through polling
every 2 s when the stream endpoint answers 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import real_data as rd
from playwright.sync_api import expect
from real_server import goto, new_context, screenshot, start, watched_page

from tests.conftest import DESKTOP_UA, Server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start(tmp_path_factory.mktemp("new-workspace"))
    try:
        yield s
    finally:
        s.stop()
        s.client.close()


def play(server: Server, video_id: str, session: str) -> None:
    """A person's browser loads a player and starts playing (a counted `play`, received now)."""
    base = {"video_id": video_id, "session_id": session, "load_id": f"{session}-1"}
    r = server.collect(
        [{**base, "type": "load", "seq": 0}, {**base, "type": "play", "seq": 1, "position": 0}],
        **{"user-agent": DESKTOP_UA},
    )
    assert r.status_code == 202, r.text


def still_playing(server: Server, video_id: str, session: str, seq: int) -> None:
    """A `progress` of a playing session, so it stays "watching now" (30 s window) on a slow machine."""
    base = {"video_id": video_id, "session_id": session, "load_id": f"{session}-1"}
    r = server.collect([{**base, "type": "progress", "seq": seq, "position": seq * 5}], **{"user-agent": DESKTOP_UA})
    assert r.status_code == 202, r.text


def test_a_new_workspace_then_viewers_arriving(browser: Any, server: Server) -> None:
    ctx = new_context(browser, server)
    try:
        with watched_page(ctx) as page:
            goto(page, "#/overview")
            expect(page.get_by_text("Nothing to show yet: add your first video.")).to_be_visible()
            expect(page.get_by_role("link", name="IP Geolocation by DB-IP")).to_have_attribute(
                "href", "https://db-ip.com"
            )
            screenshot(page, "empty-new-workspace")
            goto(page, "#/catalog")
            expect(page.get_by_text("No projects yet.")).to_be_visible()

            rd.make_catalog(server)
            page.reload()
            goto(page, "#/overview")
            first = server.ok("GET", "/v1/videos", params={"per_page": 1})["data"][0]["id"]
            assert first in {"v1", "v2", "v3"}
            expect(page.get_by_text("No plays recorded yet.")).to_be_visible()
            snippet = page.get_by_label("Embed snippet")
            expect(snippet).to_contain_text(f'<video data-video-id="{first}"')
            expect(snippet).to_contain_text(f'<script src="{server.url}/tracker.js" defer></script>')
            expect(page.get_by_role("button", name="Copy snippet")).to_be_visible()
            screenshot(page, "empty-state-snippet")

            goto(page, "#/live")
            count = page.locator(".live-count")
            expect(count).to_have_text("0")
            expect(page.get_by_text("Nobody is watching right now.")).to_be_visible()
            expect(page.locator("main")).to_have_attribute("data-live-mode", "sse")

            # Pushed every 2 s: each change shows within 5 s (one interval, and slack for a busy machine).
            play(server, "v1", "L1")
            expect(count).to_have_text("1", timeout=5000)
            rows = page.locator(".slot tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_have_text("One1")
            play(server, "v2", "L2")
            play(server, "v1", "L3")
            expect(count).to_have_text("3", timeout=5000)
            expect(rows).to_have_count(2)
            expect(rows.first).to_have_attribute("data-key", "v1")
            expect(rows.first.locator("td")).to_have_text("2")
            assert server.ok("GET", "/v1/analytics/realtime")["data"]["online"] == 3
            expect(page.locator(".live-status")).to_contain_text("live from the server")
            screenshot(page, "live")

            # The workspace page's pill counts the same sessions.
            goto(page, "#/overview")
            expect(page.locator(".live-pill")).to_have_text("3 watching now")

        # A server without the stream endpoint: the page polls /v1/analytics/realtime instead.
        with watched_page(ctx, allowed=("404",)) as page:
            page.route(
                "**/v1/analytics/realtime/stream*",
                lambda route: route.fulfill(
                    status=404,
                    content_type="application/json",
                    body='{"error": {"code": 404404, "message": "Not found"}}',
                ),
            )
            polls: list[str] = []
            page.on(
                "request",
                lambda r: (
                    polls.append(r.url)
                    if "/v1/analytics/realtime?" in r.url or r.url.endswith("/v1/analytics/realtime")
                    else None
                ),
            )
            goto(page, "#/live")
            expect(page.locator("main")).to_have_attribute("data-live-mode", "poll")
            for session, video in (("L1", "v1"), ("L2", "v2"), ("L3", "v1")):
                still_playing(server, video, session, 2)
            play(server, "v3", "L4")
            assert server.ok("GET", "/v1/analytics/realtime")["data"]["online"] == 4
            expect(page.locator(".live-count")).to_have_text("4", timeout=5000)
            expect(page.locator(".live-status")).to_contain_text("refreshed every 2 s")
            assert len(polls) >= 2
    finally:
        ctx.close()


def test_a_page_module_arriving_late_does_not_draw_over_the_newer_page(browser: Any, server: Server) -> None:
    """Catalog's module is held back while the user moves on to Overview; when it arrives, Overview stays."""
    ctx = new_context(browser, server)
    try:
        with watched_page(ctx) as page:
            goto(page, "#/overview")
            held: list[Any] = []
            page.route("**/views/catalog.js*", lambda route: held.append(route))
            with page.expect_request(lambda r: "/views/catalog.js" in r.url):
                page.evaluate("location.hash = '#/catalog'")
            page.wait_for_function("() => document.documentElement.dataset.wdState === 'loading'")
            assert held, "the catalog module was never requested"
            page.evaluate("location.hash = '#/overview'")
            expect(page.locator("html")).to_have_attribute("data-wd-state", "ready")
            url = held[0].request.url
            held[0].continue_()
            # the app's own await on this module runs before this import's continuation
            page.evaluate("(u) => import(u).then(() => new Promise((r) => setTimeout(r, 50)))", url)
            expect(page.get_by_role("heading", level=1)).to_have_text("Workspace analytics")
            assert page.get_by_role("heading", name="Catalog").count() == 0
    finally:
        ctx.close()
