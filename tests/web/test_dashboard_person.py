"""The dashboard as a person sees it (issue 15 §2), against the fake API in headless Chromium.

What the fake's answers make visible: a "this month" timeline holding the month's future
days (drawn up to now only), a two-month "all time" (bars, a tick per month), the depth
metric over time, the viewers list, the empty states, the export dialog without mail or
with a failing one, and nothing wider than a 390 px phone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from page_helpers import fmt, goto
from playwright.sync_api import expect

FakeServer = Any  # conftest.FakeServer, reached through the `fake` fixture
pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PAGES = [
    "#/overview",
    "#/overview?period=all_time",
    "#/video/vid-01",
    "#/stream/str-townhall",
    "#/live",
    "#/referrers",
    "#/viewer",
    "#/viewer?external_id=student-42",
    "#/catalog",
]


def numbers(page: Any) -> list[list[str]]:
    """The timeline's "Show the numbers" table, row by row."""
    return page.locator(".card-wide .data-table tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )


def test_this_month_stops_at_now_and_plots_watch_depth(page: Any, fake: FakeServer) -> None:
    goto(page, "#/overview?period=this_month&metric=watch_depth")
    expect(page.get_by_role("heading", name="Watch depth per day")).to_be_visible()
    expect(page.get_by_role("radio", name="Watch depth")).to_be_checked()
    timeline = fake.get("/v1/analytics/overview", period="this_month", group_time="day")["data"]["timeline"]
    today = datetime.now(UTC).day
    assert len(timeline) == 31  # the fake answers the whole month, as docs/api.md says the server does
    rows = numbers(page)
    assert len(rows) == today  # the days to come are not drawn as zeros
    now = datetime.now(UTC)
    expect(page.locator(".subtitle")).to_have_text(
        re.compile(rf"^This month · (1 {now:%b %Y} – )?{now.day} {now:%b %Y} · UTC$")
    )  # described to today too
    assert [r[1] for r in rows] == [fmt("watch_depth", p["watch_depth"]) for p in timeline[:today]]
    page.get_by_role("radio", name="Average watch time").check()
    expect(page.get_by_role("heading", name="Average watch time per day")).to_be_visible()
    expect(page.locator(".card-wide .data-table tbody tr").first.locator("td")).to_have_text(
        fmt("avg_watch_time", timeline[0]["avg_watch_time"])
    )


def test_all_time_few_buckets_are_bars_with_a_tick_per_month(page: Any, fake: FakeServer) -> None:
    goto(page, "#/overview?period=all_time")
    expect(page.get_by_label("Interval")).to_have_value("month")
    chart = page.locator(".card-wide .chart")
    expect(chart).to_have_attribute("data-kind", "bars")
    expect(chart).to_have_attribute("data-ticks", "Mar 2024|Apr 2024")
    page.get_by_label("Interval").select_option("day")
    expect(chart).to_have_attribute("data-kind", "line")  # 30 days: a line, ticks on whole days
    ticks = chart.get_attribute("data-ticks").split("|")
    assert 2 <= len(ticks) <= 30 and all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2}", t) for t in ticks), ticks
    page.get_by_label("Interval").select_option("hour")
    expect(chart).to_have_attribute("data-ticks", re.compile(r"^00:00 1 Mar\|"))


def test_a_stream_has_no_depth_to_plot(page: Any, fake: FakeServer) -> None:
    goto(page, "#/stream/str-townhall?metric=watch_depth")
    expect(page.get_by_role("radio", name="Watch depth")).to_have_count(0)
    expect(page.get_by_role("heading", name="Views per day")).to_be_visible()


def test_unknown_video_is_a_not_found_page(page: Any, fake: FakeServer, console: Any) -> None:
    console.allowed.append("404")  # the look-ups of the id (video, stream, broadcast) are 404s
    goto(page, "#/video/no-such-video")
    expect(page.get_by_role("heading", level=1)).to_have_text("No video “no-such-video”")
    expect(
        page.get_by_text("This server has no video, stream or broadcast with the id “no-such-video”.")
    ).to_be_visible()
    expect(page.locator(".chart")).to_have_count(0)
    asked = [path for path, p in fake.state.requests if p.get("video_id") == "no-such-video"]
    assert asked == ["/v1/analytics/overview"]  # one probe (is it a broadcast?), no charts, no breakdowns
    assert "Broadcast" not in page.locator("main").inner_text()
    goto(page, "#/stream/no-such-stream")
    expect(page.get_by_role("heading", level=1)).to_have_text("No stream “no-such-stream”")
    expect(page.locator(".chart")).to_have_count(0)


def test_a_broadcast_id_still_opens_its_page(page: Any, fake: FakeServer, console: Any) -> None:
    console.allowed.append("404")
    goto(page, "#/video/evt-0312")
    expect(page.get_by_role("heading", level=1)).to_have_text("Broadcast evt-0312")
    expect(page.locator(".card-wide .chart").first).to_be_visible()


def test_viewers_are_listed_by_watch_time_paged_and_searchable(page: Any, fake: FakeServer) -> None:
    goto(page, "#/viewer")
    listed = [
        r["external_id"]
        for r in fake.get(
            "/v1/analytics", group_by="external_id", order="watch_time.desc", period="all_time", per_page=1000
        )["data"]
        if r["external_id"]
    ]
    links = page.locator(".slot tbody th a")
    expect(links).to_have_text(listed[:25])
    expect(page.get_by_text("40 viewers, by watch time.")).to_be_visible()
    page.get_by_role("button", name="Next").click()
    expect(links).to_have_text(listed[25:])
    page.get_by_label("Find a viewer by external ID").fill("STUDENT-4")
    page.get_by_role("button", name="Search").click()
    expect(links).to_have_text(["student-4", "student-40", "student-41", "student-42"])  # by watch time
    page.get_by_role("link", name="student-42").click()
    expect(page.get_by_role("heading", level=2, name="student-42")).to_be_visible()
    expect(page.locator(".slot tbody tr")).to_have_count(3)
    page.get_by_role("link", name="← All viewers").click()
    expect(links).to_have_count(25)


def test_getting_started_only_in_a_workspace_without_data(page: Any, fake: FakeServer) -> None:
    fake.state.empty_period = True  # data exists, but not in this month
    goto(page, "#/overview")
    expect(page.get_by_text("No plays of any video in this period.")).to_be_visible()
    expect(page.get_by_text("Getting started?")).to_have_count(0)
    page.get_by_role("link", name="All time").click()
    expect(page.get_by_label("Period")).to_have_value("all_time")
    fake.state.empty = True  # nothing at all, ever
    goto(page, "#/overview?period=yesterday")
    expect(page.get_by_text(re.compile("^Getting started\\? Add the tracker"))).to_be_visible()


@pytest.mark.parametrize("width", [1366, 390])
def test_a_long_duration_stays_on_one_line_in_its_card(page: Any, fake: FakeServer, width: int) -> None:
    fake.state.long_values = True
    page.set_viewport_size({"width": width, "height": 900})
    goto(page, "#/overview")
    value = page.locator('.metric-card[data-metric="watch_time"] .metric-value')
    expect(value).to_have_text("137h 54m")
    lines, overflow = value.evaluate("""el => {
        const r = document.createRange(); r.selectNodeContents(el);
        const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
        const card = el.closest('.metric-card').getBoundingClientRect();
        return [tops.size, el.getBoundingClientRect().right > card.right];
    }""")
    assert (lines, overflow) == (1, False)


def start_export(page: Any, email: str) -> Any:
    goto(page, "#/overview")
    page.get_by_role("button", name="Export report").click()
    dialog = page.get_by_role("dialog", name="Export report")
    dialog.get_by_label("E-mail the link to (optional)").fill(email)
    dialog.get_by_role("button", name="Start export").click()
    return dialog


def test_export_without_mail_settings_offers_the_link(page: Any, fake: FakeServer, console: Any) -> None:
    fake.state.mail = "no_smtp"
    console.allowed.append("400")  # the refused e-mail, before the export starts without it
    page.set_viewport_size({"width": 1280, "height": 700})
    dialog = start_export(page, "ops@example.com")
    link = dialog.get_by_role("link", name="Download report")
    expect(link).to_have_attribute("href", "/downloads/exp-1.csv?sig=abc")
    expect(dialog.get_by_role("status")).to_contain_text("E-mail is not set up on this server")
    assert fake.state.exports == [{k: v for k, v in fake.state.exports[0].items() if k != "email"}]
    expect(link).to_be_in_viewport()  # the dialog's status is in view, also on a short window
    box = dialog.get_by_role("status").bounding_box()
    assert box["y"] + box["height"] <= 700


def test_a_failed_mail_still_offers_the_link(page: Any, fake: FakeServer) -> None:
    fake.state.mail = "fail"
    dialog = start_export(page, "ops@example.com")
    expect(dialog.get_by_role("link", name="Download report")).to_have_attribute("href", "/downloads/exp-1.csv?sig=abc")
    expect(dialog.get_by_role("status")).to_contain_text("The e-mail to ops@example.com could not be sent")
    expect(dialog.get_by_role("button", name="Start export")).to_be_enabled()


@pytest.mark.slow  # 18 pages drawn and photographed (the screenshots are the artifacts)
def test_at_390_px_nothing_overflows_and_wide_tables_scroll_with_a_cue(
    page: Any, fake: FakeServer, screenshot: Any
) -> None:
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for hash_ in PAGES:
            goto(page, hash_)
            expect(page.locator("main [aria-busy=true]")).to_have_count(0)
            name = re.sub(r"[^a-z0-9]+", "-", hash_.lower()).strip("-")
            screenshot(page, f"{width}-{name}")
            wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5
                                && !el.closest('.table-wrap') && getComputedStyle(el).position !== 'fixed')
                .map((el) => el.tagName + '.' + el.className).slice(0, 5)""")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (hash_, wide)
            assert wide == [], (hash_, wide)
            for box in page.locator(".scroll-x").all():
                hidden = box.evaluate(
                    "el => { const w = el.querySelector('.table-wrap'); return w.scrollWidth > w.clientWidth + 1; }"
                )
                if hidden and box.is_visible():
                    expect(box).to_have_attribute("data-more", re.compile("right"))
                    expect(box.locator(".scroll-hint")).to_be_visible()
    # at 390 px the top list is wider than its card: it scrolls inside it, and says so
    goto(page, "#/overview")
    top = page.locator(".scroll-x").filter(has=page.locator(".table-top"))
    expect(top).to_have_attribute("data-more", "right")
    top.locator(".table-wrap").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    expect(top).to_have_attribute("data-more", "left")
