"""Referrers read bounded work (issue 13): a domain lists its top pages, a derived order caps the domains.

Runs ``query.analytics.referrers`` on both backends with the bounds lowered, so that a few
dozen credits stand for a store with many domains and pages; the expected rows are worked by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from watchdepth.errors import ValidationFailed
from watchdepth.query import analytics
from watchdepth.query.analytics import Scope
from watchdepth.query.periods import Period
from watchdepth.sessionize import Credit
from watchdepth.store.base import WriteBatch

T0 = int(datetime(2026, 3, 10, tzinfo=UTC).timestamp() * 1000)
PERIOD = Period(T0, T0 + 86_400_000, "UTC")
DOMAINS = 6  # domain d{i}.com has i + 1 pages; page p{j} has j + 2 loads of which j + 1 are views


def credits() -> list[Credit]:
    out = []
    for i in range(DOMAINS):
        for j in range(i + 1):
            dims = ("DE", "desktop", "Windows", "Chrome", f"d{i}.com", f"d{i}.com/p{j}", None, None)
            for k in range(j + 2):
                load = f"l{i}-{j}-{k}"
                out.append(Credit(T0 + 60_000, "v1", "s" + load, load, 1, 1, int(k <= j), 1.0, None, None, dims))  # type: ignore[arg-type]
    return out


@pytest.fixture
def filled(store: Any) -> Any:
    store.write_batch(WriteBatch(events=[], status=[], run=[], log_seq=[], credits=credits()))
    store.maintain()
    return store


def page(i: int, j: int) -> dict[str, Any]:
    views, loads = j + 1, j + 2
    return {"url": f"d{i}.com/p{j}", "views": views, "player_loads": loads, "view_rate": int(views * 100 / loads + 0.5)}


def domain(i: int, listed: int) -> dict[str, Any]:
    """Domain i with its ``listed`` pages with the most views, in views order."""
    views = sum(j + 1 for j in range(i + 1))
    loads = sum(j + 2 for j in range(i + 1))
    return {
        "domain": f"d{i}.com",
        "views": views,
        "player_loads": loads,
        "view_rate": int(views * 100 / loads + 0.5),
        "pages": [page(i, j) for j in range(i, max(i - listed, -1), -1)],
        "pages_total": i + 1,
    }


def referrers(store: Any, order: str | None = None, pg: int = 1, per: int = 10) -> tuple[list[dict[str, Any]], int]:
    parsed = analytics.parse_order(order, ["domain", "views", "player_loads", "view_rate"])
    return analytics.referrers(store, Scope(PERIOD), parsed, pg, per)


@pytest.mark.parametrize("page_groups", [1000, 4], ids=["one-query", "per-domain"])
def test_a_domain_lists_its_top_pages_and_counts_all(
    filled: Any, monkeypatch: pytest.MonkeyPatch, page_groups: int
) -> None:
    monkeypatch.setattr(analytics, "MAX_REFERRER_PAGES", 3)
    monkeypatch.setattr(analytics, "MAX_PAGE_GROUPS", page_groups)
    rows, total = referrers(filled, per=4)
    assert total == DOMAINS
    assert rows == [domain(5, 3), domain(4, 3), domain(3, 3), domain(2, 3)]
    rows, _ = referrers(filled, pg=2, per=4)
    assert rows == [domain(1, 3), domain(0, 3)]


def test_a_derived_order_reads_a_bounded_number_of_domains(filled: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analytics, "MAX_REFERRER_PAGES", 2)
    monkeypatch.setattr(analytics, "MAX_SORTED_GROUPS", DOMAINS)
    # view_rate of d0..d5 rises: 50, 60, 67, 71, 75, 78; a domain's listed pages follow the order too
    rows, total = referrers(filled, "view_rate.asc", pg=2, per=2)
    assert total == DOMAINS
    assert rows == [{**d, "pages": d["pages"][::-1]} for d in (domain(2, 2), domain(3, 2))]
    monkeypatch.setattr(analytics, "MAX_SORTED_GROUPS", DOMAINS - 1)
    with pytest.raises(ValidationFailed) as failed:
        referrers(filled, "view_rate.desc")
    assert [p.name for p in failed.value.invalid_params] == ["view_rate"]
    assert referrers(filled, "views.desc", per=1)[0] == [domain(5, 2)]  # a stored order is not capped
