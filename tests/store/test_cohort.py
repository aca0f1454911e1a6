"""Average watch time and watch depth as cohort numbers, and event counts, on both backends.

docs/metrics.md §4–5: over the (session, content) pairs whose unique impression falls in the period,
their whole watched sets (watch time credited after the period included); depth over content
with a duration only. Each case is worked by hand, and is one where the old definition
(period watch time ÷ views × duration) gave more than 100 %. Events go through the real
sessionizer and the real store (``store`` is DuckDB and ClickHouse, see conftest), and are
asked before ``maintain`` (facts only), after it (rollups), and over a period off the day grid
(rollups and facts edges), so every source must give the same numbers.

Catalog: v1 a video of 100 s, v10 a video of 10 s, live a stream (no duration).
``T0`` is Monday 2024-01-01 00:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.sessionize.helpers import DAY, HOUR, MINUTE, SECOND, T0, Player
from watchdepth.collect.event import Event
from watchdepth.query import metrics
from watchdepth.sessionize import DUPLICATE, Sessionizer, collect_order
from watchdepth.store.base import SUMS, Aggregate, WriteBatch

D1, D2 = T0, T0 + DAY


def catalog(store: Any) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    store.catalog_put("projects", {"id": "p1", "name": "P", "created_at": now}, create=True)
    for cid, kind, duration in (("v1", "video", 100.0), ("v10", "video", 10.0), ("live", "stream", None)):
        store.catalog_put(
            "content",
            {
                "id": cid,
                "kind": kind,
                "project_id": "p1",
                "folder_id": None,
                "title": cid,
                "duration": duration,
                "stream_id": None,
                "created_at": now,
            },
            create=True,
        )


def store_events(store: Any, *batches: list[Event]) -> Sessionizer:
    """Each batch as one /collect request through a fresh sessionizer, written to ``store``."""
    s = Sessionizer()
    seq = 1
    for events in batches:
        out = s.apply(events, collect_order(events))
        numbers: list[int | None] = [None] * len(events)
        for i in out.order:
            if out.status[i] != DUPLICATE:
                numbers[i], seq = seq, seq + 1
        store.write_batch(WriteBatch(events, out.status, out.run, numbers, out.credits))
    return s


def ask(store: Any, start: int, end: int, **kw: Any) -> list[dict[str, Any]]:
    """Each row's group keys and derived metrics (``query.metrics.derive``)."""
    got = store.aggregate(Aggregate(start_ms=start, end_ms=end, **kw))
    keys = len(got.columns) - len(SUMS)
    return [dict(zip(got.columns[:keys], r[:keys])) | metrics.derive(dict(zip(SUMS, r[keys:]))) for r in got.rows]


def cohort(row: dict[str, Any]) -> tuple[int, int, int]:
    return row["unique_views"], row["avg_watch_time"], row["watch_depth"]


def every_source(store: Any, check: Any) -> None:
    """``check`` against the facts alone, then after the rollups took them."""
    check()
    store.maintain()
    check()


def test_a_view_yesterday_watching_on_today(store: Any) -> None:
    catalog(store)
    a = Player("A", "A1", "v1", duration=100.0)
    b = Player("B", "B1", "v1", duration=100.0)
    store_events(
        store,
        # A: impression and view on day 1 ([0, 30] by 23:59:30), then on to 100 after midnight: +70 s on day 2
        [a.play(0, t=D2 - MINUTE), a.progress(30, t=D2 - 30 * SECOND), a.progress(100, t=D2 + 40 * SECOND)],
        # B: impression and view on day 2, [0, 40]
        [b.play(0, t=D2 + 10 * HOUR), b.progress(40, t=D2 + 10 * HOUR + 40 * SECOND)],
    )

    def check() -> None:
        day1, day2 = ask(store, D1, D2 + DAY, bucket="day")
        # day 2 was (70 + 40) / (1 view × 100) = 110 % before; its cohort is B alone: 40 / 100
        assert (day2["watch_time"], day2["views"]) == (110, 1)
        assert cohort(day2) == (1, 40, 40)
        # day 1's cohort is A, with its whole watched set [0, 100] (70 s of it credited on day 2)
        assert (day1["watch_time"], cohort(day1)) == (30, (1, 100, 100))
        # both days: (100 + 40) / 2 pairs = 70 s; 140 / (2 × 100) = 70 %
        (both,) = ask(store, D1, D2 + DAY)
        assert cohort(both) == (2, 70, 70)
        # off the day grid, [day 1 12:00, day 2 12:00): the same two impressions, the same cohort
        (mid,) = ask(store, D1 + 12 * HOUR, D2 + 12 * HOUR)
        assert cohort(mid) == (2, 70, 70)
        # [day 2 00:30, day 2 12:00): B's impression only; A's 70 s there belong to day 1's cohort
        (late,) = ask(store, D2 + 30 * MINUTE, D2 + 12 * HOUR)
        assert cohort(late) == (1, 40, 40) and late["watch_time"] == 40

    every_source(store, check)


def test_watch_time_without_a_view(store: Any) -> None:
    catalog(store)
    c = Player("C", "C1", "v10", duration=10.0, t=D1 + HOUR)
    d = Player("D", "D1", "v10", duration=10.0, t=D1 + 2 * HOUR)
    store_events(store, [c.play(0), c.progress(4)], [d.play(0), d.progress(10)])  # C: 4 s, no view; D: 10 s, a view

    def check() -> None:
        (row,) = ask(store, D1, D2, dims=("content_id",))
        # before: (4 + 10) / (1 view × 10) = 140 %; now both pairs: 14 / (2 × 10) = 70 %, 14 / 2 = 7 s
        assert (row["views"], row["watch_time"]) == (1, 14)
        assert cohort(row) == (2, 7, 70)

    every_source(store, check)


def test_a_stream_beside_a_video(store: Any) -> None:
    catalog(store)
    e = Player("E", "E1", "live", duration=None, kind="stream", t=D1 + HOUR)
    f = Player("F", "F1", "v1", duration=100.0, t=D1 + HOUR)
    store_events(store, [e.play(0), e.progress(300, t=D1 + HOUR + 300 * SECOND)], [f.play(0), f.progress(50)])

    def check() -> None:
        (total,) = ask(store, D1, D2)
        # before: (300 + 50) / (1 × 100 + 1 × stream without duration) = 350 %
        # now: depth over the video alone, 50 / 100; average over both pairs, (300 + 50) / 2 = 175 s
        assert (total["views"], total["watch_time"]) == (2, 350)
        assert cohort(total) == (2, 175, 50)
        by_content = {r["content_id"]: cohort(r) for r in ask(store, D1, D2, dims=("content_id",))}
        assert by_content == {"live": (1, 300, 0), "v1": (1, 50, 50)}

    every_source(store, check)


def test_a_pair_watched_on_two_pages_is_in_the_cohort_of_its_impression(store: Any) -> None:
    catalog(store)
    g1 = Player("G", "G1", "v1", duration=100.0, t=D1 + HOUR, url="https://a.com/x", domain="a.com", page="a.com/x")
    g2 = Player("G", "G2", "v1", duration=100.0, t=D1 + 2 * HOUR, url="https://b.com/y", domain="b.com", page="b.com/y")
    # G1 on page x: impression, [0, 10]; G2 on page y, the same session: [10, 60] adds 50 s
    store_events(store, [g1.play(0), g1.progress(10)], [g2.play(10), g2.progress(60, t=D1 + 2 * HOUR + 50 * SECOND)])

    def check() -> None:
        pages = {r["page"]: r for r in ask(store, D1, D2, dims=("page",))}
        # watch time where it was watched: 10 s on x, 50 s on y; the pair's 60 s in x's cohort: 60 %
        assert (pages["a.com/x"]["watch_time"], cohort(pages["a.com/x"])) == (10, (1, 60, 60))
        assert (pages["b.com/y"]["watch_time"], cohort(pages["b.com/y"])) == (50, (0, 0, 0))
        (total,) = ask(store, D1, D2)
        assert cohort(total) == (1, 60, 60)

    every_source(store, check)


def test_event_counts_are_stored_sums(store: Any) -> None:
    catalog(store)
    p = Player("S", "L1", "v1", duration=100.0, t=D1 + HOUR)
    q = Player("S", "L2", "v1", duration=100.0, t=D2 + HOUR)
    store_events(
        store,
        # day 1: load (player_init), play, pause, play, seek, to the end, replay (a play after the end)
        [p.load(), p.play(0), p.progress(10), p.pause(10), p.play(10), p.seek(20, 90), p.progress(100), p.play(0)],
        # day 2: a second load in the same session, one play; the resent play of day 1 is a duplicate
        [q.load(), q.play(0), p.play(0, seq=7)],
    )

    def check() -> None:
        counts = ("play", "pause", "seek", "replay", "player_init")
        day1, day2 = ask(store, D1, D2 + DAY, bucket="day")
        assert [day1[c] for c in counts] == [3, 1, 1, 1, 1]
        assert [day2[c] for c in counts] == [1, 0, 0, 0, 1]
        (off_grid,) = ask(store, D1 + HOUR + 2 * SECOND, D2 + HOUR + 30 * MINUTE)  # from day 1's pause on
        assert [off_grid[c] for c in counts] == [3, 1, 1, 1, 1]

    every_source(store, check)


def test_a_duckdb_file_from_before_the_cohort_is_upgraded_on_open(tmp_path: Any) -> None:
    from watchdepth.store.duckdb import DuckDBStore

    path = tmp_path / "old.duckdb"
    store = DuckDBStore(path)
    test_a_view_yesterday_watching_on_today(store)
    want = ask(store, D1, D2 + DAY, bucket="day")
    cur = store._cur()
    for table, column in cur.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE column_name IN "
        "('imp_t', 'cohort_wt', 'depth_wt', 'depth_duration', 'play', 'pause', 'seek', "
        "'replay', 'player_init')"
    ).fetchall():
        cur.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # as the previous release left it
    store.close()
    store = DuckDBStore(path)  # adds the columns, gives old facts their pair's impression time, rolls up again
    try:
        assert store._cur().execute("SELECT wm FROM rollup_state").fetchone()[0] == 0
        got = ask(store, D1, D2 + DAY, bucket="day")
        store.maintain()
        assert got == ask(store, D1, D2 + DAY, bucket="day")
        # the cohort numbers come back; event counts cannot (they start at the upgrade)
        assert [cohort(r) for r in got] == [cohort(r) for r in want] == [(1, 100, 100), (1, 40, 40)]
        assert [r["play"] for r in got] == [0, 0] and [r["play"] for r in want] == [1, 1]
    finally:
        store.close()


def test_random_traffic_sums_as_its_credits_on_every_source(store: Any) -> None:
    """Seeded random traffic over three days (sessions lasting hours, so watch time often lands
    after its impression's day): the store's cohort sums and counts equal the credits' own."""
    import random

    from tests.query.test_cohort_properties import traffic

    catalog(store)
    rnd = random.Random(7)
    kinds = ["play", "progress", "progress", "pause", "seek", "ended"]
    loads = [
        (
            rnd.randrange(6),
            rnd.randrange(72),
            [(rnd.choice(kinds), rnd.randrange(110), rnd.randrange(110)) for _ in range(rnd.randrange(1, 12))],
        )
        for _ in range(40)
    ]
    credits = traffic(loads, 100)  # content "v" of 100 s: not in the catalog, so no duration (depth 0)
    credits += traffic([(s + 10, h, acts) for s, h, acts in loads], 100, content="v1")  # v1: 100 s
    store.write_batch(WriteBatch([], [], [], [], credits))

    def want(start: int, end: int) -> dict[str, float]:
        cohort_wt = [c for c in credits if c.imp_t is not None and start <= c.imp_t < end]
        return {
            "unique_views": sum(c.impressions for c in credits if start <= c.t < end),
            "cohort_watch_time": round(sum(c.cohort_wt for c in cohort_wt), 6),
            "depth_watch_time": round(sum(c.cohort_wt for c in cohort_wt if c.content_id == "v1"), 6),
            "play": sum(c.play for c in credits if start <= c.t < end),
        }

    def check() -> None:
        for start, end in ((D1, D1 + 3 * DAY), (D1 + 5 * HOUR + 17 * MINUTE, D2 + 20 * HOUR), (D2, D2 + DAY)):
            got = store.aggregate(Aggregate(start_ms=start, end_ms=end)).rows[0]
            sums = dict(zip(SUMS, got))
            assert {k: round(sums[k], 6) for k in want(start, end)} == want(start, end), (start, end)
        by_day = store.aggregate(Aggregate(start_ms=D1, end_ms=D1 + 3 * DAY, bucket="day")).rows
        assert [round(dict(zip(SUMS, r[1:]))["cohort_watch_time"], 6) for r in by_day] == [
            want(D1 + i * DAY, D1 + (i + 1) * DAY)["cohort_watch_time"] for i in range(3)
        ]

    every_source(store, check)
