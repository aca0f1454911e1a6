"""DuckDB's startup histogram in zones off the UTC day: whole UTC days bucketed at their noon,
and the hours of them in another bucket moved from agg_startup (``plan._moved_hours``), give
the counts per bucket and bin that facts give, across DST changes, in every bucket size, with
the tail not rolled up yet, and filtered by project.

Data: one startup an hour (two loads of v1 and v10 on odd hours), 2024-03-25 00:30 UTC to
2024-04-04, bins varying with the hour; Europe/Berlin leaves CET on 2024-03-31 01:00 UTC,
America/New_York left EST on 2024-03-10 (offsets -4 h throughout), Asia/Kolkata is +5:30.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sessionize.helpers import DAY, HOUR, MINUTE, Player
from tests.store.test_cohort import catalog, store_events
from tests.store.test_startup_plan import full_from_facts, narrow, plan
from watchdepth.store.base import Aggregate
from watchdepth.store.duckdb import DuckDBStore
from watchdepth.store.duckdb import plan as duckdb_plan
from watchdepth.store.duckdb import rollup as duckdb_rollup

#: 2024-03-25 00:00 UTC, a Monday.
M25 = 1_711_324_800_000
ONLY = ("startups",)


def loads(first: int, hours: int) -> list[list[Any]]:
    out = []
    for h in range(first, first + hours):
        for content in ("v1", "v10") if h % 2 else ("v1",):
            p = Player(f"S{h}{content}", f"L{h}{content}", content, duration=100.0, t=M25 + h * HOUR + 30 * MINUTE)
            out.append([p.load(), p.play(0), p.event("startup", ms=(h * 37 + len(content) * 300) % 2500)])
    return out


@pytest.fixture
def db(tmp_path: Path) -> Any:
    store = DuckDBStore(tmp_path / "buckets.duckdb")
    catalog(store)
    store_events(store, *loads(0, 10 * 24))
    yield store
    store.close()


#: Local midnights in UTC: Berlin 2024-03-25 (CET, +1) to 2024-04-03 (CEST, +2), New York
#: 2024-03-25 to 2024-04-03 (EDT, -4), Kolkata 2024-03-26 to 2024-04-03 (+5:30).
PERIODS = {
    "Europe/Berlin": (M25 - HOUR, M25 + 9 * DAY - 2 * HOUR),
    "America/New_York": (M25 + 4 * HOUR, M25 + 9 * DAY + 4 * HOUR),
    "Asia/Kolkata": (M25 + DAY - 5 * HOUR - 30 * MINUTE, M25 + 9 * DAY - 5 * HOUR - 30 * MINUTE),
}
CASES = [(tz, bucket) for tz in PERIODS for bucket in ("day", "week", "month", "hour", None)]


def question(tz: str, bucket: str | None, **kw: Any) -> Aggregate:
    start, end = PERIODS[tz]
    return Aggregate(start, end, dims=("startup_bin",), bucket=bucket, timezone=tz, sums=ONLY, **kw)


@pytest.mark.parametrize(("tz", "bucket"), CASES)
def test_buckets_in_a_zone_match_facts_before_and_after_maintain(db: DuckDBStore, tz: str, bucket: str | None) -> None:
    q = question(tz, bucket)
    expected = full_from_facts(db, q)
    assert sum(expected.values()) >= 200
    assert narrow(db, q) == expected
    db.maintain()
    assert narrow(db, q) == expected
    filtered = question(tz, bucket, filters={"project_id": ("p1",)})
    assert narrow(db, filtered) == full_from_facts(db, filtered)


def test_berlin_days_read_whole_days_and_the_moved_hours(db: DuckDBStore) -> None:
    db.maintain()
    q = question("Europe/Berlin", "day")
    p = plan(db, q)
    assert p.source == "startup_day+startup_hour"
    assert plan(db, question("Europe/Berlin", "day", filters={"project_id": ("p1",)})).source == "ws_day+agg_startup"
    # CET then CEST: a UTC day's 23:00 (CET) or 22:00 and 23:00 (CEST) are the next Berlin day's
    assert duckdb_plan._moved_hours(q) == (22 * HOUR * 1000, 23 * HOUR * 1000)
    # without a tail, rows are bucketed through one map of the units they name: the days' noons
    # and the moved hours (days 03-25 to 04-02: 9 each), the edge hours (03-24 23:00, 04-03 00:00–21:00);
    # the moved hours are found by their list (two more ranges)
    wm, ok = duckdb_rollup.state(db._cur())
    rolled = duckdb_plan.plan_aggregate(q, wm, ok, tail=False)
    assert rolled.sql.count("time_bucket(") == 1 and rolled.sql.count("FROM range(") == 5 + 2
    got = narrow(db, q)
    assert got == full_from_facts(db, q)
    # the Berlin day of 2024-03-31 has 23 hours: its startups are those of 2024-03-30 23:00 to 03-31 22:00 UTC
    day = M25 + 6 * DAY - HOUR
    assert sum(n for (b, _), n in got.items() if b == day) == sum(
        2 if h % 2 else 1 for h in range(6 * 24 - 1, 7 * 24 - 2)
    )


def test_the_tail_and_new_hours_count_after_maintain(db: DuckDBStore) -> None:
    db.maintain()
    store_events(db, *loads(10 * 24, 30))  # past the rolled-up days: the tail
    for tz, bucket in CASES:
        q = Aggregate(PERIODS[tz][0], M25 + 12 * DAY, dims=("startup_bin",), bucket=bucket, timezone=tz, sums=ONLY)
        assert narrow(db, q) == full_from_facts(db, q), (tz, bucket)
    db.maintain()
    for tz, bucket in CASES:
        q = Aggregate(PERIODS[tz][0], M25 + 12 * DAY, dims=("startup_bin",), bucket=bucket, timezone=tz, sums=ONLY)
        assert narrow(db, q) == full_from_facts(db, q), (tz, bucket)


def test_rows_carry_every_sum_the_absent_as_zero(db: DuckDBStore) -> None:
    db.maintain()
    got = db.aggregate(question("Europe/Berlin", "day"))
    assert got.total == len(got.rows) > 0
    assert all(len(r) == len(got.columns) for r in got.rows)
    at = got.columns.index("watch_time")
    assert {type(r[at]) for r in got.rows} == {float} and {r[at] for r in got.rows} == {0.0}


def every_sum_from_facts(store: DuckDBStore, q: Aggregate) -> list[tuple[Any, ...]]:
    store.wait_loaded()
    p = duckdb_plan.plan_aggregate(q, None)
    return [tuple(r[:-1]) for r in store._cur().execute(p.sql, p.params).fetchall()]


@pytest.mark.parametrize(("tz", "bucket"), CASES)
def test_workspace_sums_per_bucket_match_facts(db: DuckDBStore, tz: str, bucket: str | None) -> None:
    """The ws_hour timeline keys its hours by their day's noon (or their own start when moved)."""
    db.maintain()
    start, end = PERIODS[tz]
    for q in (
        Aggregate(start, end, bucket=bucket, timezone=tz),
        Aggregate(start + 90 * MINUTE, end, bucket=bucket, timezone=tz),
    ):
        got = db.aggregate(q).rows
        want = every_sum_from_facts(db, q)
        assert [r[:4] for r in got] == [r[:4] for r in want]  # bucket and the counts
        assert [round(r[4], 6) for r in got] == [round(r[4], 6) for r in want]  # watch time
    if bucket in ("day", "week", "month") and tz != "Asia/Kolkata":
        assert "u.k = " in duckdb_plan.plan_aggregate(Aggregate(start, end, bucket=bucket, timezone=tz), 1).sql
