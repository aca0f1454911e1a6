"""DuckDB's startup histogram by one device dimension (browser, os, platform, country beside
``startup_bin``): whole UTC days come from ``startup_dim_day`` (no filter) or ``agg_startup_dim``
(content / project / folder filters), partial days and the tail from facts; the startup counts
per group and bin, and so the percentiles per browser, are those facts give, before and after
``maintain``, with a tail, a partial day and a Berlin period; a file from before the tables reads
facts until the next ``maintain`` fills them (not on open: 65 s at 100M).

Data: one load an hour from 2024-03-25 00:30 UTC for 10 days, cycling over v1, v10 (project p1)
and v2 (project p2), over three browsers (and no browser), two OSes and countries, startups
varying with the hour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.sessionize.helpers import DAY, HOUR, MINUTE, Player
from tests.store.test_cohort import catalog, store_events
from tests.store.test_startup_plan import full_from_facts, narrow, plan
from watchdepth.query.metrics import percentiles_ms, startup_bins
from watchdepth.store.base import Aggregate
from watchdepth.store.duckdb import DuckDBStore

#: 2024-03-25 00:00 UTC, a Monday.
M25 = 1_711_324_800_000
ONLY = ("startups",)
BROWSERS = ("Chrome", "Firefox", "Safari", None)


def loads(first: int, hours: int) -> list[list[Any]]:
    out = []
    for h in range(first, first + hours):
        content = ("v1", "v10", "v2")[h % 3]
        p = Player(
            f"S{h}",
            f"L{h}",
            content,
            duration=100.0,
            t=M25 + h * HOUR + 30 * MINUTE,
            project_id="p2" if content == "v2" else "p1",
            browser=BROWSERS[h % 4],
            os=("Linux", "iOS")[h % 2],
            country=("DE", "BR")[h // 5 % 2],
            platform="desktop",
        )
        out.append([p.load(), p.play(0), p.event("startup", ms=(h * 37) % 2500)])
    return out


@pytest.fixture
def db(tmp_path: Path) -> Any:
    store = DuckDBStore(tmp_path / "dims.duckdb")
    catalog(store)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    store.catalog_put("projects", {"id": "p2", "name": "Q", "created_at": now}, create=True)
    store.catalog_put(
        "content",
        {
            "id": "v2",
            "kind": "video",
            "project_id": "p2",
            "folder_id": None,
            "title": "v2",
            "duration": 100.0,
            "stream_id": None,
            "created_at": now,
        },
        create=True,
    )
    store_events(store, *loads(0, 10 * 24))
    yield store
    store.close()


PERIODS: dict[str, dict[str, Any]] = {
    "utc days": {"start_ms": M25, "end_ms": M25 + 9 * DAY},
    "partial days": {"start_ms": M25 + 13 * HOUR + 10 * MINUTE, "end_ms": M25 + 8 * DAY + 7 * HOUR},
    "berlin": {"start_ms": M25 - HOUR, "end_ms": M25 + 9 * DAY - 2 * HOUR, "timezone": "Europe/Berlin"},
}
FILTERS: dict[str, tuple[dict[str, tuple[str, ...]], str]] = {  # name -> (filters, the whole days' source)
    "workspace": ({}, "startup_dim_day"),
    "one video": ({"content_id": ("v1",)}, "agg_startup_dim"),
    "one project": ({"project_id": ("p1",)}, "agg_startup_dim"),
}
CASES = [(p, f, d) for p in PERIODS for f in FILTERS for d in ("browser", "os", "country", "platform")]


def question(period: str, filters: str, dim: str = "browser", **kw: Any) -> Aggregate:
    return Aggregate(**PERIODS[period], dims=(dim, "startup_bin"), filters=FILTERS[filters][0], sums=ONLY, **kw)


def percentiles(hist: dict[tuple[Any, ...], int]) -> dict[Any, tuple[int | None, ...]]:
    """group -> (median, p90) ms of a (group, bin) -> startups histogram."""
    groups: dict[Any, list[tuple[str | None, float]]] = {}
    for (group, b), n in hist.items():
        groups.setdefault(group, []).append((b, n))
    return {g: percentiles_ms(startup_bins(rows), (0.5, 0.9)) for g, rows in groups.items()}


@pytest.mark.parametrize(("period", "filters", "dim"), CASES)
def test_by_dim_reads_the_day_rollup_and_matches_facts(db: DuckDBStore, period: str, filters: str, dim: str) -> None:
    q = question(period, filters, dim)
    expected = full_from_facts(db, q)
    assert sum(expected.values()) >= 50
    assert narrow(db, q) == expected  # nothing rolled up: the tail alone
    db.maintain()
    p = plan(db, q)
    assert p.source == FILTERS[filters][1]
    assert "content c" not in p.sql and "imp_t" not in p.sql
    got = narrow(db, q)
    assert got == expected
    if dim == "browser":
        assert percentiles(got) == percentiles(expected)
        assert len(percentiles(got)) == 4  # three browsers and none


def test_the_tail_and_the_edges_count(db: DuckDBStore) -> None:
    db.maintain()
    store_events(db, *loads(10 * 24, 30))  # past the rolled-up days: the tail
    for period in PERIODS:
        for filters in FILTERS:
            q = Aggregate(
                PERIODS[period]["start_ms"],
                M25 + 11 * DAY + 5 * HOUR,
                timezone=PERIODS[period].get("timezone", "UTC"),
                dims=("browser", "startup_bin"),
                filters=FILTERS[filters][0],
                sums=ONLY,
            )
            expected = full_from_facts(db, q)
            assert plan(db, q).source == FILTERS[filters][1]
            assert narrow(db, q) == expected, (period, filters)
            assert percentiles(narrow(db, q)) == percentiles(expected)
    db.maintain()
    q = Aggregate(M25 + 3 * HOUR, M25 + 11 * DAY + 5 * HOUR, dims=("browser", "startup_bin"), sums=ONLY)
    assert narrow(db, q) == full_from_facts(db, q)


def test_utc_day_buckets_read_the_rollup_and_berlin_days_read_facts(db: DuckDBStore) -> None:
    db.maintain()
    q = question("utc days", "workspace", bucket="day")
    assert plan(db, q).source == "startup_dim_day"
    assert narrow(db, q) == full_from_facts(db, q)
    berlin = question("berlin", "one project", bucket="day")  # UTC days span two Berlin days
    assert plan(db, berlin).source == "facts"
    assert narrow(db, berlin) == full_from_facts(db, berlin)
    other = question("utc days", "workspace", dim="page")  # too many values: not kept
    assert plan(db, other).source == "facts"


def test_a_file_from_before_the_tables_reads_facts_until_the_next_maintain_fills_them(
    db: DuckDBStore, tmp_path: Path
) -> None:
    db.maintain()
    qs = [question("partial days", f) for f in FILTERS]
    expected = [full_from_facts(db, q) for q in qs]
    for table in ("agg_startup_dim", "startup_dim_day"):  # as a file made before they existed
        db._cur().execute(f"DROP TABLE {table}")
    db.close()
    store = DuckDBStore(tmp_path / "dims.duckdb")  # opens at once: filling them is maintain's work
    try:
        count = "SELECT count(*) FROM startup_dim_day"
        assert store._run(count) == [(0,)]
        for q, want in zip(qs, expected):  # meanwhile every answer comes from facts, exact
            assert plan(store, q).source == "facts"
            assert narrow(store, q) == want
        store.maintain()
        assert store._run(count)[0][0] > 0 and store._run("SELECT count(*) FROM rollup_pending") == [(0,)]
        for q, want, f in zip(qs, expected, FILTERS):
            assert plan(store, q).source == FILTERS[f][1]
            assert narrow(store, q) == want
        store_events(store, *loads(10 * 24, 30))
        store.maintain()  # and they take the next facts on
        q = Aggregate(M25, M25 + 12 * DAY, dims=("browser", "startup_bin"), sums=ONLY)
        assert narrow(store, q) == full_from_facts(store, q)
    finally:
        store.close()
