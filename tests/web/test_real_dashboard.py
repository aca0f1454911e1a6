"""The dashboard in headless Chromium against the real ``watchdepth serve`` holding known data.

One server and one import for the module (tests/web/real_data.py: the events and every
figure worked by hand from docs/metrics.md). Each page is checked three ways: the number on
the page, the API's answer for the same period, and the hand-worked value. Switches
(period, metric, interval, breakdown, broadcast) must change the URL and the content;
controls must be labelled and reachable by keyboard. Screenshots of each page go to
``$WATCHDEPTH_ARTIFACTS/screenshots`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import openpyxl
import pytest
import real_data as rd
from playwright.sync_api import expect
from real_server import goto, new_context, ready, screenshot, start, watched_page

from tests.conftest import Server

pytestmark = pytest.mark.browser

CARD_ORDER = ["views", "player_loads", "view_rate", "unique_views", "watch_time", "avg_watch_time", "watch_depth"]
RATES = {"view_rate", "watch_depth"}
DURATIONS = {"watch_time", "avg_watch_time"}


def shown(key: str, value: int) -> str:
    """How a card writes a value (format.js): 50%, 30s, 2."""
    if key in RATES:
        return f"{value}%"
    if key in DURATIONS:
        return f"{value}s" if value < 60 else f"{value // 60}m {value % 60}s" if value % 60 else f"{value // 60}m"
    return f"{value:,}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start(tmp_path_factory.mktemp("dashboard"))
    try:
        rd.make_catalog(s)
        r = s.import_events(rd.events())
        assert r.status_code == 202, r.text
        yield s
    finally:
        s.stop()
        s.client.close()


@pytest.fixture(scope="module")
def ctx(browser: Any, server: Server) -> Iterator[Any]:
    c = new_context(browser, server)
    yield c
    c.close()


@pytest.fixture
def page(ctx: Any) -> Iterator[Any]:
    with watched_page(ctx) as p:
        yield p


def api(server: Server, path: str, **params: Any) -> Any:
    return server.ok("GET", path, params=params)


def period_params(query: str) -> dict[str, str]:
    """The API parameters of a dashboard period (custom range: from/to dates, the API's `to` exclusive)."""
    q = {k: v[0] for k, v in parse_qs(query).items()}
    to = (date.fromisoformat(q["to"]) + timedelta(days=1)).isoformat() if q["period"] == "custom" else ""
    return {"from": q["from"], "to": to} if q["period"] == "custom" else {"period": q["period"]}


def hash_params(page: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).fragment.partition("?")[2]).items()}


def card_values(page: Any) -> dict[str, str]:
    return {k: page.locator(f'.metric-card[data-metric="{k}"] .metric-value').inner_text() for k in CARD_ORDER}


def expect_cards(page: Any, values: dict[str, int], changes: dict[str, str] | None = None) -> None:
    for key, value in values.items():
        expect(page.locator(f'.metric-card[data-metric="{key}"] .metric-value')).to_have_text(shown(key, value))
        if changes:
            expect(page.locator(f'.metric-card[data-metric="{key}"] .delta')).to_contain_text(changes[key])


def timeline_cells(page: Any) -> list[str]:
    table = page.locator(".card-wide").first.locator(".data-table")
    if not table.evaluate("d => d.open"):
        table.locator("summary").click()
    return table.locator("tbody td").all_inner_texts()


# ---------------------------------------------------------------- sign-in


def test_sign_in_with_a_token_sets_an_httponly_samesite_cookie(browser: Any, server: Server) -> None:
    ctx = new_context(browser, server, signed_in=False)
    try:
        with watched_page(ctx, allowed=("401",)) as page:
            page.goto(f"/#/overview?{rd.CURRENT}")
            token = page.get_by_label("API token")
            expect(token).to_be_focused()
            token.fill("wd_not-a-token")
            page.keyboard.press("Enter")
            expect(page.get_by_role("alert")).to_contain_text("not valid")
            expect(page.get_by_label("API token")).to_have_attribute("aria-invalid", "true")
            screenshot(page, "signin-error")
            page.get_by_label("API token").fill(server.token)
            page.get_by_role("button", name="Sign in").click()
            ready(page)
            expect(page.get_by_role("heading", level=1)).to_have_text("Workspace analytics")
            cookie = next(c for c in ctx.cookies() if c["name"] == "wd_token")
            assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["value"] == server.token
            assert "wd_token" not in page.evaluate("document.cookie")
            # The API takes the same cookie: the page's fetches carry no token of their own.
            assert page.evaluate("fetch('/v1/projects').then(r => r.status)") == 200
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_label("API token")).to_be_visible()
            assert page.evaluate("fetch('/v1/projects').then(r => r.status)") == 401
    finally:
        ctx.close()


# ---------------------------------------------------------------- workspace


def test_workspace_numbers_equal_the_api_and_the_hand_worked_ones(page: Any, server: Server) -> None:
    goto(page, f"#/overview?{rd.CURRENT}")
    body = api(server, "/v1/analytics/overview", **period_params(rd.CURRENT), group_time="hour")
    total = body["data"]["total"]
    assert {k: total[k] for k in CARD_ORDER} == rd.WORKSPACE
    expect_cards(page, rd.WORKSPACE, rd.WORKSPACE_CHANGES)
    expect(page.locator(".subtitle")).to_have_text("Custom range · 5 Jan 2026 – 6 Jan 2026 · UTC")

    # Two days are drawn hourly: 48 points, views 1 at 10:00 on 5 Jan and at 01:00 on 6 Jan.
    cells = timeline_cells(page)
    assert cells == [str(p["views"]) for p in body["data"]["timeline"]]
    assert len(cells) == 48 and cells[10] == "1" and cells[24 + 1] == "1" and cells.count("0") == 46

    top = api(
        server, "/v1/analytics", **period_params(rd.CURRENT), group_by="video_id", order="views.desc", per_page=25
    )["data"]
    rows = page.locator(".table-top tbody tr")
    expect(rows).to_have_count(len(rd.TOP))
    for i, row in enumerate(top):
        hand = rd.TOP[row["video_id"]]
        assert {k: row[k] for k in hand} == hand
        r = rows.nth(i)
        expect(r).to_have_attribute("data-key", row["video_id"])
        expect(r.get_by_role("link")).to_have_text(hand["title"])
        for key in ("views", "player_loads", "view_rate", "watch_time", "watch_depth"):
            expect(r.locator(f'[data-col="{key}"]')).to_have_text(shown(key, hand[key]))

    countries = api(
        server, "/v1/analytics", **period_params(rd.CURRENT), group_by="country", order="views.desc", per_page=250
    )["data"]
    table = page.locator(".table-breakdown tbody tr")
    expect(table).to_have_count(3)
    names = table.locator(".bar-label").all_inner_texts()
    seen = {
        n: (
            int(table.nth(i).locator('[data-col="player_loads"]').inner_text()),
            int(table.nth(i).locator('[data-col="views"]').inner_text()),
        )
        for i, n in enumerate(names)
    }
    assert seen == rd.COUNTRIES
    assert [c["views"] for c in countries] == [seen[n][1] for n in names]
    expect(page.locator(".world-map, svg").first).to_be_visible()
    screenshot(page, "workspace")


def test_period_metric_and_interval_switches_change_the_url_and_the_content(page: Any, server: Server) -> None:
    goto(page, f"#/overview?{rd.CURRENT}")
    page.get_by_label("Interval").select_option("day")
    ready(page)
    assert hash_params(page)["group_time"] == "day"
    expect(page.get_by_role("heading", name="Views per day")).to_be_visible()
    assert timeline_cells(page) == [str(v) for v in rd.TIMELINE["views"]]

    page.get_by_role("group", name="Chart metric").get_by_label("Watch time", exact=True).check()
    ready(page)
    assert hash_params(page)["metric"] == "watch_time"
    expect(page.get_by_role("heading", name="Watch time per day")).to_be_visible()
    assert timeline_cells(page) == [f"{v}s" for v in rd.TIMELINE["watch_time"]]
    page.get_by_role("group", name="Chart metric").get_by_label("Unique impressions").check()
    ready(page)
    assert timeline_cells(page) == [str(v) for v in rd.TIMELINE["unique_views"]]

    # All time: the previous period, the current one and the stream day.
    page.get_by_label("Period").select_option("all_time")
    ready(page)
    params = hash_params(page)
    assert params["period"] == "all_time" and "from" not in params and params["metric"] == "unique_views"
    total = api(server, "/v1/analytics/overview", period="all_time")["data"]["total"]
    # loads 2 + 4 + 3 = 9; impressions 1 + 3 + 3 = 7; views 1 + 2 + 3 = 6; 20 + 30.4 + 70 = 120.4 -> 120;
    # rate 6/9 = 66.7 -> 67; avg over the 7 impressions' whole watched sets 120.4/7 = 17.2 -> 17.
    hand = {"player_loads": 9, "unique_views": 7, "views": 6, "watch_time": 120, "view_rate": 67, "avg_watch_time": 17}
    assert {k: total[k] for k in hand} == hand
    expect_cards(page, hand)
    expect_cards(page, {"watch_depth": total["watch_depth"]})
    expect(page.locator('.metric-card[data-metric="views"] .metric-change')).to_have_text("No previous period")

    # Back in history: the custom range, its numbers again.
    page.go_back()
    ready(page)
    assert hash_params(page)["period"] == "custom"
    expect_cards(page, rd.WORKSPACE)

    # A custom range typed in: last year (2025, no data) first, then 3–4 January by hand.
    page.get_by_label("Period").select_option("last_year")
    ready(page)
    expect_cards(page, {"views": 0, "player_loads": 0})
    page.get_by_label("Period").select_option("custom")
    expect(page.get_by_label("From", exact=True)).to_be_focused()
    page.get_by_label("From", exact=True).fill("2026-01-03")
    page.get_by_label("To", exact=True).fill("2026-01-04")
    page.get_by_role("button", name="Apply").click()
    ready(page)
    params = hash_params(page)
    assert (params["period"], params["from"], params["to"]) == ("custom", "2026-01-03", "2026-01-04")
    expect_cards(page, rd.WORKSPACE_PREVIOUS)


def test_breakdown_tabs_from_the_keyboard(page: Any, server: Server) -> None:
    goto(page, f"#/overview?{rd.CURRENT}")
    audience = page.get_by_role("tablist", name="Audience breakdown")  # the quality card has tabs of its own
    tab = audience.get_by_role("tab", name="Countries")
    tab.focus()
    page.keyboard.press("ArrowRight")
    ready(page)
    assert hash_params(page)["breakdown"] == "platform"
    expect(audience.get_by_role("tab", name="Platforms")).to_be_focused()
    expect(audience.get_by_role("tab", name="Platforms")).to_have_attribute("aria-selected", "true")
    rows = page.locator(".table-breakdown tbody tr")
    expect(rows).to_have_count(2)
    seen = {
        rows.nth(i).locator(".bar-label").inner_text(): (
            int(rows.nth(i).locator('[data-col="player_loads"]').inner_text()),
            int(rows.nth(i).locator('[data-col="views"]').inner_text()),
        )
        for i in range(2)
    }
    assert seen == rd.PLATFORMS
    api_rows = api(server, "/v1/analytics", **period_params(rd.CURRENT), group_by="platform")["data"]
    assert {r["platform"]: (r["player_loads"], r["views"]) for r in api_rows} == {
        "desktop": (3, 2),
        "smartphone": (1, 0),
    }
    page.keyboard.press("End")
    ready(page)
    assert hash_params(page)["breakdown"] == "browser"
    browsers = {
        r["browser"] for r in api(server, "/v1/analytics", **period_params(rd.CURRENT), group_by="browser")["data"]
    }
    assert set(page.locator(".table-breakdown tbody .bar-label").all_inner_texts()) == browsers
    screenshot(page, "workspace-browsers")


# ---------------------------------------------------------------- one video, one stream


def test_video_page_with_retention(page: Any, server: Server) -> None:
    goto(page, f"#/video/v1?{rd.CURRENT}")
    expect(page.get_by_role("heading", level=1)).to_have_text("One")
    total = api(server, "/v1/analytics/overview", **period_params(rd.CURRENT), video_id="v1")["data"]["total"]
    assert {k: total[k] for k in CARD_ORDER} == rd.VIDEO_V1
    expect_cards(page, rd.VIDEO_V1, rd.VIDEO_V1_CHANGES)

    retention = api(server, "/v1/analytics/retention", **period_params(rd.CURRENT), video_id="v1")["data"]
    assert [(p["second"], p["viewers"]) for p in retention["points"]] == rd.RETENTION_V1
    card = page.locator("section.card", has=page.get_by_role("heading", name="Audience retention"))
    expect(card.locator("p.muted")).to_have_text(
        "Of 2 unique impressions, the share still watching at each second of 1:40."
    )
    expect(card.get_by_role("img")).to_be_visible()
    card.locator("summary").click()
    rows = card.locator(".data-table tbody tr")
    expect(rows).to_have_count(100)
    for second, viewers in [(0, 2), (3, 2), (4, 1), (14, 1), (15, 0), (99, 0)]:
        share = {2: "100%", 1: "50%", 0: "0%"}[viewers]
        expect(rows.nth(second)).to_have_text(
            re.compile(rf"^0:{second:02d}\s*{viewers}\s*{share}$")
            if second < 60
            else re.compile(rf"^1:{second - 60:02d}\s*{viewers}\s*{share}$")
        )
    # The audience of this video only: RU (A1, A2) and US (B1).
    expect(page.locator(".table-breakdown tbody .bar-label")).to_have_text(["Russia", "United States"])
    screenshot(page, "video")


def test_stream_page_with_concurrent_viewers_and_the_peak(page: Any, server: Server) -> None:
    goto(page, f"#/stream/s1?{rd.STREAM_DAY}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Live")
    total = api(server, "/v1/analytics/overview", **period_params(rd.STREAM_DAY), stream_id="s1")["data"]["total"]
    assert {k: total[k] for k in rd.STREAM} == rd.STREAM
    expect_cards(page, rd.STREAM)
    # A live stream has no length, so no watch depth: its card is left out.
    expect(page.locator(".metric-card")).to_have_count(6)
    expect(page.locator('.metric-card[data-metric="watch_depth"]')).to_have_count(0)

    body = api(server, "/v1/analytics/concurrency", **period_params(rd.STREAM_DAY), stream_id="s1", step=300)["data"]
    peak, at = rd.STREAM_PEAK
    assert (body["peak_concurrent_viewers"], body["peak_at"]) == (peak, at)
    strong = page.locator(".peak strong")
    expect(strong).to_have_attribute("data-value", str(peak))
    expect(page.locator(".peak")).to_have_attribute("data-at", at)
    expect(page.locator(".peak")).to_have_text("Peak: 2 concurrent viewers at 7 Jan 2026, 02:00:11")
    expect(page.get_by_role("img", name=re.compile("Concurrent viewers; peak 2"))).to_be_visible()
    screenshot(page, "stream")

    # One broadcast: the URL takes it and the page is about that event (all three plays were e1's).
    page.get_by_label("Broadcast").select_option("e1")
    ready(page)
    assert hash_params(page)["event_id"] == "e1"
    expect(page.get_by_label("Broadcast")).to_have_value("e1")
    expect_cards(page, rd.STREAM)
    expect(page.locator(".peak strong")).to_have_attribute("data-value", "2")


def test_a_broadcast_from_the_top_list_opens_without_retention(ctx: Any, server: Server) -> None:
    with watched_page(ctx, allowed=("404",)) as page:
        goto(page, f"#/overview?{rd.STREAM_DAY}")
        page.locator(".table-top").get_by_role("link", name="Episode 1").click()
        ready(page)
        expect(page.get_by_role("heading", level=1)).to_have_text("Broadcast e1")
        expect_cards(page, rd.STREAM)
        expect(page.get_by_text("Retention is drawn for videos")).to_be_visible()
        expect(page.locator(".message-error")).to_have_count(0)


# ---------------------------------------------------------------- referrers


def test_referrers_groups_collapse_and_expand_and_export(page: Any, server: Server, tmp_path: Path) -> None:
    goto(page, f"#/referrers?{rd.CURRENT}")
    groups = page.locator("tr.group-row")
    expect(groups).to_have_count(2)
    body = api(server, "/v1/analytics/referrers", **period_params(rd.CURRENT))["data"]
    assert {
        d["domain"]: (
            (d["views"], d["player_loads"], d["view_rate"]),
            {p["url"]: (p["views"], p["player_loads"], p["view_rate"]) for p in d["pages"]},
        )
        for d in body
    } == rd.REFERRERS
    for i, d in enumerate(body):
        row = groups.nth(i)
        expect(row).to_have_attribute("data-domain", d["domain"])
        expect(row.locator('[data-col="views"]')).to_have_text(str(d["views"]))
        expect(row.locator('[data-col="player_loads"]')).to_have_text(str(d["player_loads"]))
        expect(row.locator('[data-col="view_rate"]')).to_have_text(f"{d['view_rate']}%")
    children = page.locator("tr.child-row")
    expect(children).to_have_count(3)
    for i in range(3):
        expect(children.nth(i)).to_be_hidden()

    example = page.get_by_role("button", name=re.compile("^example.com"))
    expect(example).to_have_attribute("aria-expanded", "false")
    example.click()
    expect(example).to_have_attribute("aria-expanded", "true")
    pages = page.locator('tr.child-row[data-url^="example.com/"]')
    expect(pages).to_have_count(2)
    for url, (views, loads, rate) in rd.REFERRERS["example.com"][1].items():
        row = page.locator(f'tr.child-row[data-url="{url}"]')
        expect(row).to_be_visible()
        expect(row.locator('[data-col="views"]')).to_have_text(str(views))
        expect(row.locator('[data-col="player_loads"]')).to_have_text(str(loads))
        expect(row.locator('[data-col="view_rate"]')).to_have_text(f"{rate}%")
    expect(page.locator('tr.child-row[data-url="blog.example.org/p/1"]')).to_be_hidden()
    assert hash_params(page)["open"] == "example.com"
    # From the keyboard: the other domain opens with Enter.
    blog = page.get_by_role("button", name=re.compile("^blog.example.org"))
    blog.focus()
    page.keyboard.press("Enter")
    expect(blog).to_have_attribute("aria-expanded", "true")
    expect(page.locator('tr.child-row[data-url="blog.example.org/p/1"]')).to_be_visible()
    screenshot(page, "referrers")
    page.get_by_role("button", name="Collapse all").click()
    for i in range(3):
        expect(children.nth(i)).to_be_hidden()
    assert "open" not in hash_params(page)
    example.click()  # collapse again after expanding: a toggle
    example.click()
    expect(example).to_have_attribute("aria-expanded", "false")

    # Export links carry the page's parameters; the files hold the same numbers.
    link = page.get_by_role("link", name="Export CSV")
    assert link.get_attribute("href") == "/v1/analytics/referrers.csv?from=2026-01-05&to=2026-01-07&order=views.desc"
    with page.expect_download() as info:
        link.click()
    path = tmp_path / "referrers.csv"
    info.value.save_as(path)
    lines = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    got = {
        (r["domain"], r["url"] or None): (int(r["views"]), int(r["player_loads"]), int(r["view_rate"])) for r in lines
    }
    assert got[("example.com", None)] == (2, 3, 67)
    assert got[("example.com", "example.com/watch")] == (1, 2, 50)
    assert got[("blog.example.org", "blog.example.org/p/1")] == (0, 1, 0)
    expect(page.get_by_role("status").filter(has_text="Saved")).to_have_text("Saved referrers.csv.")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export XLSX").click()
    xlsx = tmp_path / "referrers.xlsx"
    info.value.save_as(xlsx)
    book = openpyxl.load_workbook(xlsx, read_only=True)
    try:
        values = [list(r) for r in book.active.iter_rows(values_only=True)]
    finally:
        book.close()
    assert values[0][:5] == ["domain", "url", "views", "player_loads", "view_rate"]
    assert ["example.com", None, 2, 3, 67] in [v[:5] for v in values]


def test_an_export_the_server_lacks_says_so(ctx: Any) -> None:
    with watched_page(ctx, allowed=("404",)) as page:
        goto(page, f"#/referrers?{rd.CURRENT}")
        page.route(
            re.compile(r".*/v1/analytics/referrers\.csv.*"),
            lambda route: route.fulfill(
                status=404, content_type="application/json", body='{"error": {"code": 404404, "message": "Not found"}}'
            ),
        )
        page.get_by_role("link", name="Export CSV").click()
        expect(page.locator(".export-note")).to_have_text(
            "Export to files is not available on this server (it answered 404)."
        )
        page.route(
            re.compile(r".*/v1/analytics/exports$"),
            lambda route: route.fulfill(
                status=404, content_type="application/json", body='{"error": {"code": 404404, "message": "Not found"}}'
            ),
        )
        page.get_by_role("button", name="Export report").click()
        dialog = page.get_by_role("dialog", name="Export report")
        dialog.get_by_role("button", name="Start export").click()
        expect(dialog.get_by_role("status")).to_have_text(
            "Report exports are not available on this server (it answered 404)."
        )
        expect(dialog.get_by_role("button", name="Start export")).to_be_enabled()


# ---------------------------------------------------------------- viewer, catalog


def test_per_viewer_report_by_external_id(page: Any, server: Server) -> None:
    goto(page, "#/viewer")
    listed = api(server, "/v1/analytics", period="all_time", group_by="external_id", order="watch_time.desc")["data"]
    ids = [r["external_id"] for r in listed if r["external_id"]]
    assert set(ids) == {"alice", "bob"}
    expect(page.locator(".slot tbody tr th a")).to_have_text(ids)  # by watch time, the plays without an id left out
    page.get_by_label("Find a viewer by external ID").fill("ali")
    page.keyboard.press("Enter")
    ready(page)
    expect(page.locator(".slot tbody tr th a")).to_have_text(["alice"])
    page.get_by_role("link", name="alice").click()
    ready(page)
    assert hash_params(page)["external_id"] == "alice"
    rows = api(server, "/v1/analytics", period="all_time", group_by="external_id,video_id", external_id="alice")["data"]
    assert {r["video_id"]: {k: r[k] for k in rd.ALICE["v1"]} for r in rows} == rd.ALICE
    table = page.locator(".slot tbody tr")
    expect(table).to_have_count(1)
    row = table.first
    expect(row.get_by_role("link")).to_have_text("One")
    expect(row.locator('[data-col="watch_time"]')).to_have_text("15s")
    expect(row.locator('[data-col="watch_depth"]')).to_have_text("15%")
    expect(row.locator('[data-col="views"]')).to_have_text("1")
    expect(row.locator('[data-col="player_loads"]')).to_have_text("2")
    expect(page.get_by_text("1 video · 15s watched in all")).to_be_visible()
    screenshot(page, "viewer")
    page.get_by_label("Find a viewer by external ID").fill("carol")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No viewer’s ID contains “carol” in this period.")).to_be_visible()


def test_catalog_reaches_an_item_in_two_clicks(page: Any, server: Server) -> None:
    goto(page, f"#/overview?{rd.CURRENT}")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()  # 1
    ready(page)
    videos = page.get_by_role("region", name="Videos").locator("tbody tr")
    expect(videos).to_have_count(3)  # every video of every project
    videos.get_by_role("link", name="Two").click()  # 2
    ready(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Two")
    assert urlsplit(page.url).fragment == f"/video/v2?{rd.CURRENT}"
    # v2 in the period: D1 only. A view, 10.5 s -> 11, depth 100%.
    expect_cards(page, {"views": 1, "player_loads": 1, "watch_time": 11, "watch_depth": 100})

    goto(page, "#/catalog?project_id=p1")
    toggle = page.get_by_role("button", name="Subfolders of a")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    sub = page.get_by_role("link", name="b", exact=True)
    expect(sub).to_be_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    sub.click()
    ready(page)
    expect(page.get_by_role("heading", name="Project one / a / b")).to_be_visible()
    expect(videos).to_have_count(1)
    expect(videos.first.get_by_role("link")).to_have_text("Two")
    screenshot(page, "catalog")
    goto(page, "#/catalog?project_id=p2")
    page.get_by_role("link", name="Live").click()
    ready(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Live")


# ---------------------------------------------------------------- export report


def test_export_report_dialog_runs_a_real_export(page: Any, server: Server) -> None:
    goto(page, f"#/overview?{rd.CURRENT}")
    opener = page.get_by_role("button", name="Export report")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Export report")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Period")).to_have_value("custom")
    expect(dialog.get_by_label("From", exact=True)).to_have_value("2026-01-05")
    expect(dialog.get_by_label("To", exact=True)).to_have_value("2026-01-06")
    dialog.get_by_label("a", exact=True).check()
    dialog.get_by_label("Peak concurrent viewers").uncheck()
    dialog.get_by_label("CSV").check()
    screenshot(page, "export-dialog", full_page=False)
    dialog.get_by_role("button", name="Start export").click()
    status = dialog.get_by_role("status")
    expect(status).to_have_attribute("data-state", "done", timeout=20000)
    expect(status).to_contain_text("Done: the report is ready.")
    href = dialog.get_by_role("link", name="Download report").get_attribute("href")
    assert urlsplit(href).path.startswith("/exports/download/")
    # The report: folder a and its subfolder b, 5–6 Jan: v1 (one view, 3 loads) and v2 (one view, 1 load).
    with zipfile.ZipFile(io.BytesIO(httpx.get(href).raise_for_status().content)) as z:
        name = next(n for n in z.namelist() if n.endswith(".csv"))
        rows = list(csv.DictReader(io.StringIO(z.read(name).decode("utf-8-sig"))))
    got = {r["video_id"]: (int(r["views"]), int(r["player_loads"])) for r in rows}
    assert got == {"v1": (1, 3), "v2": (1, 1)}
    assert "peak_concurrent_viewers" not in rows[0]
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


# ---------------------------------------------------------------- every page: labels, keyboard


UNNAMED_CONTROLS = """() => {
  const name = (el) => {
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
    const by = el.getAttribute("aria-labelledby");
    if (by) return by.split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" ");
    if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(" ");
    return el.textContent || el.getAttribute("title") || "";
  };
  const controls = document.querySelectorAll(
    "a[href], button, input, select, textarea, [role=tab], [role=tablist], [role=img], fieldset, [role=tabpanel], nav");
  return [...controls].filter((el) => el.type !== "hidden" && !name(el).trim()).map((el) => el.outerHTML.slice(0, 120));
}"""

PAGES = [
    f"#/overview?{rd.CURRENT}",
    f"#/video/v1?{rd.CURRENT}",
    f"#/stream/s1?{rd.STREAM_DAY}",
    "#/live",
    f"#/referrers?{rd.CURRENT}",
    "#/viewer?external_id=alice",
    "#/catalog?project_id=p1&folder_id=fa",
]


def test_every_page_loads_with_labelled_controls_and_the_db_ip_line(page: Any) -> None:
    for hash_ in PAGES:
        goto(page, hash_)
        expect(page.get_by_role("heading", level=1)).not_to_have_text("")
        assert page.evaluate(UNNAMED_CONTROLS) == [], hash_
        expect(page.locator(".message-error")).to_have_count(0)
        expect(page.locator('.mainnav a[aria-current="page"]')).to_have_count(1)
        expect(page.get_by_role("link", name="IP Geolocation by DB-IP")).to_have_attribute("href", "https://db-ip.com")
    goto(page, "#/catalog?project_id=p1&folder_id=fa")
    screenshot(page, "catalog-folder")


def test_tab_order_reaches_the_controls(page: Any) -> None:
    goto(page, f"#/overview?{rd.CURRENT}")
    page.locator("body").focus()
    names = []
    for _ in range(40):
        page.keyboard.press("Tab")
        names.append(
            page.evaluate("""() => {
          const el = document.activeElement;
          const label = el.labels?.[0]?.textContent || el.getAttribute("aria-label") || el.textContent || "";
          return `${el.tagName.toLowerCase()}:${label.trim().slice(0, 30)}`;
        }""")
        )
    assert names[0] == "a:Skip to content"
    want = [
        "a:Overview",
        "button:Export report",
        "select:Period",
        "input:From",
        "button:Apply",
        "select:Time zone",
        "input:Views",
        "select:Interval",
        "a:One",
        "button:Countries",
    ]
    positions = [names.index(w) for w in want]
    assert positions == sorted(positions), names
    # The skip link moves focus to the content.
    page.reload()
    ready(page)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
