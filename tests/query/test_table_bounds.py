"""``query.analytics.table`` reads at most MAX_SORTED_GROUPS groups when it must sort them itself.

A stub store stands in for the engine: what is checked is the ``Aggregate`` the table asks
for (the bound pushed down) and the answer when the store reports more groups than that.
"""

from __future__ import annotations

from typing import Any

import pytest

from watchdepth.catalog.service import Catalog
from watchdepth.errors import ValidationFailed
from watchdepth.query import analytics
from watchdepth.query.analytics import MAX_SORTED_GROUPS, Scope, TableRequest
from watchdepth.query.periods import Period
from watchdepth.store.base import SUMS, Aggregate, AggregateResult


class StubStore:
    def __init__(self, total: int) -> None:
        self.total = total
        self.asked: list[Aggregate] = []

    def aggregate(self, q: Aggregate) -> AggregateResult:
        self.asked.append(q)
        return AggregateResult(["page", *SUMS], [("/a", *([1] * len(SUMS)))], self.total)

    def catalog_rows(self, table: str) -> list[dict[str, Any]]:
        return []


def table(store: StubStore, **req: Any) -> tuple[list[dict[str, Any]], int]:
    return analytics.table(
        store,
        Catalog(store),
        Scope(Period(0, 86_400_000, "UTC")),  # type: ignore[arg-type]
        TableRequest(("page",), **req),
    )


def test_a_derived_order_reads_a_bounded_number_of_groups() -> None:
    store = StubStore(total=3)
    rows, total = table(store, order=(("view_rate", True),))
    assert (len(rows), total) == (1, 1)
    assert store.asked[0].limit == MAX_SORTED_GROUPS and store.asked[0].order == ()


def test_past_the_bound_the_order_is_named() -> None:
    with pytest.raises(ValidationFailed) as e:
        table(StubStore(total=MAX_SORTED_GROUPS + 1), order=(("views", True), ("watch_depth", True)))
    (p,) = e.value.invalid_params
    assert (p.name, p.reason) == ("watch_depth", "too_many") and str(MAX_SORTED_GROUPS) in p.message


def test_a_stored_order_is_paged_by_the_store() -> None:
    store = StubStore(total=MAX_SORTED_GROUPS * 10)
    table(store, order=(("view", True), ("page", False)), per_page=50, page=3)
    q = store.asked[0]
    assert (q.order, q.limit, q.offset) == ((("views", True), ("page", False)), 50, 100)
