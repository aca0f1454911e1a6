"""The dashboard's other pages in headless Chromium against the fake API (fake_api.py).

Watching now (server push and polling), referrers (collapsible groups from the keyboard,
export links), per-viewer search, catalog (two clicks to any item), the export dialog,
labels and keyboard focus on every page, and the page's own drawing time.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from page_helpers import fmt_duration, fmt_int, goto, hash_params
from playwright.sync_api import expect

FakeServer = Any  # conftest.FakeServer, reached through the `fake` fixture
pytestmark = pytest.mark.browser

# ---------------------------------------------------------------- live


def test_watching_now_updates_from_server_push(page: Any, fake: FakeServer, screenshot: Any) -> None:
    goto(page, "#/live")
    count = page.locator(".live-count")
    expect(page.locator("main")).to_have_attribute("data-live-mode", "sse")
    first = int(count.get_attribute("data-value"))
    assert first >= 4
    expect(count).not_to_have_attribute("data-value", str(first), timeout=3500)
    expect(page.get_by_role("link", name="Welcome to the course")).to_be_visible()
    screenshot(page, "live")


def test_watching_now_polls_without_server_push(page: Any, fake: FakeServer, console: Any) -> None:
    fake.state.sse = False
    console.allowed += ["404", "EventSource"]
    goto(page, "#/live")
    expect(page.locator("main")).to_have_attribute("data-live-mode", "poll")
    count = page.locator(".live-count")
    first = count.get_attribute("data-value")
    expect(count).not_to_have_attribute("data-value", first, timeout=3500)
    assert sum(1 for path, _ in fake.state.requests if path == "/v1/analytics/realtime") >= 2


# ---------------------------------------------------------------- referrers


def test_referrer_groups_collapse_and_expand_from_the_keyboard(page: Any, fake: FakeServer, screenshot: Any) -> None:
    goto(page, "#/referrers?period=last_month")
    api = fake.get("/v1/analytics/referrers", period="last_month", order="views.desc", per_page=50)["data"]
    group = page.get_by_role("button", name=re.compile(r"^learn\.example\.com"))
    expect(group).to_have_attribute("aria-expanded", "false")
    row = page.locator(".group-row").first
    expect(row.locator('[data-col="views"]')).to_have_text(fmt_int(api[0]["views"]))
    expect(row.locator('[data-col="view_rate"]')).to_have_text(f"{api[0]['view_rate']}%")
    child = page.locator("tr.child-row", has=page.get_by_role("link", name="/python/intro"))
    expect(child).to_be_hidden()

    group.focus()
    page.keyboard.press("Enter")
    expect(group).to_have_attribute("aria-expanded", "true")
    expect(child).to_be_visible()
    expect(child.locator('[data-col="views"]')).to_have_text(fmt_int(api[0]["pages"][0]["views"]))
    assert hash_params(page)["open"] == "learn.example.com"
    screenshot(page, "referrers")
    page.keyboard.press("Space")
    expect(group).to_have_attribute("aria-expanded", "false")
    expect(child).to_be_hidden()

    page.get_by_role("button", name="Expand all").click()
    expect(page.locator("tr.child-row:visible")).to_have_count(sum(len(g["pages"]) for g in api))
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-wd-state", "ready")
    expect(page.locator("tr.child-row:visible")).to_have_count(6)  # open groups came back from the URL

    csv = page.get_by_role("link", name="Export CSV")
    assert csv.get_attribute("href").startswith("/v1/analytics/referrers.csv?period=last_month")
    download = page.request.get(csv.get_attribute("href"))
    assert download.status == 200 and download.text().startswith("domain,url,views")
    assert page.get_by_role("link", name="Export XLSX").get_attribute("href").startswith(
        "/v1/analytics/referrers.xlsx?")

    page.get_by_role("button", name=re.compile("Player loads")).click()
    expect(page).to_have_url(re.compile(r"order=player_loads\.desc"))
    expect(page.get_by_role("columnheader", name=re.compile("Player loads"))).to_have_attribute(
        "aria-sort", "descending")


# ---------------------------------------------------------------- per viewer


def test_viewer_search(page: Any, fake: FakeServer, screenshot: Any) -> None:
    goto(page, "#/viewer")
    expect(page.get_by_text("Search for a viewer by their external ID.")).to_be_visible()
    page.get_by_label("Viewer's external ID").fill(fake.viewer)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"external_id={fake.viewer}"))
    api = fake.get("/v1/analytics", period="all_time", group_by="external_id,video_id", external_id=fake.viewer,
                   order="watch_time.desc", per_page=1000)["data"]
    rows = page.locator(".slot tbody tr")
    expect(rows).to_have_count(len(api))
    for i, r in enumerate(api):
        expect(rows.nth(i).get_by_role("link")).to_have_text(r["title"])
        expect(rows.nth(i).locator('[data-col="watch_time"]')).to_have_text(fmt_duration(r["watch_time"]))
        expect(rows.nth(i).locator('[data-col="watch_depth"]')).to_have_text(f"{r['watch_depth']}%")
    asked = [p for path, p in fake.state.requests if p.get("group_by") == "external_id,video_id"]
    assert asked[-1]["external_id"] == fake.viewer
    screenshot(page, "viewer")
    page.get_by_label("Viewer's external ID").fill("nobody")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No plays by “nobody” in this period.")).to_be_visible()


# ---------------------------------------------------------------- catalog


def test_catalog_reaches_any_item_in_two_clicks(page: Any, fake: FakeServer, screenshot: Any) -> None:
    goto(page, "#/overview?period=last_week")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()  # 1
    page.get_by_role("link", name="Functions").click()  # 2
    expect(page.get_by_role("heading", level=1)).to_have_text("Functions")
    assert urlsplit(page.url).fragment == "/video/vid-05?period=last_week"

    goto(page, "#/catalog?project_id=p-academy")
    toggle = page.get_by_role("button", name="Subfolders of Courses")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    python = page.get_by_role("link", name="Python", exact=True)
    expect(python).to_be_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    python.click()
    expect(page.get_by_role("heading", name="Academy / Courses / Python")).to_be_visible()
    expect(page.locator(".slot tbody tr").first.get_by_role("link")).to_have_text("Installing Python")
    expect(page.get_by_role("link", name="Weekly town hall")).to_be_visible()
    screenshot(page, "catalog")
    page.get_by_role("link", name="Weekly town hall").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekly town hall")


# ---------------------------------------------------------------- export dialog


def test_export_report_dialog(page: Any, fake: FakeServer, screenshot: Any) -> None:
    goto(page, "#/overview?period=last_month")
    opener = page.get_by_role("button", name="Export report")
    opener.click()
    dialog = page.get_by_role("dialog", name="Export report")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Period")).to_have_value("last_month")
    dialog.get_by_label("Python").check()
    dialog.get_by_label("Peak concurrent viewers").uncheck()
    dialog.get_by_label("Excel (XLSX)").check()
    dialog.get_by_label("E-mail the link to (optional)").fill("ops@example.com")
    screenshot(page, "export-dialog", full_page=False)
    dialog.get_by_role("button", name="Start export").click()
    expect(dialog.get_by_role("link", name="Download report")).to_have_attribute("href", "/downloads/exp-1.csv?sig=abc")
    expect(dialog.get_by_role("status")).to_contain_text("sent to ops@example.com")
    body = fake.state.exports[0]
    assert body["period"] == "last_month" and body["folder_ids"] == ["f-python"]
    assert body["format"] == "xlsx" and body["email"] == "ops@example.com"
    assert "peak_concurrent_viewers" not in body["fields"] and "watch_depth" in body["fields"]
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


# ---------------------------------------------------------------- every page, accessibility


PAGES = ["#/overview", "#/video/vid-01", "#/stream/str-townhall", "#/live", "#/referrers",
         "#/viewer?external_id=student-42", "#/catalog?project_id=p-academy"]

UNNAMED_CONTROLS = """() => {
  const name = (el) => {
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
    const by = el.getAttribute("aria-labelledby");
    if (by) return by.split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" ");
    if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(" ");
    return el.textContent || el.getAttribute("title") || "";
  };
  const controls = document.querySelectorAll(
    "a[href], button, input, select, textarea, [role=tab], [role=tablist], [role=img], fieldset, [role=tabpanel], nav, dialog");
  return [...controls].filter((el) => el.type !== "hidden" && !name(el).trim()).map((el) => el.outerHTML.slice(0, 120));
}"""


def test_every_page_loads_with_labelled_controls(page: Any, fake: FakeServer) -> None:
    for hash_ in PAGES:
        page.goto("about:blank")
        goto(page, hash_)
        expect(page.get_by_role("heading", level=1)).not_to_have_text("")
        expect(page.locator("main [aria-busy=true]")).to_have_count(0)
        assert page.evaluate(UNNAMED_CONTROLS) == [], hash_
        link = page.get_by_role("link", name="IP Geolocation by DB-IP")
        expect(link).to_have_attribute("href", "https://db-ip.com")
        expect(page.locator('.mainnav a[aria-current="page"]')).to_have_count(1)
        expect(page.locator(".message-error")).to_have_count(0)


def test_keyboard_reaches_the_controls_with_a_visible_focus_ring(page: Any, fake: FakeServer) -> None:
    goto(page, "#/overview")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("""() => {
            const el = document.activeElement;
            const s = getComputedStyle(el);
            return [el.id || el.textContent.trim().slice(0, 20), s.outlineStyle !== "none" && s.outlineWidth !== "0px"];
        }"""))
    names = [n for n, _ in seen]
    assert "filter-period" in names and "filter-tz" in names
    assert all(ring for _, ring in seen), seen


def test_workspace_page_is_drawn_fast(page: Any, fake: FakeServer) -> None:
    """The page's own share of the 1 s budget (cards, chart, top 25, map all drawn), static files cached.

    The 10M-event benchmark runs against the real server; this one has a fake API that answers at once.
    """
    times = []
    for _ in range(3):
        goto(page, "#/overview?period=last_year")
        expect(page.locator(".world-map")).to_be_visible()
        times.append(page.evaluate("performance.getEntriesByName('wd-ready')[0].startTime"))
        page.goto("about:blank")
    warm = sorted(times[1:])[0]
    assert warm < 1000, f"drawn after {times} ms"
