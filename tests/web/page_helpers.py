"""What the dashboard's pages show, restated for the browser tests: formatting rules
(format.js), locators of the metric cards, and the fake API's request log."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

CARDS = [
    ("views", "count"),
    ("player_loads", "count"),
    ("view_rate", "rate"),
    ("unique_views", "count"),
    ("watch_time", "duration"),
    ("avg_watch_time", "duration"),
    ("watch_depth", "rate"),
]
KIND = dict(CARDS)


# The dashboard's formatting rules (format.js), restated to state what a person reads.
def half_away(x: float) -> int:
    """format.js rounds halves away from zero (Intl.NumberFormat, Math.round on
    durations, which are never negative); Python's round() rounds them to even."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def fmt_int(n: float) -> str:
    return f"{half_away(n):,}"


def fmt_duration(seconds: float) -> str:
    total = half_away(seconds)
    if total < 60:
        return f"{total}s"
    h, m, s = total // 3600, total % 3600 // 60, total % 60
    if h == 0:
        return f"{m}m {s}s" if s else f"{m}m"
    return f"{h:,}h {m}m" if m else f"{h:,}h"


def fmt(key: str, value: float) -> str:
    kind = KIND.get(key, "count")
    return f"{fmt_int(value)}%" if kind == "rate" else fmt_duration(value) if kind == "duration" else fmt_int(value)


def change_text(key: str, cur: float, prev: float) -> str:
    if KIND[key] == "rate":
        delta, unit = half_away(cur - prev), " pp"
    elif prev == 0:
        return "0%" if cur == 0 else "new"
    else:
        x = (cur - prev) / prev * 100
        delta, unit = half_away(x), "%"
    if delta == 0:
        return f"0{unit}"
    return f"{'+' if delta > 0 else '−'}{abs(delta):,}{unit}"


def goto(page: Any, hash_: str) -> None:
    page.goto(f"/{hash_}")
    expect(page.locator("html")).to_have_attribute("data-wd-state", "ready")


def hash_params(page: Any) -> dict[str, str]:
    fragment = urlsplit(page.url).fragment
    return {k: v[0] for k, v in parse_qs(fragment.partition("?")[2]).items()}


def card(page: Any, key: str) -> Any:
    return page.locator(f'.metric-card[data-metric="{key}"]')


def expect_cards(page: Any, total: dict[str, int], previous: dict[str, int] | None) -> None:
    for key, _ in CARDS:
        expect(card(page, key).locator(".metric-value")).to_have_text(fmt(key, total[key]))
        if previous is not None:
            expect(card(page, key).locator(".delta")).to_contain_text(change_text(key, total[key], previous[key]))


def overview_requests(fake: Any) -> list[dict[str, str]]:
    """The overview page's own requests (the quality card's timeline-only ones left out)."""
    return [p for path, p in fake.state.requests if path == "/v1/analytics/overview" and p.get("parts") != "timeline"]
