"""What only a controllable fake API (fake_api.py) can show, in headless Chromium.

The pages themselves are tested against the real server in test_real_dashboard.py and
test_real_live.py; these tests need a server that answers on purpose: the previous
period when the server's period disagrees with the dashboard's, the request parameters
of the time-zone switch, period.js rules at a fixed clock (DST), the export dialog's
request body with an e-mail, and a focus ring on every control.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from page_helpers import expect_cards, goto, overview_requests
from playwright.sync_api import expect

from watchdepth.export.source import EXPORT_FIELDS

FakeServer = Any  # conftest.FakeServer, reached through the `fake` fixture
pytestmark = pytest.mark.browser


def test_time_zone_goes_to_the_url_and_the_api(page: Any, fake: FakeServer) -> None:
    goto(page, "#/overview?period=today")
    expect(page.get_by_label("Time zone")).to_have_value("")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    expect(page).to_have_url(re.compile(r"tz=Europe%2FBerlin|tz=Europe/Berlin"))
    expect(page.locator(".subtitle")).to_contain_text("Europe/Berlin")
    sent = overview_requests(fake)[-2:]
    assert all(p["timezone"] == "Europe/Berlin" for p in sent)
    # today in Berlin vs yesterday in Berlin up to the same time of day
    now = datetime.now(UTC)
    start, _ = fake.period_range("today", "Europe/Berlin", now)
    previous = next(p for p in sent if "from" in p)
    assert previous["from"] == fake.rfc3339(fake.period_range("yesterday", "Europe/Berlin", now)[0])
    assert previous["to"] <= fake.rfc3339(start)


def test_previous_period_follows_the_server_when_they_disagree(page: Any, fake: FakeServer) -> None:
    fake.state.shift_periods = True  # this server starts "last week" 3 days earlier than the dashboard thinks
    goto(page, "#/overview?period=last_week")
    expect_cards(page, fake.totals(5), fake.totals(fake.previous_seed))
    now = datetime.now(UTC)
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
    assert result["today"] == [
        ["2024-03-30T23:00:00Z", "2024-03-31T10:30:00Z"],
        ["2024-03-29T23:00:00Z", "2024-03-30T10:30:00Z"],
    ]
    assert result["yesterday"] == [
        ["2024-03-29T23:00:00Z", "2024-03-30T23:00:00Z"],
        ["2024-03-28T23:00:00Z", "2024-03-29T23:00:00Z"],
    ]
    assert result["this_week"][0][0] == "2024-03-24T23:00:00Z"
    assert result["last_week"] == [
        ["2024-03-17T23:00:00Z", "2024-03-24T23:00:00Z"],
        ["2024-03-10T23:00:00Z", "2024-03-17T23:00:00Z"],
    ]
    assert result["this_month"] == [
        ["2024-02-29T23:00:00Z", "2024-03-31T10:30:00Z"],
        ["2024-01-31T23:00:00Z", "2024-02-29T23:00:00Z"],
    ]  # capped at the month
    assert result["last_month"] == [
        ["2024-01-31T23:00:00Z", "2024-02-29T23:00:00Z"],
        ["2023-12-31T23:00:00Z", "2024-01-31T23:00:00Z"],
    ]
    assert result["last_year"][0] == ["2022-12-31T23:00:00Z", "2023-12-31T23:00:00Z"]
    assert result["last_24_hours"][1] == ["2024-03-29T10:30:00Z", "2024-03-30T10:30:00Z"]
    assert result["custom"] == [
        ["2024-03-01T00:00:00Z", "2024-03-08T00:00:00Z"],
        ["2024-02-23T00:00:00Z", "2024-03-01T00:00:00Z"],
    ]


def test_export_report_dialog(page: Any, fake: FakeServer, screenshot: Any) -> None:
    goto(page, "#/overview?period=last_month&tz=Europe%2FBerlin")
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
    expect(dialog.get_by_role("status")).to_contain_text("The link was e-mailed to ops@example.com.")
    body = fake.state.exports[0]
    assert body["period"] == "last_month" and body["folder_ids"] == ["f-python"]
    assert body["format"] == "xlsx" and body["email"] == "ops@example.com" and body["timezone"] == "Europe/Berlin"
    assert "peak_concurrent_viewers" not in body["fields"] and "watch_depth" in body["fields"]
    # every field the export accepts is offered, in its column order, ticked unless unticked
    assert body["fields"] == [f for f in EXPORT_FIELDS if f != "peak_concurrent_viewers"]
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def test_keyboard_reaches_the_controls_with_a_visible_focus_ring(page: Any, fake: FakeServer) -> None:
    goto(page, "#/overview")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate("""() => {
            const el = document.activeElement;
            const s = getComputedStyle(el);
            return [el.id || el.textContent.trim().slice(0, 20), s.outlineStyle !== "none" && s.outlineWidth !== "0px"];
        }""")
        )
    names = [n for n, _ in seen]
    assert "filter-period" in names and "filter-tz" in names
    assert all(ring for _, ring in seen), seen
