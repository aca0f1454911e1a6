"""The dashboard's Quality of experience card against the real server (docs/metrics.md §7).

5 January 2026: an iPhone (Safari) whose playback started in 2 s and stalled 3 s, and a
desktop Chrome that started in 0.5 s without a stall. The card's breakdown by browser must
list them worst first, with the API's numbers.

5–9 January, by day, for the charts over time (worked by hand in ``DAYS``): 6 January has a
load that played, failed and never started (a failure, an exit before start, no startup, no
playing time), 7 January one start of v2 only, 8 January three starts of v1 and a stall,
9 January nothing. A day without startups is a gap in the startup chart, not a zero.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from real_server import SCREENSHOTS, goto, new_context, start, watched_page

from tests.conftest import DESKTOP_UA, PHONE_UA, Server, load_events

pytestmark = pytest.mark.browser

DAY = 86_400_000
HOUR = 3_600_000
JAN5 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
JAN6, JAN7, JAN8 = JAN5 + DAY, JAN5 + 2 * DAY, JAN5 + 3 * DAY
PERIOD = "period=custom&from=2026-01-05&to=2026-01-05"
FIVE_DAYS = "period=custom&from=2026-01-05&to=2026-01-09"
PLAYED = [("play", 1, 0), ("progress", 20, 15)]  # 15 s watched

#: Per day 5–9 Jan (workspace): startups 5 Jan {0.5, 2.0}: median = the ⌈0.5·2⌉ = 1st = 0.5,
#: p90 the ⌈0.9·2⌉ = 2nd = 2.0; 6 Jan none; 7 Jan {1.0}; 8 Jan {0.3, 0.6, 4.0}: the 2nd and 3rd;
#: 9 Jan none. Rebuffer 5 Jan 3 ÷ (3 + 15 + 15) = 9.1%; 6 Jan nothing played; 7 Jan 0 of 15 s;
#: 8 Jan 1 ÷ (1 + 45) = 2.2%. 6 Jan: C's fatal error and no startup: one failure, one exit.
DAYS = {
    "startup_time": [0.5, None, 1.0, 0.6, None],
    "startup_time_p90": [2.0, None, 1.0, 4.0, None],
    "rebuffer_ratio": [9.1, 0.0, 0.0, 2.2, 0.0],  # the API's 0.0 on 6 and 9 Jan: nothing played
    "playback_failures": [0, 1, 0, 0, 0],
    "exits_before_start": [0, 1, 0, 0, 0],
}
#: What the charts draw for the workspace: a day with nothing played has no rebuffer ratio.
DRAWN = {
    "startup": [DAYS["startup_time"], DAYS["startup_time_p90"]],
    "rebuffer": [[9.1, None, 0.0, 2.2, None]],
    "failures": [DAYS["playback_failures"], DAYS["exits_before_start"]],
}
#: v1 alone: 7 Jan was v2's, so it is a gap there too.
DRAWN_V1_STARTUP = [[0.5, None, None, 0.6, None], [2.0, None, None, 4.0, None]]


def quality_events(
    sid: str,
    t0: int,
    extra: list[tuple[str, int, dict[str, Any]]],
    steps: list[tuple[Any, ...]] = PLAYED,
    video: str = "v1",
    **who: Any,
) -> list[dict[str, Any]]:
    out = load_events({"video_id": video}, sid, f"{sid}1", t0, steps, **who)
    for i, (type_, at, fields) in enumerate(extra):
        out.append(
            {
                "type": type_,
                "video_id": video,
                "session_id": sid,
                "load_id": f"{sid}1",
                "seq": len(steps) + 1 + i,
                "ts": t0 + at * 1000,
                **fields,
                **who,
            }
        )
    return out


def later_days() -> list[dict[str, Any]]:
    """6–8 January (the charts' days; 5 January is the breakdown test's)."""
    desktop = {"ip": "8.8.8.8", "user_agent": DESKTOP_UA}
    events = quality_events(
        "C",
        JAN6 + 9 * HOUR,
        [("error", 2, {"code": "MEDIA_ERR_DECODE", "fatal": True})],
        steps=[("play", 1, 0)],
        **desktop,
    )
    events += quality_events("G", JAN7 + 9 * HOUR, [("startup", 2, {"ms": 1000})], video="v2", **desktop)
    for sid, ms, at in [("D", 300, 8), ("E", 600, 9), ("F", 4000, 10)]:
        stall = [("stall", 12, {"ms": 1000})] if sid == "D" else []
        events += quality_events(sid, JAN8 + at * HOUR, [("startup", 2, {"ms": ms}), *stall], **desktop)
    return events


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start(tmp_path_factory.mktemp("quality"))
    try:
        s.ok("POST", "/v1/projects", json={"id": "p1", "name": "P"})
        s.ok("POST", "/v1/videos", json={"id": "v1", "project_id": "p1", "title": "One", "duration": 100})
        s.ok("POST", "/v1/videos", json={"id": "v2", "project_id": "p1", "title": "Two", "duration": 100})
        events = quality_events(
            "A",
            JAN5 + 10 * HOUR,
            [("startup", 21, {"ms": 2000}), ("stall", 22, {"ms": 3000})],
            ip="8.8.8.8",
            user_agent=PHONE_UA,
        )
        events += quality_events(
            "B", JAN5 + 11 * HOUR, [("startup", 21, {"ms": 500})], ip="8.8.8.8", user_agent=DESKTOP_UA
        )
        r = s.import_events(events + later_days())
        assert r.status_code == 202, r.text
        yield s
    finally:
        s.stop()
        s.client.close()


def test_the_quality_card_lists_browsers_worst_first_with_the_apis_numbers(browser: Any, server: Server) -> None:
    api = server.ok(
        "GET",
        "/v1/analytics",
        params={
            "from": "2026-01-05",
            "to": "2026-01-06",
            "group_by": "browser",
            "fields": "rebuffer_ratio,startup_time,buffering_count",
            "order": "rebuffer_ratio.desc",
        },
    )["data"]
    # Safari: 3 s stalled of 3 + 15 s = 16.7 %; Chrome: none
    assert [(r["rebuffer_ratio"], r["startup_time"], r["buffering_count"]) for r in api] == [
        (16.7, 2.0, 1),
        (0.0, 0.5, 0),
    ]
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
            page.locator(".card-quality summary", has_text="Show the numbers").click()
            over_time = page.locator(".table-quality-time tbody tr")  # one day: hourly, the hours with data
            expect(over_time).to_have_count(2)
            assert [over_time.nth(i).locator('[data-col="startup_time"]').inner_text() for i in (0, 1)] == [
                "2.00 s",
                "0.50 s",
            ]
            assert over_time.nth(0).locator('[data-col="buffering_count"]').inner_text() == "1"
    finally:
        ctx.close()


# ---- the charts over time -----------------------------------------------------------------------


def card_screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".card-quality").screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def chart(page: Any, name: str) -> Any:
    return page.locator(f'.card-quality .chart[data-quality="{name}"]')


def drawn(page: Any, name: str) -> list[Any]:
    """A quality chart's data as uPlot holds it: [xs, series…] (data-values)."""
    expect(chart(page, name)).to_have_attribute("data-values", re.compile(".+"))
    return json.loads(chart(page, name).get_attribute("data-values"))


def timeline(server: Server, **params: str) -> list[dict[str, Any]]:
    return server.ok(
        "GET",
        "/v1/analytics/overview",
        params={"from": "2026-01-05", "to": "2026-01-10", "group_time": "day", "parts": "timeline", **params},
    )["data"]["timeline"]


#: The share of a bar's slot each of two side-by-side bars takes (chart.js: size 0.6 / 2).
BAR_SHARE = 0.3


def inked_columns(page: Any, name: str, buckets: int) -> list[tuple[int, int]]:
    """Per bucket of a bars chart, how many pixels of the left bar's and the right bar's middle
    column are drawn in a colour (grid and background are grey or white). The x scale of a bars
    chart runs from half a bucket before the first to half a bucket after the last."""
    return page.evaluate(
        """([el, n, share]) => {
        const canvas = el.querySelector("canvas");
        const over = el.querySelector(".u-over").getBoundingClientRect();
        const box = canvas.getBoundingClientRect();
        const k = canvas.width / box.width;
        const ctx = canvas.getContext("2d");
        const column = (x) => {
          const px = ctx.getImageData(Math.round((x - box.left) * k), Math.round((over.top - box.top) * k),
                                      1, Math.round(over.height * k)).data;
          let inked = 0;
          for (let i = 0; i < px.length; i += 4) {
            if (Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 40) inked += 1;
          }
          return inked;
        };
        const slot = over.width / n;
        const offset = Math.min(slot * share, 28) / 2;
        return Array.from({ length: n }, (_, i) => {
          const x = over.left + (i + 0.5) * slot;
          return [column(x - offset), column(x + offset)];
        });
    }""",
        [chart(page, name).element_handle(), buckets, BAR_SHARE],
    )


def test_the_charts_over_time_draw_the_apis_buckets_and_a_day_without_startups_is_a_gap(
    browser: Any, server: Server
) -> None:
    api = timeline(server)
    assert {k: [b[k] for b in api] for k in DAYS} == DAYS
    ctx = new_context(browser, server)
    try:
        with watched_page(ctx) as page:
            goto(page, f"#/overview?{FIVE_DAYS}")
            xs = [int(b["date"][8:10]) for b in api]
            assert xs == [5, 6, 7, 8, 9]
            for name, series in DRAWN.items():
                data = drawn(page, name)
                assert [x // 86_400 for x in data[0]] == [x // DAY for x in (JAN5, JAN6, JAN7, JAN8, JAN8 + DAY)]
                assert data[1:] == series, name
                expect(chart(page, name)).to_have_attribute("data-kind", "bars")  # five days: bars
            # Drawn: a bar for each day with a startup (median left, p90 right), none on the gaps.
            ink = inked_columns(page, "startup", 5)
            assert [(left > 0, right > 0) for left, right in ink] == [
                (True, True),
                (False, False),
                (True, True),
                (True, True),
                (False, False),
            ], ink
            # p90 above the median: 4.0 s against 0.6 s on 8 January
            assert ink[3][1] > 3 * ink[3][0], ink
            assert [(left > 0, right > 0) for left, right in inked_columns(page, "failures", 5)] == [
                (False, False),
                (True, True),
                (False, False),
                (False, False),
                (False, False),
            ]
            # Each chart says what it shows, and its key names both series.
            assert (
                chart(page, "startup")
                .get_attribute("aria-label")
                .startswith("Startup time per day (median and p90, seconds), ")
            )
            assert chart(page, "startup").get_attribute("role") == "img"
            assert page.locator(".card-quality .chart-legend").first.inner_text().split() == ["Median", "p90"]
            # The numbers, folded: the four days with anything to show.
            page.locator(".card-quality summary", has_text="Show the numbers").click()
            rows = page.locator(".table-quality-time tbody tr")
            expect(rows).to_have_count(4)
            assert rows.nth(1).locator('[data-col="startup_time"]').inner_text() == "—"
            assert rows.nth(1).locator('[data-col="exits_before_start"]').inner_text() == "1"
            card_screenshot(page, "quality-charts-desktop")
    finally:
        ctx.close()


def test_a_videos_page_draws_that_videos_buckets(browser: Any, server: Server) -> None:
    api = timeline(server, video_id="v1")
    assert [[b["startup_time"] for b in api], [b["startup_time_p90"] for b in api]] == DRAWN_V1_STARTUP
    ctx = new_context(browser, server)
    try:
        with watched_page(ctx) as page:
            goto(page, f"#/video/v1?{FIVE_DAYS}")
            assert drawn(page, "startup")[1:] == DRAWN_V1_STARTUP
    finally:
        ctx.close()


def test_one_day_by_hour_draws_24_buckets_with_gaps_around_the_two_startups(browser: Any, server: Server) -> None:
    ctx = new_context(browser, server)
    try:
        with watched_page(ctx) as page:
            goto(page, f"#/overview?{PERIOD}")
            data = drawn(page, "startup")
            assert len(data[0]) == 24
            assert data[1] == [2.0 if h == 10 else 0.5 if h == 11 else None for h in range(24)]
            expect(chart(page, "startup")).to_have_attribute("data-kind", "line")
    finally:
        ctx.close()


def test_at_390_px_the_charts_fit_the_phone_without_sideways_scrolling(browser: Any, server: Server) -> None:
    ctx = new_context(browser, server)
    try:
        with watched_page(ctx) as page:
            page.set_viewport_size({"width": 390, "height": 844})
            goto(page, f"#/overview?{FIVE_DAYS}")
            card = page.locator(".card-quality")
            card.scroll_into_view_if_needed()
            for name in DRAWN:
                expect(chart(page, name).locator("canvas")).to_have_count(1)
            sizes = page.evaluate("""() => {
                const card = document.querySelector(".card-quality").getBoundingClientRect();
                const charts = [...document.querySelectorAll(".card-quality .chart")].map((c) => {
                  const r = c.querySelector("canvas").getBoundingClientRect();
                  return [r.left, r.right, r.top];
                });
                return { page: document.documentElement.scrollWidth, view: window.innerWidth,
                         card: [card.left, card.right], charts };
            }""")
            assert sizes["page"] <= sizes["view"] == 390, sizes
            left, right = sizes["card"]
            assert all(left <= c[0] and c[1] <= right for c in sizes["charts"]), sizes
            tops = [c[2] for c in sizes["charts"]]
            assert tops == sorted(tops) and len(set(tops)) == 3, sizes  # stacked, one under the other
            card_screenshot(page, "quality-charts-390")
    finally:
        ctx.close()
