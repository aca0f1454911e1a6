"""The dashboard's analytics pages in headless Chromium against the fake API (fake_api.py).

Sign-in, the workspace overview, one video, one stream: the numbers shown equal what the
API answers for the same request, the period/metric/interval/time-zone switches change
the URL and the content, the previous period is the one the rules say. Screenshots go to
artifacts/screenshots/ (not committed).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from page_helpers import card, expect_cards, fmt_duration, fmt_int, goto, hash_params, overview_requests
from playwright.sync_api import expect

FakeServer = Any  # conftest.FakeServer, reached through the `fake` fixture
pytestmark = pytest.mark.browser

# ---------------------------------------------------------------- sign-in


def test_sign_in_keeps_the_view_and_uses_an_httponly_cookie(context: Any, fake: FakeServer, screenshot: Any) -> None:
    page = context.new_page()
    page.goto("/#/referrers?period=last_month")
    token = page.get_by_label("API token")
    expect(token).to_be_visible()
    screenshot(page, "signin")
    token.fill("wrong-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    screenshot(page, "signin-error")

    page.get_by_label("API token").fill(fake.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Referrers")
    assert urlsplit(page.url).fragment == "/referrers?period=last_month"
    cookie = next(c for c in context.cookies() if c["name"] == "wd_token")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["value"] == fake.token
    assert "wd_token" not in page.evaluate("document.cookie")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_visible()
    assert not [c for c in context.cookies() if c["name"] == "wd_token"]


# ---------------------------------------------------------------- overview


def test_overview_numbers_equal_the_api(page: Any, fake: FakeServer, screenshot: Any) -> None:
    goto(page, "#/overview?period=last_month")
    api = fake.get("/v1/analytics/overview", period="last_month", group_time="day")["data"]
    expect_cards(page, api["total"], fake.totals(fake.previous_seed))
    expect(page.locator(".live-pill")).to_have_text("3 watching now")

    # The previous period asked for: the calendar month before last month (UTC).
    now = datetime.now(timezone.utc)
    start, _ = fake.period_range("last_month", "UTC", now)
    before, _ = fake.period_range("this_month", "UTC", start - timedelta(days=1))
    previous = [p for p in overview_requests(fake) if "from" in p]
    assert previous == [{"from": fake.rfc3339(before), "to": fake.rfc3339(start), "group_time": "month"}]

    # Timeline, in the data table under the chart.
    page.get_by_text("Show the numbers").first.click()
    cells = page.locator(".chart-slot + div .data-table tbody td")
    expect(cells).to_have_count(len(api["timeline"]))
    assert cells.all_inner_texts() == [fmt_int(p["views"]) for p in api["timeline"]]

    top = fake.get("/v1/analytics", period="last_month", group_by="video_id", order="views.desc", per_page=25)["data"]
    rows = page.locator(".table-top tbody tr")
    expect(rows).to_have_count(25)
    first = rows.first
    expect(first.get_by_role("link")).to_have_text(top[0]["title"])
    expect(first.locator('[data-col="views"]')).to_have_text(fmt_int(top[0]["views"]))
    expect(first.locator('[data-col="watch_time"]')).to_have_text(fmt_duration(top[0]["watch_time"]))
    expect(first.locator('[data-col="watch_depth"]')).to_have_text(f"{top[0]['watch_depth']}%")

    countries = fake.get("/v1/analytics", period="last_month", group_by="country", order="views.desc",
                         per_page=250)["data"]
    crow = page.locator(".table-breakdown tbody tr")
    expect(crow).to_have_count(len(countries))
    expect(crow.first.locator("th")).to_have_text("United States")
    expect(crow.first.locator('[data-col="views"]')).to_have_text(fmt_int(countries[0]["views"]))
    expect(page.locator(".world-map path[data-code='DE']")).to_have_count(1)
    assert page.locator(".world-map path").count() > 150
    page.get_by_text("Show the numbers").first.click()
    screenshot(page, "overview")


def test_period_switch_changes_url_and_numbers(page: Any, fake: FakeServer) -> None:
    goto(page, "#/overview")
    expect_cards(page, fake.totals(6), None)  # this month, the default
    page.get_by_label("Period").select_option(label="Yesterday")
    expect(page).to_have_url(re.compile(r"period=yesterday"))
    expect_cards(page, fake.totals(2), fake.totals(fake.previous_seed))
    expect(page.get_by_role("heading", name="Views per hour")).to_be_visible()

    page.get_by_label("Period").select_option("custom")
    page.get_by_label("From", exact=True).fill("2024-02-01")
    page.get_by_label("To", exact=True).fill("2024-02-10")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"period=custom"))
    assert hash_params(page) == {"period": "custom", "from": "2024-02-01", "to": "2024-02-10"}
    expect_cards(page, fake.totals(fake.custom_seed), fake.totals(fake.previous_seed))
    custom = [p for p in overview_requests(fake) if p.get("from") == "2024-02-01"]
    assert custom and custom[-1]["to"] == "2024-02-10"
    # previous: the 10 days just before
    before = {"from": "2024-01-22T00:00:00Z", "to": "2024-02-01T00:00:00Z", "group_time": "month"}
    assert before in overview_requests(fake)

    page.go_back()
    expect(page).to_have_url(re.compile(r"period=yesterday"))
    expect(card(page, "views").locator(".metric-value")).to_have_text(fmt_int(fake.totals(2)["views"]))

    page.get_by_label("Period").select_option("all_time")
    expect(card(page, "views").locator(".metric-value")).to_have_text(fmt_int(fake.totals(9)["views"]))
    expect(card(page, "views").locator(".metric-change")).to_have_text("No previous period")


def test_metric_switch_changes_url_and_chart(page: Any, fake: FakeServer) -> None:
    goto(page, "#/overview?period=this_month")
    api = fake.get("/v1/analytics/overview", period="this_month", group_time="day")["data"]
    group = page.get_by_role("group", name="Chart metric")
    expect(group.get_by_role("radio", name="Views")).to_be_checked()
    fetched = len(overview_requests(fake))
    group.get_by_role("radio", name="Watch time").check()
    expect(page).to_have_url(re.compile(r"metric=watch_time"))
    expect(page.get_by_role("heading", name="Watch time per day")).to_be_visible()
    cells = page.locator(".chart-slot + div .data-table tbody td")
    assert cells.first.text_content() == fmt_duration(api["timeline"][0]["watch_time"])

    # Arrow keys move within the radio group; focus stays on the control.
    group.get_by_role("radio", name="Watch time").focus()
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(r"metric=unique_views"))
    expect(page.get_by_role("heading", name="Unique impressions per day")).to_be_visible()
    assert page.evaluate("document.activeElement.value") == "unique_views"
    # Switching metric redraws from the data already fetched: no new request.
    assert len(overview_requests(fake)) == fetched

    page.get_by_label("Interval").select_option("week")
    expect(page).to_have_url(re.compile(r"group_time=week"))
    expect(cells).to_have_count(8)


def test_time_zone_goes_to_the_url_and_the_api(page: Any, fake: FakeServer) -> None:
    goto(page, "#/overview?period=today")
    expect(page.get_by_label("Time zone")).to_have_value("")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    expect(page).to_have_url(re.compile(r"tz=Europe%2FBerlin|tz=Europe/Berlin"))
    expect(page.locator(".subtitle")).to_contain_text("Europe/Berlin")
    sent = overview_requests(fake)[-2:]
    assert all(p["timezone"] == "Europe/Berlin" for p in sent)
    # today in Berlin vs yesterday in Berlin up to the same time of day
    now = datetime.now(timezone.utc)
    start, _ = fake.period_range("today", "Europe/Berlin", now)
    previous = next(p for p in sent if "from" in p)
    assert previous["from"] == fake.rfc3339(fake.period_range("yesterday", "Europe/Berlin", now)[0])
    assert previous["to"] <= fake.rfc3339(start)


def test_previous_period_follows_the_server_when_they_disagree(page: Any, fake: FakeServer) -> None:
    fake.state.shift_periods = True  # this server starts "last week" 3 days earlier than the dashboard thinks
    goto(page, "#/overview?period=last_week")
    expect_cards(page, fake.totals(5), fake.totals(fake.previous_seed))
    now = datetime.now(timezone.utc)
    start, end = fake.period_range("last_week", "UTC", now)
    start -= timedelta(days=3)
    asked = [p for p in overview_requests(fake) if "from" in p]
    assert asked[-1]["from"] == fake.rfc3339(start - (end - start)) and asked[-1]["to"] == fake.rfc3339(start)


def test_previous_period_rules(page: Any) -> None:
    """period.js with a fixed clock: calendar units one step back, cut to the elapsed time."""
    goto(page, "#/catalog")
    result = page.evaluate("""async () => {
        const base = document.body.dataset.static;
        const p = await import(`${base}/js/period.js`);
        const now = Date.parse("2024-03-31T10:30:00Z");  // Sunday; DST starts in Berlin at 01:00 UTC
        const out = {};
        for (const name of ["today", "yesterday", "this_week", "last_week", "this_month", "last_month",
                            "last_year", "last_24_hours"]) {
          const r = p.ranges(name, "Europe/Berlin", now);
          out[name] = [r.current.map(p.iso), r.previous.map(p.iso)];
        }
        const c = p.ranges("custom", "UTC", now, "2024-03-01", "2024-03-07");
        out.custom = [c.current.map(p.iso), c.previous.map(p.iso)];
        return out;
    }""")
    assert result["today"] == [["2024-03-30T23:00:00Z", "2024-03-31T10:30:00Z"],
                               ["2024-03-29T23:00:00Z", "2024-03-30T10:30:00Z"]]
    assert result["yesterday"] == [["2024-03-29T23:00:00Z", "2024-03-30T23:00:00Z"],
                                   ["2024-03-28T23:00:00Z", "2024-03-29T23:00:00Z"]]
    assert result["this_week"][0][0] == "2024-03-24T23:00:00Z"
    assert result["last_week"] == [["2024-03-17T23:00:00Z", "2024-03-24T23:00:00Z"],
                                   ["2024-03-10T23:00:00Z", "2024-03-17T23:00:00Z"]]
    assert result["this_month"] == [["2024-02-29T23:00:00Z", "2024-03-31T10:30:00Z"],
                                    ["2024-01-31T23:00:00Z", "2024-02-29T23:00:00Z"]]  # capped at the month
    assert result["last_month"] == [["2024-01-31T23:00:00Z", "2024-02-29T23:00:00Z"],
                                    ["2023-12-31T23:00:00Z", "2024-01-31T23:00:00Z"]]
    assert result["last_year"][0] == ["2022-12-31T23:00:00Z", "2023-12-31T23:00:00Z"]
    assert result["last_24_hours"][1] == ["2024-03-29T10:30:00Z", "2024-03-30T10:30:00Z"]
    assert result["custom"] == [["2024-03-01T00:00:00Z", "2024-03-08T00:00:00Z"],
                                ["2024-02-23T00:00:00Z", "2024-03-01T00:00:00Z"]]


def test_breakdown_tabs_work_from_the_keyboard(page: Any, fake: FakeServer) -> None:
    goto(page, "#/overview?period=this_month")
    tablist = page.get_by_role("tablist", name="Audience breakdown")
    countries = tablist.get_by_role("tab", name="Countries")
    expect(countries).to_have_attribute("aria-selected", "true")
    countries.focus()
    page.keyboard.press("ArrowRight")
    platforms = tablist.get_by_role("tab", name="Platforms")
    expect(platforms).to_have_attribute("aria-selected", "true")
    expect(platforms).to_be_focused()
    expect(page).to_have_url(re.compile(r"breakdown=platform"))
    api = fake.get("/v1/analytics", period="this_month", group_by="platform", order="views.desc", per_page=250)
    panel = page.get_by_role("tabpanel")
    expect(panel.locator("tbody tr").first.locator("th")).to_have_text("Desktop")
    expect(panel.locator("tbody tr").first.locator('[data-col="views"]')).to_have_text(
        fmt_int(api["data"][0]["views"]))
    page.keyboard.press("End")
    expect(tablist.get_by_role("tab", name="Browsers")).to_have_attribute("aria-selected", "true")
    expect(panel.locator("tbody tr").first.locator("th")).to_have_text("Chrome")
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(r"breakdown=os"))
    expect(panel.locator("tbody tr").first.locator("th")).to_have_text("Windows")


def test_empty_workspace_shows_the_embed_snippet(page: Any, fake: FakeServer, screenshot: Any) -> None:
    fake.state.empty = True
    goto(page, "#/overview")
    expect(page.get_by_text("No plays in this period yet.")).to_be_visible()
    snippet = page.get_by_label("Embed snippet")
    expect(snippet).to_contain_text('<video data-video-id="vid-01"')
    expect(snippet).to_contain_text(f'<script src="{fake.url}/tracker.js" defer></script>')
    expect(card(page, "views").locator(".metric-value")).to_have_text("0")
    screenshot(page, "overview-empty")


# ---------------------------------------------------------------- one video, one stream


def test_video_page(page: Any, fake: FakeServer, screenshot: Any) -> None:
    goto(page, "#/video/vid-01?period=last_month")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to the course")
    api = fake.get("/v1/analytics/overview", period="last_month", video_id="vid-01", group_time="day")["data"]
    expect_cards(page, api["total"], fake.totals(fake.previous_seed, video=True))
    assert all(p.get("video_id") == "vid-01" for p in overview_requests(fake))
    retention = page.locator("section", has=page.get_by_role("heading", name="Audience retention"))
    expect(retention.locator("canvas")).to_have_count(1)
    expect(retention).to_contain_text("Of 250 unique impressions")
    retention.get_by_text("Show the numbers").click()
    expect(retention.locator("tbody tr").first).to_have_text(re.compile(r"0:00\s*250\s*100%"))
    screenshot(page, "video")


def test_stream_page_marks_the_peak(page: Any, fake: FakeServer, screenshot: Any) -> None:
    goto(page, "#/stream/str-townhall?period=this_month")
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekly town hall")
    peak = page.locator(".peak")
    expect(peak).to_contain_text("Peak: 137")
    expect(peak).to_contain_text("12 Mar 2024, 14:46")
    page.get_by_label("Broadcast").select_option(label="Town hall, 19 March")
    expect(page).to_have_url(re.compile(r"event_id=evt-0319"))
    expect(peak).to_contain_text("Peak: 137")
    asked = [p for path, p in fake.state.requests if path == "/v1/analytics/concurrency"]
    assert asked[0]["stream_id"] == "str-townhall" and asked[-1]["event_id"] == "evt-0319"
    screenshot(page, "stream")
