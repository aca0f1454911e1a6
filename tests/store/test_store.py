"""The Store protocol, the same tests on every backend (``store`` is parametrised in conftest).

Hand-worked data: credits are given directly (the store only sums them), so every expected
number below is a sum of the rows in ``CREDITS``, worked out in the comments.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from watchdepth.collect.event import Event
from watchdepth.errors import StoreError
from watchdepth.sessionize import DUPLICATE, Credit
from watchdepth.store.base import SUMS, Aggregate, WriteBatch

T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z, a Monday
H = 3_600_000
D = 24 * H
S = 1000
END = T0 + 2 * D

DE = ("DE", "desktop", "Windows", "Chrome", "example.com", "/a", "alice", "Berlin")
US = ("US", "phone", "iOS", "Safari", "example.org", "/b", None, None)  # a country file: no city

CREDITS = [
    # t, content, session, load, loads, impressions, views, watch_time, seg, dims
    Credit(T0 + H, "v1", "s1", "l1", 1, 1, 0, 0.0, None, None, DE),  # c1 01:00 UTC day 1
    Credit(T0 + H + 10 * S, "v1", "s1", "l1", 0, 0, 1, 10.0, 0.0, 10.0, DE),  # c2
    Credit(T0 + 23 * H + 1800 * S, "v1", "s2", "l2", 1, 1, 0, 4.0, 0.0, 4.0, US),  # c3 23:30 UTC day 1
    Credit(T0 + 25 * H, "v2", "s1", "l3", 1, 1, 1, 6.0, 2.0, 8.0, DE),  # c4 01:00 UTC day 2
    Credit(T0 + 25 * H + 5 * S, "v2", "s1", "l3", 0, 0, 0, 2.0, 10.0, 12.0, DE),  # c5
]
# Totals: loads 3, unique views 3, views 2, watch time 10+4+6+2 = 22;
# view duration: one view of v1 (100 s) + one of v2 (10.5 s) = 110.5.


def ev(type_: str, content: str, session: str, load: str, seq: int, t: int, **kw: Any) -> Event:
    return Event(
        type=type_,
        content_id=content,
        kind="video",
        project_id="p1",
        session_id=session,
        load_id=load,
        seq=seq,
        t=t,
        received_at=t + 7,
        **kw,
    )


EVENTS = [  # (event, status, run, log_seq)
    (ev("load", "v1", "s1", "l1", 0, T0 + H, url="https://example.com/a", country="DE", ts=T0 + H), "applied", None, 3),
    (ev("play", "v1", "s1", "l1", 1, T0 + H + S, position=0.0), "applied", 1, 1),
    (ev("progress", "v1", "s1", "l1", 2, T0 + H + 11 * S, position=10.0, from_=0.0), "applied", 1, 2),
    (ev("load", "v1", "s2", "l2", 0, T0 + 23 * H + 1800 * S), "applied", None, 4),
    (ev("play", "v1", "s2", "l2", 1, T0 + 23 * H + 1801 * S, position=0.0), "applied", 1, 5),
    (ev("pause", "v1", "s2", "l2", 2, T0 + 23 * H + 1805 * S, position=4.0), "applied", 1, 6),
    (ev("play", "v1", "s2", "l2", 1, T0 + 23 * H + 1801 * S, position=0.0), DUPLICATE, None, None),
    (ev("load", "v1", "s3", "l9", 0, T0 + 2 * H), "bot", None, 7),
    (ev("progress", "v2", "s1", "l3", 5, T0 + 25 * H, position=3.0), "late", None, 8),
    (ev("play", "v2", "s1", "l3", 1, T0 + 25 * H - S, position=2.0), "applied", 1, 9),
]


def content(store: Any) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    store.catalog_put("projects", {"id": "p1", "name": "P", "created_at": now}, create=True)
    for cid, folder, dur in (("v1", "fa", 100.0), ("v2", "fb", 10.5)):
        store.catalog_put(
            "content",
            {
                "id": cid,
                "kind": "video",
                "project_id": "p1",
                "folder_id": folder,
                "title": cid,
                "duration": dur,
                "stream_id": None,
                "created_at": now,
            },
            create=True,
        )


@pytest.fixture
def loaded(store: Any) -> Any:
    content(store)
    half = 6
    for part, credits in ((EVENTS[:half], CREDITS[:3]), (EVENTS[half:], CREDITS[3:])):  # two group commits
        evs, status, run, seq = (list(x) for x in zip(*part))
        store.write_batch(WriteBatch(evs, status, run, seq, credits))
        store.maintain()
    return store


def agg(store: Any, sums: tuple[str, ...] = SUMS[:5], **kw: Any) -> tuple[list[tuple[Any, ...]], int]:
    """Rows (group keys, then the ``sums`` asked: by default loads … view_duration) and the total."""
    kw.setdefault("start_ms", T0)
    kw.setdefault("end_ms", END)
    got = store.aggregate(Aggregate(**kw))
    keys = len(got.columns) - len(SUMS)
    pick = [*range(keys), *(keys + SUMS.index(s) for s in sums)]
    return [tuple(round(r[i], 6) if isinstance(r[i], float) else r[i] for i in pick) for r in got.rows], got.total


def test_totals_and_view_duration(loaded: Any) -> None:
    assert agg(loaded) == ([(3, 3, 2, 22.0, 110.5)], 1)
    # from 01:00:05 to day 2: c2 (view, 10 s) and c3 (load, impression, 4 s): a period off the hour grid
    assert agg(loaded, start_ms=T0 + H + 5 * S, end_ms=T0 + D) == ([(1, 1, 1, 14.0, 100.0)], 1)
    # an empty period still has its one totals row
    assert agg(loaded, start_ms=END, end_ms=END + D) == ([(0, 0, 0, 0.0, 0.0)], 1)


def test_hour_and_day_buckets_utc(loaded: Any) -> None:
    rows, total = agg(loaded, bucket="hour")
    assert (
        rows
        == [
            (T0 + H, 1, 1, 1, 10.0, 100.0),  # c1 + c2
            (T0 + 23 * H, 1, 1, 0, 4.0, 0.0),  # c3
            (T0 + 25 * H, 1, 1, 1, 8.0, 10.5),  # c4 + c5
        ]
        and total == 3
    )
    assert agg(loaded, bucket="day")[0] == [(T0, 2, 2, 1, 14.0, 100.0), (T0 + D, 1, 1, 1, 8.0, 10.5)]


def test_buckets_in_new_york(loaded: Any) -> None:
    # UTC-5 in January: c1, c2 (01:00 UTC) fall on Sunday Jan 4 local, whose day starts at 05:00 UTC;
    # c3 (18:30 local) and c4, c5 (20:00 local) on Monday Jan 5, starting T0 + 5 h.
    rows, _ = agg(loaded, bucket="day", timezone="America/New_York")
    assert rows == [(T0 - 19 * H, 1, 1, 1, 10.0, 100.0), (T0 + 5 * H, 2, 2, 1, 12.0, 10.5)]
    # weeks start on Monday, local midnight: Mon Dec 29 05:00 UTC and Mon Jan 5 05:00 UTC
    rows, _ = agg(loaded, bucket="week", timezone="America/New_York")
    assert rows == [(T0 - 7 * D + 5 * H, 1, 1, 1, 10.0, 100.0), (T0 + 5 * H, 2, 2, 1, 12.0, 10.5)]
    # one month: January 1 00:00 local = 05:00 UTC, four days before T0
    assert agg(loaded, bucket="month", timezone="America/New_York")[0] == [(T0 - 4 * D + 5 * H, 3, 3, 2, 22.0, 110.5)]


def test_buckets_in_a_half_hour_zone(loaded: Any) -> None:
    # Kolkata is UTC+5:30: c1, c2 at 06:30 local Jan 5 -> day from Jan 4 18:30 UTC;
    # c3 (05:00 local Jan 6) and c4, c5 (06:30 local Jan 6) -> day from Jan 5 18:30 UTC.
    rows, _ = agg(loaded, bucket="day", timezone="Asia/Kolkata")
    assert rows == [(T0 - 5 * H - 1800 * S, 1, 1, 1, 10.0, 100.0), (T0 + 18 * H + 1800 * S, 2, 2, 1, 12.0, 10.5)]
    rows, _ = agg(loaded, bucket="hour", timezone="Asia/Kolkata")  # local hours start at :30 UTC
    assert [r[0] for r in rows] == [T0 + H - 1800 * S, T0 + 23 * H + 1800 * S, T0 + 24 * H + 1800 * S]


def test_group_by_dimension_order_and_nulls(loaded: Any) -> None:
    # DE: c1, c2, c4, c5 = loads 2, impressions 2, views 2, 10+6+2 = 18 s; US: c3
    rows, total = agg(loaded, dims=("country",), order=(("views", True),))
    assert rows == [("DE", 2, 2, 2, 18.0, 110.5), ("US", 1, 1, 0, 4.0, 0.0)] and total == 2
    # external_id: bob is NULL and sorts last
    rows, _ = agg(loaded, dims=("external_id",))
    assert rows == [("alice", 2, 2, 2, 18.0, 110.5), (None, 1, 1, 0, 4.0, 0.0)]
    # city: grouped and filtered like country, unknown is NULL
    assert agg(loaded, dims=("city",))[0] == [("Berlin", 2, 2, 2, 18.0, 110.5), (None, 1, 1, 0, 4.0, 0.0)]
    assert agg(loaded, dims=("city",), bucket="day")[0] == [
        (T0, "Berlin", 1, 1, 1, 10.0, 100.0),
        (T0, None, 1, 1, 0, 4.0, 0.0),
        (T0 + D, "Berlin", 1, 1, 1, 8.0, 10.5),
    ]
    assert agg(loaded, dims=("country",), filters={"city": ("Berlin",)})[0] == [("DE", 2, 2, 2, 18.0, 110.5)]
    # two dimensions, bucketed by day (UTC): DE on both days, US on day 1
    rows, _ = agg(loaded, dims=("country", "platform"), bucket="day", order=(("watch_time", True),))
    assert rows == [
        (T0, "DE", "desktop", 1, 1, 1, 10.0, 100.0),
        (T0 + D, "DE", "desktop", 1, 1, 1, 8.0, 10.5),
        (T0, "US", "phone", 1, 1, 0, 4.0, 0.0),
    ]


def test_catalog_dimensions_and_filters(loaded: Any) -> None:
    rows, total = agg(loaded, dims=("content_id",))
    assert rows == [("v1", 2, 2, 1, 14.0, 100.0), ("v2", 1, 1, 1, 8.0, 10.5)] and total == 2
    assert agg(loaded, dims=("project_id",))[0] == [("p1", 3, 3, 2, 22.0, 110.5)]
    assert agg(loaded, dims=("folder_id",), filters={"folder_id": ("fb",)})[0] == [("fb", 1, 1, 1, 8.0, 10.5)]
    assert agg(loaded, filters={"project_id": ("p2",)})[0] == [(0, 0, 0, 0.0, 0.0)]
    assert agg(loaded, filters={"country": ("US",)})[0] == [(1, 1, 0, 4.0, 0.0)]
    assert agg(loaded, filters={"content_id": ("v2",), "country": ("DE", "FR")})[0] == [(1, 1, 1, 8.0, 10.5)]
    # a filter on one dimension while grouping by another reads the facts
    assert agg(loaded, dims=("domain",), filters={"external_id": ("alice",)})[0] == [
        ("example.com", 2, 2, 2, 18.0, 110.5)
    ]


def test_limit_offset_and_total(loaded: Any) -> None:
    order = (("watch_time", True),)
    # (example.com, /a): 18 s; (example.org, /b): 4 s
    assert agg(loaded, dims=("domain", "page"), order=order, limit=1) == (
        [("example.com", "/a", 2, 2, 2, 18.0, 110.5)],
        2,
    )
    assert agg(loaded, dims=("domain", "page"), order=order, limit=1, offset=1) == (
        [("example.org", "/b", 1, 1, 0, 4.0, 0.0)],
        2,
    )
    assert agg(loaded, dims=("domain", "page"), order=order, limit=10, offset=5) == ([], 2)
    assert agg(loaded, dims=("domain", "page"), order=order, offset=1)[0] == [("example.org", "/b", 1, 1, 0, 4.0, 0.0)]
    assert agg(loaded, dims=("content_id",), order=(("content_id", True),), limit=1)[0][0][0] == "v2"


def test_watched_sets(loaded: Any) -> None:
    # impressions of v1 in the two days: s1 (c1) watched [0,10], s2 (c3) [0,4]
    assert sorted(loaded.watched_sets("v1", T0, END)) == [[(0.0, 4.0)], [(0.0, 10.0)]]
    assert loaded.watched_sets("v2", T0 + D, END) == [[(2.0, 8.0), (10.0, 12.0)]]
    assert loaded.watched_sets("v1", T0 + 2 * H, END) == [[(0.0, 4.0)]]  # s1's impression is before
    assert loaded.watched_sets("v1", END, END + D) == []


def test_run_spans(loaded: Any) -> None:
    # applied events with a run: s1 (l1) 01:00:01..01:00:11, s2 (l2) 23:30:01..23:30:05, s1 (l3) on v2
    assert sorted(loaded.run_spans(["v1"], T0, END)) == [
        (T0 + H + S, T0 + H + 11 * S, "s1"),
        (T0 + 23 * H + 1801 * S, T0 + 23 * H + 1805 * S, "s2"),
    ]
    assert loaded.run_spans(["v1"], T0 + 2 * H, END) == [(T0 + 23 * H + 1801 * S, T0 + 23 * H + 1805 * S, "s2")]
    assert loaded.run_spans(["v1"], T0, T0 + H + 5 * S) == [
        (T0 + H + S, T0 + H + S, "s1")
    ]  # events before the end only
    assert loaded.run_spans(["v2"], T0, END) == [(T0 + 25 * H - S, T0 + 25 * H - S, "s1")]  # the late event has no run


def test_log_counters_and_replay(loaded: Any) -> None:
    assert loaded.counters() == {"applied": 7, "bot": 1, "late": 1}  # the duplicate is not stored
    assert loaded.next_log_seq() >= 10
    assert loaded.first_event_ms() == T0 + H
    # s1's events in log order (log_seq 1, 2, 3, 8, 9), as written
    log = list(loaded.session_log(["s1"]))
    assert log == [EVENTS[i][0] for i in (1, 2, 0, 8, 9)]
    assert [e.bot for e in loaded.session_log(["s3"])] == [True]
    assert list(loaded.session_log([])) == []
    assert sorted(loaded.recent_sessions(T0 + 2 * H)) == ["s1", "s2", "s3"]
    assert sorted(loaded.recent_sessions(T0 + 24 * H)) == ["s1"]


def test_empty_store(store: Any) -> None:
    assert store.counters() == {}
    assert store.first_event_ms() is None
    assert store.next_log_seq() >= 1
    assert agg(store, dims=("country",)) == ([], 0)
    assert store.watched_sets("v1", T0, END) == [] and store.run_spans(["v1"], T0, END) == []


def test_catalog_crud(store: Any) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    row = {
        "id": "tk1",
        "hash": "h",
        "name": "ci",
        "projects": "[]",
        "read_only": True,
        "revoked": False,
        "created_at": at,
    }
    store.catalog_put("tokens", row, create=True)
    assert store.catalog_rows("tokens") == [row]
    with pytest.raises(StoreError):
        store.catalog_put("tokens", dict(row, name="again"), create=True)
    store.catalog_put("tokens", dict(row, revoked=True), create=False)
    assert store.catalog_rows("tokens") == [dict(row, revoked=True)]
    folder = {"id": "f1", "project_id": "p1", "parent_id": None, "name": "F", "created_at": at, "updated_at": None}
    store.catalog_put("folders", folder, create=True)
    store.catalog_put("folders", dict(folder, id="f2", parent_id="f1"), create=True)
    store.catalog_delete("folders", "f1")
    assert store.catalog_rows("folders") == [dict(folder, id="f2", parent_id="f1")]
    store.catalog_put("folders", folder, create=True)  # a deleted key can be created again
    assert sorted(r["id"] for r in store.catalog_rows("folders")) == ["f1", "f2"]
    store.catalog_put("settings", {"key": "k", "value": "v"}, create=True)
    store.catalog_put("settings", {"key": "k", "value": "w"}, create=False)
    assert store.catalog_rows("settings") == [{"key": "k", "value": "w"}]


def test_run_spans_by_content(loaded: Any) -> None:
    # applied events with a run, by hand from EVENTS: on v1, s1 (l1) 01:00:01..01:00:11 and
    # s2 (l2) 23:30:01..23:30:05 on day 1; on v2, s1's play (l3) at 00:59:59 on day 2 (the late
    # progress has no run); v3 has no event; the bot's load has no run
    by_content = loaded.run_spans_by_content(["v1", "v2", "v3"], T0, END)
    assert {cid: sorted(spans) for cid, spans in by_content.items()} == {
        "v1": [(T0 + H + S, T0 + H + 11 * S, "s1"), (T0 + 23 * H + 1801 * S, T0 + 23 * H + 1805 * S, "s2")],
        "v2": [(T0 + 25 * H - S, T0 + 25 * H - S, "s1")],
    }
    # a span is kept when it ends at or after the start, with the events before the end only
    window = loaded.run_spans_by_content(["v1", "v2"], T0 + H + 11 * S, T0 + 25 * H - S)
    assert {cid: sorted(spans) for cid, spans in window.items()} == {
        "v1": [(T0 + H + S, T0 + H + 11 * S, "s1"), (T0 + 23 * H + 1801 * S, T0 + 23 * H + 1805 * S, "s2")]
    }
    assert loaded.run_spans_by_content(["v1"], T0 + H + 12 * S, T0 + 23 * H + 1803 * S) == {
        "v1": [(T0 + 23 * H + 1801 * S, T0 + 23 * H + 1801 * S, "s2")]
    }
    assert loaded.run_spans_by_content(["v2"], T0, END) == {"v2": [(T0 + 25 * H - S, T0 + 25 * H - S, "s1")]}
    assert loaded.run_spans_by_content([], T0, END) == {}


def test_a_duckdb_file_from_before_city_is_upgraded_on_open(tmp_path: Any) -> None:
    """Old facts have no city: on open the per-day rollups gain one NULL city per key, summed
    from their country rows, without refolding the facts (the watermark stays)."""
    from watchdepth.store.duckdb import DuckDBStore

    path = tmp_path / "old.duckdb"
    store = DuckDBStore(path)
    content(store)
    evs, status, run, seq = (list(x) for x in zip(*EVENTS))
    old = [msgspec.structs.replace(c, dims=(*c.dims[:7], None)) for c in CREDITS]
    store.write_batch(WriteBatch(evs, status, run, seq, old))
    store.maintain()
    cur = store._cur()
    for table in ("events", "facts"):
        cur.execute(f"ALTER TABLE {table} DROP COLUMN city")  # as the previous release left it
    for table in ("agg_day", "ws_day"):
        cur.execute(f"DELETE FROM {table} WHERE dim = 'city'")
    wm = cur.execute("SELECT wm FROM rollup_state").fetchone()[0]
    store.close()
    store = DuckDBStore(path)
    try:
        assert store._cur().execute("SELECT wm FROM rollup_state").fetchone()[0] == wm > 0
        everything = agg(store)[0][0]
        assert agg(store, dims=("city",))[0] == [(None, *everything)]
        assert agg(store, dims=("city",), bucket="day")[0] == [
            (T0, None, 2, 2, 1, 14.0, 100.0),
            (T0 + D, None, 1, 1, 1, 8.0, 10.5),
        ]
        assert agg(store, dims=("city",), bucket="day", timezone="Europe/Berlin")[0][0][1] is None  # the facts agree
    finally:
        store.close()
