"""The dashboard's Quality of experience card against the real server (METRICS.md §7).

Two viewers imported on 5 January 2026: an iPhone (Safari) whose playback started in 2 s and
stalled 3 s, and a desktop Chrome that started in 0.5 s without a stall. The card's
breakdown by browser must list them worst first, with the API's numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from real_server import goto, new_context, start, watched_page

from tests.conftest import DESKTOP_UA, PHONE_UA, Server, load_events

pytestmark = pytest.mark.browser

JAN5 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
PERIOD = "period=custom&from=2026-01-05&to=2026-01-05"


def quality_events(sid: str, t0: int, extra: list[tuple[str, int, dict[str, Any]]], **who: Any) -> list[dict[str, Any]]:
    out = load_events({"video_id": "v1"}, sid, f"{sid}1", t0, [("play", 1, 0), ("progress", 20, 15)], **who)
    for i, (type_, at, fields) in enumerate(extra):
        out.append({"type": type_, "video_id": "v1", "session_id": sid, "load_id": f"{sid}1", "seq": 3 + i,
                    "ts": t0 + at * 1000, **fields, **who})
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start(tmp_path_factory.mktemp("quality"))
    try:
        s.ok("POST", "/v1/projects", json={"id": "p1", "name": "P"})
        s.ok("POST", "/v1/videos", json={"id": "v1", "project_id": "p1", "title": "One", "duration": 100})
        events = quality_events("A", JAN5 + 10 * 3_600_000, [("startup", 21, {"ms": 2000}), ("stall", 22, {"ms": 3000})],
                                ip="8.8.8.8", user_agent=PHONE_UA)
        events += quality_events("B", JAN5 + 11 * 3_600_000, [("startup", 21, {"ms": 500})],
                                 ip="8.8.8.8", user_agent=DESKTOP_UA)
        r = s.import_events(events)
        assert r.status_code == 202, r.text
        yield s
    finally:
        s.stop()
        s.client.close()


def test_the_quality_card_lists_browsers_worst_first_with_the_apis_numbers(browser: Any, server: Server) -> None:
    api = server.ok("GET", "/v1/analytics", params={"from": "2026-01-05", "to": "2026-01-06", "group_by": "browser",
                                                     "fields": "rebuffer_ratio,startup_time,buffering_count",
                                                     "order": "rebuffer_ratio.desc"})["data"]
    # Safari: 3 s stalled of 3 + 15 s = 16.7 %; Chrome: none
    assert [(r["rebuffer_ratio"], r["startup_time"], r["buffering_count"]) for r in api] == [(16.7, 2.0, 1), (0.0, 0.5, 0)]
    ctx = new_context(browser, server)
    try:
        with watched_page(ctx) as page:
            goto(page, f"#/overview?{PERIOD}")
            rows = page.locator(".table-quality tbody tr")
            expect(rows).to_have_count(2)
            assert rows.nth(0).locator("th").inner_text() == api[0]["browser"]
            assert rows.nth(0).locator('[data-col="rebuffer_ratio"]').inner_text() == "16.7%"
            assert rows.nth(0).locator('[data-col="startup_time"]').inner_text() == "2.00 s"
            assert rows.nth(1).locator('[data-col="startup_time"]').inner_text() == "0.50 s"
            over_time = page.locator(".table-quality-time tbody tr")  # one day: hourly, hours with data
            expect(over_time).to_have_count(2)
            assert [over_time.nth(i).locator('[data-col="startup_time"]').inner_text() for i in (0, 1)] == \
                ["2.00 s", "0.50 s"]
            assert over_time.nth(0).locator('[data-col="buffering_count"]').inner_text() == "1"
    finally:
        ctx.close()
