"""One schema: the names in ``watchdepth.schema`` are the tables' columns on both backends,
and an ``Aggregate`` naming anything else is refused before any SQL is written."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest

from watchdepth.schema import DIMENSIONS, LOAD_DIMENSIONS, ROLLUP_DIMENSIONS, SUMS, LoadDims
from watchdepth.store.base import Aggregate
from watchdepth.store.rows import FACT_ORDER


def _columns(store: Any, table: str) -> set[str]:
    if type(store).__name__ == "DuckDBStore":
        return {
            r[0] for r in store._run(f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'")
        }
    return {
        r[0]
        for r in store._run(f"SELECT name FROM system.columns WHERE database = currentDatabase() AND table = '{table}'")
    }


def test_the_facts_table_has_a_column_per_load_dimension_on_both_backends(store: Any) -> None:
    facts = _columns(store, "facts")
    assert set(LOAD_DIMENSIONS) | {"startup_bin"} <= facts
    assert set(FACT_ORDER) == facts - {"ingest_batch"}  # what the writer sends is the table (ClickHouse adds its tag)


def test_every_dimension_and_sum_answers_on_both_backends(store: Any) -> None:
    for dim in DIMENSIONS:  # grouping by each name is valid SQL on the engine (no rows yet)
        assert store.aggregate(Aggregate(0, 86_400_000, dims=(dim,))).rows == [], dim
    got = store.aggregate(Aggregate(0, 86_400_000))
    assert got.columns[-len(SUMS) :] == list(SUMS)


def test_each_load_dimension_lands_in_its_own_facts_column() -> None:
    from watchdepth.sessionize import Credit
    from watchdepth.store.rows import facts_table

    dims = LoadDims(**{name: f"value of {name}" for name in LOAD_DIMENSIONS})
    credit = Credit(0, "v1", "s1", "l1", 1, 0, 0, 0.0, None, None, dims)
    row = facts_table([credit]).to_pylist()[0]
    assert {name: row[name] for name in LOAD_DIMENSIONS} == {name: f"value of {name}" for name in LOAD_DIMENSIONS}
    assert set(ROLLUP_DIMENSIONS) <= set(DIMENSIONS)


@pytest.mark.parametrize(
    "bad",
    [
        {"dims": ("country; DROP TABLE facts",)},
        {"filters": {"continent": ("EU",)}},
        {"sums": ("views", "likes")},
        {"order": (("likes", True),)},
        {"order": (("country", True),)},  # a dimension not grouped by
        {"bucket": "fortnight"},
        {"limit": -1},
    ],
)
def test_an_aggregate_naming_an_unknown_column_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="Aggregate"):
        Aggregate(0, 1, **bad)
    Aggregate(0, 1, dims=("country",), order=(("country", False), ("views", True), ("bucket", False)), bucket="day")


def test_a_catalog_change_keeps_its_time_across_a_reopen(store: Any, tmp_path: Any, request: Any) -> None:
    from datetime import datetime

    from tests.store.conftest import open_store
    from watchdepth.catalog.service import Catalog, public

    old = datetime(2020, 1, 1, tzinfo=UTC)
    store.catalog_put("projects", {"id": "p1", "name": "one", "created_at": old}, create=True)
    store.catalog_put(
        "content",
        {"id": "v1", "kind": "video", "project_id": "p1", "title": "a", "duration": 10.0, "created_at": old},
        create=True,
    )
    catalog = Catalog(store)
    assert public("projects", catalog.get("projects", "p1"))["updated_at"] == "2020-01-01T00:00:00Z"
    before = datetime.now(UTC).replace(microsecond=0)
    catalog.update("videos", "v1", {"title": "b"})
    if type(store).__name__ == "DuckDBStore":  # the file is held by one process: reopen it
        store.close()
        store = open_store("duckdb", tmp_path, request)
        request.addfinalizer(store.close)
    again = Catalog(store)  # what a restarted server reads
    video = public("videos", again.get("videos", "v1"))
    assert (video["title"], video["created_at"]) == ("b", "2020-01-01T00:00:00Z")
    assert datetime.fromisoformat(video["updated_at"].replace("Z", "+00:00")) >= before
    assert public("projects", again.get("projects", "p1"))["updated_at"] == "2020-01-01T00:00:00Z"  # never changed
