"""ClickHouse has no multi-table transaction: a batch whose last insert fails is taken back whole."""

from __future__ import annotations

from typing import Any

import pytest

from tests.store.test_store import CREDITS, EVENTS, END, T0, agg
from watchdepth.errors import StoreError
from watchdepth.store.base import WriteBatch

pytestmark = pytest.mark.clickhouse


@pytest.mark.parametrize("store", [pytest.param("clickhouse")], indirect=True)
@pytest.mark.parametrize("failing", ["facts", "agg_day"])
def test_a_failed_batch_leaves_nothing_behind(store: Any, failing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    evs, status, run, seq = (list(x) for x in zip(*EVENTS[:6]))
    store.write_batch(WriteBatch(evs, status, run, seq, CREDITS[:3]))  # kept: c1..c3
    real = store.insert_arrow

    def insert(table: str, data: Any) -> None:
        if table == failing:
            real(table, data.slice(0, 1))  # a part of it went in, then the engine failed
            raise StoreError(f"insert into {table} failed: simulated")
        real(table, data)

    monkeypatch.setattr(store, "insert_arrow", insert)
    evs, status, run, seq = (list(x) for x in zip(*EVENTS[6:]))
    with pytest.raises(StoreError):
        store.write_batch(WriteBatch(evs, status, run, seq, CREDITS[3:]))
    monkeypatch.setattr(store, "insert_arrow", real)
    # only the first batch: c1 + c2 + c3 = loads 2, impressions 2, views 1, 14 s; its 6 events
    assert agg(store) == ([(2, 2, 1, 14.0, 0.0)], 1)
    assert agg(store, dims=("country",)) == ([("DE", 1, 1, 1, 10.0, 0.0), ("US", 1, 1, 0, 4.0, 0.0)], 2)
    assert agg(store, start_ms=T0 + 1, end_ms=END)[0] == [(2, 2, 1, 14.0, 0.0)]  # facts agree with the rollups
    assert store.counters() == {"applied": 6}
    assert store.watched_sets("v2", T0, END) == []
