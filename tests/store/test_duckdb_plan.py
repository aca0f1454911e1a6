"""The DuckDB plan: each rollup is picked when it can answer, and every source gives the facts' answer.

Hand-worked facts around 2026-03-10 (UTC; Berlin is UTC+1 then), written through the real
commit path into a real DuckDB file, rolled up by ``maintain``:

    #  time (UTC)        content  loads uv views wt  country page
    1  03-10 00:30       v1       1     0  0     0   DE      a.com/x
    2  03-10 00:45       v1       0     1  1     30  DE      a.com/x
    3  03-10 10:15       v2       1     0  0     0   US      b.com/y
    4  03-10 10:20       v2       0     1  1     8   US      b.com/y
    5  03-11 23:10       v3       1     1  1     20  DE      a.com/z
    6  03-09 23:30       v1       1     1  0     3   FR      a.com/x   (03-10 00:30 in Berlin)
    7  03-10 23:30       v2       1     0  0     0   US      b.com/y   (03-11 00:30 in Berlin)

Catalog: v1 100 s in project p1 folder fa; v2 10 s in p1 (no folder); v3 60 s in p2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from watchdepth.sessionize import Credit
from watchdepth.store.base import SUMS, Aggregate, WriteBatch
from watchdepth.store.duckdb import DuckDBStore
from watchdepth.store.duckdb import plan as duckdb_plan
from watchdepth.store.duckdb import rollup as duckdb_rollup

H = 3_600_000
DAY = 24 * H
MAR10 = int(datetime(2026, 3, 10, tzinfo=UTC).timestamp() * 1000)
BERLIN_MAR10 = MAR10 - H  # 00:00 in Berlin
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def credit(t: int, content: str, loads: int, uv: int, views: int, wt: float, country: str, page: str) -> Credit:
    dims = (country, "desktop", "Windows", "Chrome", page.split("/")[0], page, None, None)
    return Credit(t, content, "s-" + content, "l-" + content, loads, uv, views, wt, None, None, dims)  # type: ignore[arg-type]


ROWS = [
    credit(MAR10 + 30 * 60_000, "v1", 1, 0, 0, 0.0, "DE", "a.com/x"),
    credit(MAR10 + 45 * 60_000, "v1", 0, 1, 1, 30.0, "DE", "a.com/x"),
    credit(MAR10 + 10 * H + 15 * 60_000, "v2", 1, 0, 0, 0.0, "US", "b.com/y"),
    credit(MAR10 + 10 * H + 20 * 60_000, "v2", 0, 1, 1, 8.0, "US", "b.com/y"),
    credit(MAR10 + DAY + 23 * H + 10 * 60_000, "v3", 1, 1, 1, 20.0, "DE", "a.com/z"),
    credit(MAR10 - 30 * 60_000, "v1", 1, 1, 0, 3.0, "FR", "a.com/x"),
    credit(MAR10 + 23 * H + 30 * 60_000, "v2", 1, 0, 0, 0.0, "US", "b.com/y"),
]


def write(store: DuckDBStore, credits: list[Credit]) -> None:
    store.write_batch(WriteBatch(events=[], status=[], run=[], log_seq=[], credits=credits))


@pytest.fixture
def db(tmp_path: Path) -> Any:
    store = DuckDBStore(tmp_path / "plan.duckdb")
    store.catalog_put("projects", {"id": "p1", "name": "one", "created_at": NOW}, create=True)
    store.catalog_put("projects", {"id": "p2", "name": "two", "created_at": NOW}, create=True)
    store.catalog_put("folders", {"id": "fa", "project_id": "p1", "name": "a", "created_at": NOW}, create=True)
    for cid, project, folder, duration in (
        ("v1", "p1", "fa", 100.0),
        ("v2", "p1", None, 10.0),
        ("v3", "p2", None, 60.0),
    ):
        store.catalog_put(
            "content",
            {
                "id": cid,
                "kind": "video",
                "project_id": project,
                "folder_id": folder,
                "title": cid,
                "duration": duration,
                "created_at": NOW,
            },
            create=True,
        )
    write(store, ROWS[:4])
    write(store, ROWS[4:])
    store.maintain()
    yield store
    store.close()


def source(store: DuckDBStore, q: Aggregate) -> str:
    wm, ok = duckdb_rollup.state(store._cur())
    return duckdb_plan.plan_aggregate(q, wm, ok).source


def from_facts(store: DuckDBStore, q: Aggregate) -> list[tuple[Any, ...]]:
    plan = duckdb_plan.plan_aggregate(q, None)
    return [tuple(r[:-1]) for r in store._cur().execute(plan.sql, plan.params).fetchall()]


def answer(store: DuckDBStore, q: Aggregate, sums: int = 5) -> list[tuple[Any, ...]]:
    """The store's answer, checked against the same question over facts only (all sums);
    returned with its first ``sums`` sums (player loads … view_duration)."""
    result = store.aggregate(q)
    got = result.rows
    assert got == from_facts(store, q)
    keys = len(result.columns) - len(SUMS)
    return [r[: keys + sums] for r in got]


BERLIN_2D = {"start_ms": BERLIN_MAR10, "end_ms": BERLIN_MAR10 + 2 * DAY, "timezone": "Europe/Berlin"}


def test_totals_of_a_utc_day_from_the_hour_rollup(db: DuckDBStore) -> None:
    q = Aggregate(MAR10, MAR10 + DAY)
    assert source(db, q) == "ws_hour"
    # rows 1, 3, 7 loads; 2, 4 impressions and views; 30 + 8 s; Σ views × duration = 100 + 10
    assert answer(db, q) == [(3, 2, 2, 38.0, 110.0)]


def test_berlin_days_timeline_and_countries_with_partial_utc_days(db: DuckDBStore) -> None:
    timeline = Aggregate(**BERLIN_2D, bucket="day")
    assert source(db, timeline) == "ws_hour"
    assert answer(db, timeline) == [
        (BERLIN_MAR10, 3, 3, 2, 41.0, 110.0),  # rows 6, 1, 2, 3, 4
        (BERLIN_MAR10 + DAY, 1, 0, 0, 0.0, 0.0),  # row 7; row 5 is 03-12 00:10 in Berlin
    ]
    countries = Aggregate(**BERLIN_2D, dims=("country",))
    assert source(db, countries) == "ws_day+ws_hour_dim"  # UTC day 03-10 rolled up, the 1 h + 23 h edges per hour
    assert answer(db, countries) == [
        ("DE", 1, 1, 1, 30.0, 100.0),
        ("FR", 1, 1, 0, 3.0, 0.0),
        ("US", 2, 1, 1, 8.0, 10.0),
    ]


def test_non_aligned_bounds(db: DuckDBStore) -> None:
    q = Aggregate(MAR10 + 40 * 60_000, MAR10 + 10 * H + 17 * 60_000, dims=("country",))
    assert source(db, q) == "facts"  # no whole UTC day inside
    assert answer(db, q) == [("DE", 0, 1, 1, 30.0, 100.0), ("US", 1, 0, 0, 0.0, 0.0)]
    q = Aggregate(MAR10 - H, MAR10 + 2 * DAY + 1, dims=("content_id",), order=(("views", True),))
    assert source(db, q) == "agg_hour"
    assert answer(db, q) == [
        ("v1", 2, 2, 1, 33.0, 100.0),
        ("v2", 2, 1, 1, 8.0, 10.0),
        ("v3", 1, 1, 1, 20.0, 60.0),
    ]


def test_referrer_pages_projects_and_folders(db: DuckDBStore) -> None:
    pages = Aggregate(MAR10 - DAY, MAR10 + 2 * DAY, dims=("domain", "page"))
    assert source(db, pages) == "ws_page"
    assert answer(db, pages) == [
        ("a.com", "a.com/x", 2, 2, 1, 33.0, 100.0),
        ("a.com", "a.com/z", 1, 1, 1, 20.0, 60.0),
        ("b.com", "b.com/y", 2, 1, 1, 8.0, 10.0),
    ]
    by_project = Aggregate(MAR10 - DAY, MAR10 + 2 * DAY, dims=("project_id", "os"), filters={"project_id": ("p2",)})
    assert source(db, by_project) == "ws_day"
    assert answer(db, by_project) == [("p2", "Windows", 1, 1, 1, 20.0, 60.0)]
    folder = Aggregate(MAR10 - DAY, MAR10 + 2 * DAY, dims=("country",), filters={"folder_id": ("fa",)})
    assert source(db, folder) == "agg_day"
    assert answer(db, folder) == [("DE", 1, 1, 1, 30.0, 100.0), ("FR", 1, 1, 0, 3.0, 0.0)]
    week = Aggregate(MAR10 - 7 * DAY, MAR10 + 7 * DAY, dims=("content_id",), filters={"project_id": ("p1",)})
    assert source(db, week) == "agg_cday"
    assert answer(db, week) == [("v1", 2, 2, 1, 33.0, 100.0), ("v2", 2, 1, 1, 8.0, 10.0)]


def test_facts_when_no_rollup_fits(db: DuckDBStore) -> None:
    half_hour_zone = Aggregate(MAR10, MAR10 + DAY, bucket="day", timezone="Asia/Kolkata")
    assert source(db, half_hour_zone) == "facts"
    # Kolkata is UTC+5:30: rows 1-4 fall on 03-10, row 7 (05:00 on 03-11) on the next day
    assert answer(db, half_hour_zone) == [
        (MAR10 - 330 * 60_000, 2, 2, 2, 38.0, 110.0),
        (MAR10 + DAY - 330 * 60_000, 1, 0, 0, 0.0, 0.0),
    ]
    ext = Aggregate(MAR10 - DAY, MAR10 + 2 * DAY, dims=("external_id",))
    assert source(db, ext) == "facts"
    assert answer(db, ext) == [(None, 5, 4, 3, 61.0, 170.0)]


def test_the_tail_not_rolled_up_yet_counts(db: DuckDBStore) -> None:
    write(db, [credit(MAR10 + 12 * H, "v3", 1, 1, 1, 6.0, "DE", "a.com/z")])  # no maintain()
    q = Aggregate(MAR10, MAR10 + DAY, dims=("country",))
    assert source(db, q) == "ws_day"
    assert answer(db, q) == [("DE", 2, 2, 2, 36.0, 160.0), ("US", 2, 1, 1, 8.0, 10.0)]
    assert answer(db, Aggregate(MAR10, MAR10 + DAY)) == [(4, 3, 3, 44.0, 170.0)]
    db.maintain()
    assert answer(db, q) == [("DE", 2, 2, 2, 36.0, 160.0), ("US", 2, 1, 1, 8.0, 10.0)]


def test_a_duration_change_invalidates_the_workspace_rollups(db: DuckDBStore) -> None:
    q = Aggregate(MAR10, MAR10 + DAY)
    db.catalog_put(
        "content",
        {
            "id": "v1",
            "kind": "video",
            "project_id": "p1",
            "folder_id": "fa",
            "title": "v1",
            "duration": 50.0,
            "created_at": NOW,
        },
        create=False,
    )
    assert source(db, q) == "agg_hour"
    assert answer(db, q) == [(3, 2, 2, 38.0, 60.0)]  # 1 × 50 + 1 × 10
    db.maintain()
    assert source(db, q) == "ws_hour"
    assert answer(db, q) == [(3, 2, 2, 38.0, 60.0)]


def test_an_old_data_dir_is_rolled_up_again(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "old.duckdb")
    write(store, ROWS)
    cur = store._cur()
    cur.execute("DELETE FROM rollup_state")  # as before the watermark existed
    cur.execute(
        "INSERT INTO agg_hour VALUES (now(), 'v9', 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 0, 0, 0, 0)"
    )  # per-commit rollups of old
    store.close()
    store = DuckDBStore(tmp_path / "old.duckdb")
    q = Aggregate(MAR10, MAR10 + DAY)
    assert answer(store, q) == [(3, 2, 2, 38.0, 0.0)]  # no catalog: durations unknown
    store.maintain()
    assert answer(store, q) == [(3, 2, 2, 38.0, 0.0)]
    assert duckdb_rollup.state(store._cur()) == (7, True)
    store.close()


def test_a_big_tail_is_folded_a_week_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duckdb_rollup, "SLICE_ROWS", 2)
    store = DuckDBStore(tmp_path / "big.duckdb")
    far = credit(MAR10 + 20 * DAY, "v1", 1, 1, 1, 4.0, "DE", "a.com/x")  # two weeks later
    write(store, [*ROWS, far])
    store.maintain()
    assert duckdb_rollup.state(store._cur()) == (8, True)
    for q in (Aggregate(MAR10, MAR10 + DAY), Aggregate(MAR10 - DAY, MAR10 + 30 * DAY, dims=("country",))):
        assert source(store, q) != "facts"
        plan = duckdb_plan.plan_aggregate(q, 8, True, tail=False)  # rollups alone
        assert [tuple(r[:-1]) for r in store._cur().execute(plan.sql, plan.params).fetchall()] == from_facts(store, q)
    assert answer(store, Aggregate(MAR10 - DAY, MAR10 + 30 * DAY, dims=("country",))) == [
        ("DE", 3, 3, 3, 54.0, 0.0),
        ("FR", 1, 1, 0, 3.0, 0.0),
        ("US", 2, 1, 1, 8.0, 0.0),
    ]  # DE: rows 1, 2, 5 and the new one
    store.close()


def test_commits_go_on_while_maintain_folds(db: DuckDBStore) -> None:
    """maintain() does not hold the write lock: batches committed meanwhile stay in the tail."""
    import threading

    done = threading.Event()

    def fold() -> None:
        while not done.is_set():
            db.maintain()

    folder = threading.Thread(target=fold)
    folder.start()
    try:
        for i in range(40):
            write(db, [credit(MAR10 + i * 60_000 + 7, "v3", 1, 1, 1, 1.0, "KZ", "c.com/p")])
    finally:
        done.set()
        folder.join()
    q = Aggregate(MAR10, MAR10 + DAY, dims=("country",))
    assert answer(db, q)[1] == ("KZ", 40, 40, 40, 40.0, 2400.0)
    db.maintain()
    assert duckdb_rollup.state(db._cur()) == (47, True)
    assert answer(db, q)[1] == ("KZ", 40, 40, 40, 40.0, 2400.0)


def test_maintain_checkpoints_once_the_wal_holds_its_threshold(tmp_path: Path) -> None:
    """DuckDB keeps the rows it has not checkpointed in memory: maintain() checkpoints them once
    the WAL holds ``maintain_checkpoint_bytes``, not before, and the answers stay the same."""
    store = DuckDBStore(tmp_path / "c.duckdb", maintain_checkpoint_bytes=256 << 10)
    wal = Path(store.path + ".wal")

    def not_checkpointed() -> int:
        tags = dict(store._cur().execute("SELECT tag, memory_usage_bytes FROM duckdb_memory()").fetchall())
        return int(tags.get("IN_MEMORY_TABLE", 0))

    q = Aggregate(MAR10, MAR10 + DAY, dims=("country",))
    write(store, [credit(MAR10 + 7, "v3", 1, 1, 1, 1.0, "KZ", "c.com/p")])
    store.maintain()
    assert 0 < wal.stat().st_size < 256 << 10  # under the threshold: left for later
    for n in range(4):
        write(store, [credit(MAR10 + n * 1000 + i, "v3", 1, 1, 1, 1.0, "KZ", "c.com/p") for i in range(1000)])
    before = answer(store, q)
    assert wal.stat().st_size >= 256 << 10 and not_checkpointed() > 0
    store.maintain()
    assert not wal.exists() or wal.stat().st_size < 64 << 10
    assert not_checkpointed() == 0
    assert answer(store, q) == before and before[0][1] == 4001
    store.close()


TOPS = ("country", "platform", "os", "browser")


def tops(store: DuckDBStore, q: Aggregate, limit: int = 10) -> dict[str, list[tuple[Any, ...]]]:
    """``top_lists``, checked list by list against each dimension's top ``limit`` over facts only."""
    got = store.top_lists(q, TOPS, limit)
    assert got is not None
    for d in TOPS:
        one = msgspec.structs.replace(q, dims=(d,), order=(("views", True), ("player_loads", True)), limit=limit)
        assert got[d] == from_facts(store, one), d
    return {d: [r[:6] for r in rows] for d, rows in got.items()}  # value and the first five sums


def test_top_lists_in_one_scan_match_each_list(db: DuckDBStore) -> None:
    utc = Aggregate(MAR10, MAR10 + DAY)
    assert duckdb_plan.plan_tops(utc, TOPS, 10, *duckdb_rollup.state(db._cur())).source == "ws_day"  # type: ignore[union-attr]
    got = tops(db, utc)
    # rows 1-4, 7: US (3, 4, 7) 1 view 2 loads before DE (1, 2) 1 view 1 load; all desktop / Windows / Chrome
    assert got["country"] == [("US", 2, 1, 1, 8.0, 10.0), ("DE", 1, 1, 1, 30.0, 100.0)]
    assert got["os"] == [("Windows", 3, 2, 2, 38.0, 110.0)]
    # Berlin 03-10 and 03-11: UTC 03-10 from ws_day, the 1 h and 23 h edges from ws_hour_dim:
    # row 6 (FR) in, row 5 (03-12 00:10 in Berlin) out
    state = duckdb_rollup.state(db._cur())
    assert duckdb_plan.plan_tops(Aggregate(**BERLIN_2D), TOPS, 10, *state).source == "ws_day+ws_hour_dim"  # type: ignore[union-attr]
    assert tops(db, Aggregate(**BERLIN_2D))["country"] == [
        ("US", 2, 1, 1, 8.0, 10.0),
        ("DE", 1, 1, 1, 30.0, 100.0),
        ("FR", 1, 1, 0, 3.0, 0.0),
    ]
    # Kolkata (UTC+5:30) over two of its days: UTC 03-10 whole, the rest of both ends from facts
    kolkata = Aggregate(MAR10 - 330 * 60_000, MAR10 + 2 * DAY - 330 * 60_000, timezone="Asia/Kolkata")
    assert duckdb_plan.plan_tops(kolkata, TOPS, 10, *state).source == "ws_day+ws_hour_dim"  # type: ignore[union-attr]
    assert tops(db, kolkata, limit=1)["country"] == [("US", 2, 1, 1, 8.0, 10.0)]  # rows 1-4, 6, 7; not 5
    # the half hours 18:30-19:00 UTC at both ends from facts, the hours between from the rollups
    assert answer(db, msgspec.structs.replace(kolkata, dims=("country",))) == [
        ("DE", 1, 1, 1, 30.0, 100.0),
        ("FR", 1, 1, 0, 3.0, 0.0),
        ("US", 2, 1, 1, 8.0, 10.0),
    ]
    # 03-10 00:40 to 03-12: row 2 from facts (to 01:00), rows 3, 4, 7 from ws_hour_dim, row 5 from ws_day
    edge = Aggregate(MAR10 + 40 * 60_000, MAR10 + 2 * DAY, dims=("country",))
    assert source(db, edge) == "ws_day+ws_hour_dim"
    assert answer(db, edge) == [("DE", 1, 2, 2, 50.0, 160.0), ("US", 2, 1, 1, 8.0, 10.0)]
    assert tops(db, msgspec.structs.replace(edge, dims=()))["os"] == [("Windows", 3, 3, 3, 58.0, 170.0)]
    # with UTC day buckets: 03-10 from 06:00 (rows 3, 4, 7 per hour), 03-11 (row 5) from ws_day
    by_day = Aggregate(MAR10 + 6 * H, MAR10 + 2 * DAY, dims=("country",), bucket="day")
    assert source(db, by_day) == "ws_day+ws_hour_dim"
    assert answer(db, by_day) == [(MAR10, "US", 2, 1, 1, 8.0, 10.0), (MAR10 + DAY, "DE", 1, 1, 1, 20.0, 60.0)]

    folder = Aggregate(MAR10 - DAY, MAR10 + 2 * DAY, filters={"folder_id": ("fa",)})
    assert duckdb_plan.plan_tops(folder, TOPS, 10, *duckdb_rollup.state(db._cur())).source == "agg_day"  # type: ignore[union-attr]
    assert tops(db, folder)["country"] == [("DE", 1, 1, 1, 30.0, 100.0), ("FR", 1, 1, 0, 3.0, 0.0)]
    assert tops(db, Aggregate(MAR10 + H, MAR10 + 3 * H))["country"] == []  # facts only, nothing then
    write(db, [credit(MAR10 + 12 * H, "v3", 1, 1, 1, 6.0, "DE", "a.com/z")])  # the tail, no maintain()
    assert tops(db, utc)["country"] == [("DE", 2, 2, 2, 36.0, 160.0), ("US", 2, 1, 1, 8.0, 10.0)]
    # a filter on a fact dimension: the lists would need different sources
    assert db.top_lists(Aggregate(MAR10, MAR10 + DAY, filters={"country": ("DE",)}), TOPS, 10) is None


def test_a_dir_from_before_ws_hour_dim_gets_it_on_the_next_maintain(db: DuckDBStore, tmp_path: Path) -> None:
    berlin = Aggregate(**BERLIN_2D, dims=("country",))
    expected = answer(db, berlin)
    db._cur().execute("DROP TABLE ws_hour_dim")  # as a data dir made before it existed
    db.close()
    store = DuckDBStore(tmp_path / "plan.duckdb")
    assert duckdb_rollup.state(store._cur()) == (7, False)  # ws_* not trusted until rebuilt
    assert source(store, berlin) == "agg_day"
    assert answer(store, berlin) == expected
    store.maintain()
    assert duckdb_rollup.state(store._cur()) == (7, True)
    assert source(store, berlin) == "ws_day+ws_hour_dim"
    assert answer(store, berlin) == expected
    assert tops(store, Aggregate(**BERLIN_2D))["country"][0] == ("US", 2, 1, 1, 8.0, 10.0)
    store.close()
