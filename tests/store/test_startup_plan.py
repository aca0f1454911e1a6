"""DuckDB's startup histogram (``Aggregate.sums == ("startups",)`` by ``startup_bin``): it reads
startups alone, from the smallest source that fits, and gives the startup counts per bin that
the full plan over facts gives, before and after ``maintain``, with a tail, off the day grid and
in Berlin; a file from before ``agg_startup`` gets it filled on open.

Data: ``test_quality.events`` (startups of 1.23 s at day 1 10:xx, 0.4 s at 11:xx, 2.0 s at day
2 00:00:01 UTC; all of v1 in project p1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sessionize.helpers import DAY, HOUR, T0
from tests.store.test_quality import events
from watchdepth.store.base import SUMS, Aggregate
from watchdepth.store.duckdb import DuckDBStore
from watchdepth.store.duckdb import plan as duckdb_plan

AT = SUMS.index("startups")
ONLY = ("startups",)


def plan(store: DuckDBStore, q: Aggregate) -> duckdb_plan.Plan:
    """The plan ``store.aggregate(q)`` runs now (from the same snapshot of its state)."""
    with store._snapshot() as (_, wm, ws_valid, tail, dims_ready):
        return duckdb_plan.plan_aggregate(q, wm, ws_valid, tail=tail, dims_ready=dims_ready)


def histogram(rows: list[tuple[Any, ...]], keys: int) -> dict[tuple[Any, ...], int]:
    """(group keys, bin) -> startups, groups without startups left out."""
    return {tuple(r[:keys]): int(r[keys + AT]) for r in rows if r[keys + AT]}


def full_from_facts(store: DuckDBStore, q: Aggregate) -> dict[tuple[Any, ...], int]:
    """The same question with every sum, over facts only (the plan before agg_startup)."""
    store.wait_loaded()
    p = duckdb_plan.plan_aggregate(Aggregate(**{**_fields(q), "sums": ()}), None)
    return histogram(
        [tuple(r[:-1]) for r in store._cur().execute(p.sql, p.params).fetchall()], len(p.columns) - len(SUMS)
    )


def _fields(q: Aggregate) -> dict[str, Any]:
    return {f: getattr(q, f) for f in q.__struct_fields__}


def narrow(store: DuckDBStore, q: Aggregate) -> dict[tuple[Any, ...], int]:
    got = store.aggregate(q)
    return histogram(got.rows, len(got.columns) - len(SUMS))


BERLIN: dict[str, Any] = {"start_ms": T0 - HOUR, "end_ms": T0 + 2 * DAY - HOUR, "timezone": "Europe/Berlin"}
QUESTIONS = {  # name -> (question, the core's source once rolled up)
    "utc days": (Aggregate(T0, T0 + 2 * DAY, dims=("startup_bin",), bucket="day", sums=ONLY), "startup_day"),
    "total": (Aggregate(T0, T0 + 2 * DAY, dims=("startup_bin",), sums=ONLY), "startup_day"),
    "one project": (
        Aggregate(T0, T0 + 2 * DAY, dims=("startup_bin",), bucket="day", filters={"project_id": ("p1",)}, sums=ONLY),
        "ws_day",
    ),
    "one video": (
        Aggregate(T0, T0 + 2 * DAY, dims=("startup_bin",), bucket="day", filters={"content_id": ("v1",)}, sums=ONLY),
        "agg_day",
    ),
    "per video": (Aggregate(T0, T0 + 2 * DAY, dims=("content_id", "startup_bin"), sums=ONLY), "agg_day"),
    "berlin days": (Aggregate(**BERLIN, dims=("startup_bin",), bucket="day", sums=ONLY), "startup_day+startup_hour"),
    "berlin days, one project": (
        Aggregate(**BERLIN, dims=("startup_bin",), bucket="day", filters={"project_id": ("p1",)}, sums=ONLY),
        "ws_day+agg_startup",
    ),
    "hours off the grid": (
        Aggregate(
            T0 + 10 * HOUR + 30 * 60_000,
            T0 + DAY + 2 * HOUR,
            dims=("startup_bin",),
            bucket="hour",
            filters={"project_id": ("p1",)},
            sums=ONLY,
        ),
        "agg_startup",
    ),
    "by country": (Aggregate(T0, T0 + 2 * DAY, dims=("country", "startup_bin"), sums=ONLY), "startup_dim_day"),
    "by page": (Aggregate(T0, T0 + 2 * DAY, dims=("page", "startup_bin"), sums=ONLY), "facts"),
}


@pytest.fixture
def db(tmp_path: Path) -> Any:
    store = DuckDBStore(tmp_path / "startups.duckdb")
    events(store)
    yield store
    store.close()


@pytest.mark.parametrize("name", list(QUESTIONS))
def test_the_histogram_reads_startups_alone_and_matches_facts(db: DuckDBStore, name: str) -> None:
    q, rolled = QUESTIONS[name]
    expected = full_from_facts(db, q)
    assert sum(expected.values()) >= 1
    assert narrow(db, q) == expected  # nothing rolled up: facts alone
    db.maintain()
    p = plan(db, q)
    assert p.source == rolled
    assert "content c" not in p.sql and "imp_t" not in p.sql  # no catalog join, no cohort read
    assert narrow(db, q) == expected
    assert p.columns[-len(SUMS) :] == list(SUMS)


def test_berlin_days_count_the_tail_not_rolled_up_yet(db: DuckDBStore) -> None:
    q = QUESTIONS["berlin days"][0]
    expected = full_from_facts(db, q)
    db.maintain()
    # every fact past the watermark again, the rollups it reads empty: the answer is the tail's alone
    db._cur().execute("UPDATE rollup_state SET wm = 0")
    for table in ("agg_startup", "ws_day", "agg_day", "startup_day", "startup_hour"):
        db._cur().execute(f"DELETE FROM {table}")
    assert plan(db, q).source == "startup_day+startup_hour"
    assert narrow(db, q) == expected
    db.maintain()
    assert narrow(db, q) == expected


def test_a_file_from_before_agg_startup_gets_it_filled_on_open(db: DuckDBStore, tmp_path: Path) -> None:
    q = QUESTIONS["berlin days, one project"][0]
    db.maintain()
    expected = full_from_facts(db, q)
    db._cur().execute("DROP TABLE agg_startup")  # as a file made before it existed
    db.close()
    store = DuckDBStore(tmp_path / "startups.duckdb")
    try:  # its day 2 (a partial UTC day) is read from agg_startup's hours
        assert plan(store, q).source == "ws_day+agg_startup"
        assert narrow(store, q) == expected
    finally:
        store.close()


def test_a_file_from_before_the_all_content_startups_gets_them_filled_on_open(db: DuckDBStore, tmp_path: Path) -> None:
    db.maintain()
    expected = {name: full_from_facts(db, QUESTIONS[name][0]) for name in ("utc days", "berlin days")}
    for table in ("startup_day", "startup_hour"):  # as a file made before they existed
        db._cur().execute(f"DROP TABLE {table}")
    db.close()
    store = DuckDBStore(tmp_path / "startups.duckdb")
    try:
        for name, want in expected.items():
            assert plan(store, QUESTIONS[name][0]).source == QUESTIONS[name][1]
            assert narrow(store, QUESTIONS[name][0]) == want
        store.maintain()  # and they take the next facts on
        assert narrow(store, QUESTIONS["berlin days"][0]) == expected["berlin days"]
    finally:
        store.close()
