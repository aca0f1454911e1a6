"""End to end through the real server: catalog -> import and /collect -> every analytics endpoint.

The scenario is worked by hand (docs/metrics.md §3–5); each expected number has its arithmetic.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import DESKTOP_UA, PHONE_UA, Server, load_events

#: Every test runs on both backends: the embedded DuckDB file and ClickHouse (chDB, ``--store chdb://…``).
pytestmark = pytest.mark.parametrize(
    "server", ["duckdb", pytest.param("clickhouse", marks=pytest.mark.clickhouse)], indirect=True
)

DAY1 = 1_767_571_200_000  # 2026-01-05T00:00:00Z, a Monday
DAY2 = DAY1 + 86_400_000
RU, US, DE = "77.88.55.88", "8.8.8.8", "46.4.0.1"
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def scenario() -> list[dict[str, Any]]:
    v1, v2 = {"video_id": "v1"}, {"video_id": "v2"}
    a = {"ip": RU, "user_agent": DESKTOP_UA, "external_id": "alice"}
    return (
        # A1, day 1 10:00: run [0,10] (view at +11 s: 10 s continuous), seek 10 -> 2, re-watch [2,8]: watched 10 s.
        load_events(
            v1,
            "A",
            "A1",
            DAY1 + 36_000_000,
            [
                ("play", 1, 0),
                ("progress", 5, 4),
                ("progress", 11, 10),
                ("seek", 12, 2, 10),
                ("progress", 18, 8),
                ("pause", 19, 8),
            ],
            url="https://www.example.com/watch?x=1",
            **a,
        )
        # A2, day 2 09:00, same session: run [5,15] adds only [10,15] = 5 s; no second view or impression.
        + load_events(
            v1,
            "A",
            "A2",
            DAY2 + 32_400_000,
            [("play", 1, 5), ("progress", 11, 15)],
            url="https://blog.example.org/p/1",
            **a,
        )
        # B1, day 1 12:00, phone in the US: 4.9 s is no view; impression yes.
        + load_events(
            v1,
            "B",
            "B1",
            DAY1 + 43_200_000,
            [("play", 1, 0), ("pause", 6, 4.9)],
            url="https://example.com/watch#t",
            ip=US,
            user_agent=PHONE_UA,
            external_id="bob",
        )
        # A bot: acknowledged, counted nowhere.
        + load_events(
            v1,
            "C",
            "C1",
            DAY1 + 50_000_000,
            [("play", 1, 0), ("progress", 20, 19)],
            url="https://example.com/watch",
            ip=US,
            user_agent=BOT_UA,
        )
        # D1, day 2: v2 lasts 10.5 s; a position of 12 clips to 10.5: a view, 10.5 s watched.
        + load_events(
            v2,
            "D",
            "D1",
            DAY2 + 3_600_000,
            [("play", 1, 0), ("progress", 12, 12), ("ended", 13, 12)],
            url="https://example.com/other",
            ip=DE,
            user_agent=DESKTOP_UA,
        )
        # E1, day 1: the broadcast event e1 of stream s1 (project p2): 30 s watched, a view.
        + load_events(
            {"stream_id": "s1", "event_id": "e1"},
            "E",
            "E1",
            DAY1 + 7_200_000,
            [("play", 1, 0), ("progress", 31, 30)],
            ip=DE,
            user_agent=DESKTOP_UA,
        )
    )


@pytest.fixture
def loaded(catalog: Server) -> Server:
    r = catalog.import_events(scenario())
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": len(scenario()), "duplicates": 0}
    return catalog


def get(s: Server, path: str, **params: Any) -> Any:
    r = s.api("GET", path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def no_quality(exits: int) -> dict[str, Any]:
    """The quality fields (docs/metrics.md §7) of data without startup, stall or error events: every load
    that played is an exit before start (it never sent a startup)."""
    return {
        "startup_time": None,
        "startup_time_p90": None,
        "buffering_count": 0,
        "buffering_time": 0.0,
        "rebuffer_ratio": 0.0,
        "playback_failures": 0,
        "failure_rate": 0.0,
        "exits_before_start": exits,
    }


def test_overview_totals_timeline_and_top(loaded: Server) -> None:
    body = get(loaded, "/v1/analytics/overview", **{"from": "2026-01-05", "to": "2026-01-07", "project_id": "p1"})
    # loads: A1, A2, B1, D1 = 4; impressions: (A,v1), (B,v1), (D,v2) = 3; views: A, D = 2
    # watch time: 10 + 5 + 4.9 + 10.5 = 30.4 -> 30; rate 2/4 = 50; duration 110.5 -> 111 (half up)
    # the cohort (docs/metrics.md §5): the 3 impressions' whole watched sets, A 15 + B 4.9 + D 10.5 = 30.4:
    # avg 30.4 / 3 = 10.13 -> 10; depth 30.4 / (100 + 100 + 10.5) = 14.4% -> 14
    assert body["data"]["total"] == {
        "views": 2,
        "unique_views": 3,
        "player_loads": 4,
        "watch_time": 30,
        "view_rate": 50,
        "avg_watch_time": 10,
        "watch_depth": 14,
        "duration": 111,
        "online": 0,
        **no_quality(4),
    }
    assert body["meta"]["time"] == {"from": "2026-01-05T00:00:00Z", "to": "2026-01-07T00:00:00Z", "timezone": "UTC"}
    day1, day2 = body["data"]["timeline"]
    # day 1: A1 + B1 loads, (A,v1) (B,v1) impressions, A's view; 10 + 4.9 = 14.9 -> 15; duration 100.
    # Its cohort (A,v1) (B,v1) with A's 5 s of day 2: (15 + 4.9) / 2 = 9.95 -> 10 s; 19.9 / 200 -> 10 %
    assert day1 == {
        "date": "2026-01-05T00:00:00Z",
        "views": 1,
        "unique_views": 2,
        "player_loads": 2,
        "watch_time": 15,
        "view_rate": 50,
        "avg_watch_time": 10,
        "watch_depth": 10,
        "duration": 100,
        **no_quality(2),
    }
    # day 2: A2 and D1 loads; (D,v2) impression and view; 5 + 10.5 = 15.5 -> 16; duration 10.5 -> 11.
    # Its cohort (D,v2) alone: 10.5 s -> 11; 10.5 / 10.5 = 100 %
    assert day2 == {
        "date": "2026-01-06T00:00:00Z",
        "views": 1,
        "unique_views": 1,
        "player_loads": 2,
        "watch_time": 16,
        "view_rate": 50,
        "avg_watch_time": 11,
        "watch_depth": 100,
        "duration": 11,
        **no_quality(2),
    }
    top = body["data"]["top"]
    assert top["countries"] == [
        {"name": "Russian Federation", "code": "RU", "views": 1, "player_loads": 2},
        {"name": "Germany", "code": "DE", "views": 1, "player_loads": 1},
        {"name": "United States", "code": "US", "views": 0, "player_loads": 1},
    ]
    assert top["devices"] == [
        {"name": "desktop", "views": 2, "player_loads": 3},
        {"name": "mobile", "views": 0, "player_loads": 1},
        {"name": "tablet", "views": 0, "player_loads": 0},
        {"name": "tv", "views": 0, "player_loads": 0},
    ]
    assert {b["name"] for b in top["browsers"]} == {"Chrome", "Safari"}
    assert {o["name"] for o in top["oses"]} == {"Windows", "iOS"}


def test_days_add_up_to_the_week_in_any_time_zone(loaded: Server) -> None:
    for tz in ("UTC", "Asia/Kolkata", "America/New_York"):
        week = get(
            loaded,
            "/v1/analytics/overview",
            **{"from": "2026-01-05", "to": "2026-01-12", "timezone": tz, "group_time": "week"},
        )
        days = get(
            loaded,
            "/v1/analytics/overview",
            **{"from": "2026-01-05", "to": "2026-01-12", "timezone": tz, "group_time": "day"},
        )
        assert len(days["data"]["timeline"]) == 7 and len(week["data"]["timeline"]) == 1
        for field in ("views", "unique_views", "player_loads"):
            assert (
                sum(d[field] for d in days["data"]["timeline"])
                == week["data"]["timeline"][0][field]
                == week["data"]["total"][field]
            )


def test_group_by_video_with_order_and_pagination(loaded: Server) -> None:
    body = get(
        loaded,
        "/v1/analytics",
        **{"from": "2026-01-05", "to": "2026-01-07", "group_by": "video_id", "order": "watch_time.desc"},
    )
    rows = body["data"]
    assert [r["video_id"] for r in rows] == ["e1", "v1", "v2"]  # 30 s, 19.9 s, 10.5 s
    # v1's cohort: (A,v1) 15 s and (B,v1) 4.9 s: 19.9 / 2 = 9.95 -> 10 s; 19.9 / (2 × 100) -> 10 %
    assert rows[1] == {
        "video_id": "v1",
        "title": "One",
        "duration": 100.0,
        "views": 1,
        "unique_views": 2,
        "player_loads": 3,
        "watch_time": 20,
        "view_rate": 33,
        "avg_watch_time": 10,
        "watch_depth": 10,
    }
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 10, "total": 3}
    page2 = get(
        loaded,
        "/v1/analytics",
        **{
            "from": "2026-01-05",
            "to": "2026-01-07",
            "group_by": "video_id",
            "order": "view_rate.desc,video_id.asc",
            "per_page": 1,
            "page": 2,
        },
    )
    # view rates: e1 1/1 = 100, v2 1/1 = 100, v1 1/3 = 33 -> page 2 of 1 is v2
    assert [r["video_id"] for r in page2["data"]] == ["v2"]
    assert page2["meta"]["pagination"]["total"] == 3


def test_group_by_several_dimensions_and_fields(loaded: Server) -> None:
    body = get(
        loaded,
        "/v1/analytics",
        **{
            "from": "2026-01-05",
            "to": "2026-01-07",
            "group_entities": "date,country",
            "project_id": "p1",
            "fields": "views,player_loads",
            "order": "date.asc,country.asc",
        },
    )
    assert body["data"] == [
        {"date": "2026-01-05T00:00:00Z", "country": "RU", "views": 1, "player_loads": 1},
        {"date": "2026-01-05T00:00:00Z", "country": "US", "views": 0, "player_loads": 1},
        {"date": "2026-01-06T00:00:00Z", "country": "DE", "views": 1, "player_loads": 1},
        {"date": "2026-01-06T00:00:00Z", "country": "RU", "views": 0, "player_loads": 1},
    ]


def test_per_viewer_report(loaded: Server) -> None:
    body = get(
        loaded,
        "/v1/analytics",
        **{
            "from": "2026-01-05",
            "to": "2026-01-07",
            "group_by": "external_id,video_id",
            "order": "external_id.asc",
            "fields": "views,watch_time,watch_depth",
        },
    )
    assert body["data"][:2] == [
        # alice watched [0,15] of v1: 15 s, one view, depth 15/100 = 15%
        {
            "external_id": "alice",
            "video_id": "v1",
            "title": "One",
            "duration": 100.0,
            "views": 1,
            "watch_time": 15,
            "watch_depth": 15,
        },
        # bob: 4.9 s -> 5, no view; his impression is in the cohort all the same: 4.9 / 100 -> 5 %
        {
            "external_id": "bob",
            "video_id": "v1",
            "title": "One",
            "duration": 100.0,
            "views": 0,
            "watch_time": 5,
            "watch_depth": 5,
        },
    ]


def test_folders_include_subfolders_and_streams_include_events(loaded: Server) -> None:
    period = {"from": "2026-01-05", "to": "2026-01-07"}
    fa = get(loaded, "/v1/analytics/overview", folder_id="fa", **period)["data"]["total"]
    fb = get(loaded, "/v1/analytics/overview", folder_id="fb", **period)["data"]["total"]
    assert (fa["player_loads"], fb["player_loads"]) == (4, 1)  # fa holds v1 and, through fb, v2
    s1 = get(loaded, "/v1/analytics/overview", stream_id="s1", **period)["data"]["total"]
    assert (s1["views"], s1["watch_time"], s1["watch_depth"]) == (1, 30, 0)  # a stream has no duration: depth 0


def test_referrers_grouped_by_domain(loaded: Server) -> None:
    body = get(loaded, "/v1/analytics/referrers", **{"from": "2026-01-05", "to": "2026-01-07", "project_id": "p1"})
    # example.com/watch: A1 (view) and B1 (no view) -> 2 loads, 1 view, 50%; /other: D1 with a view
    assert body["data"] == [
        {
            "domain": "example.com",
            "views": 2,
            "player_loads": 3,
            "view_rate": 67,
            "pages": [
                {"url": "example.com/other", "views": 1, "player_loads": 1, "view_rate": 100},
                {"url": "example.com/watch", "views": 1, "player_loads": 2, "view_rate": 50},
            ],
            "pages_total": 2,
        },
        {
            "domain": "blog.example.org",
            "views": 0,
            "player_loads": 1,
            "view_rate": 0,
            "pages": [
                {"url": "blog.example.org/p/1", "views": 0, "player_loads": 1, "view_rate": 0},
            ],
            "pages_total": 1,
        },
    ]
    # the whole workspace adds E1 (the broadcast, no page URL): one row without domain, whose
    # one page is itself, between the others by views then loads
    everything = get(loaded, "/v1/analytics/referrers", **{"from": "2026-01-05", "to": "2026-01-07"})["data"]
    assert [(r["domain"], r["views"], r["player_loads"]) for r in everything] == [
        ("example.com", 2, 3),
        (None, 1, 1),
        ("blog.example.org", 0, 1),
    ]
    assert everything[1]["pages"] == [{"url": None, "views": 1, "player_loads": 1, "view_rate": 100}]
    assert everything[0] == body["data"][0] and everything[2] == body["data"][1]


def test_retention_counts_each_second_once_per_viewer(loaded: Server) -> None:
    body = get(loaded, "/v1/analytics/retention", **{"from": "2026-01-05", "to": "2026-01-06", "video_id": "v1"})[
        "data"
    ]
    # impressions on day 1: A and B. A's watched set [0,15] (day 2 included), B's [0,4.9].
    assert body["unique_views"] == 2 and body["duration"] == 100.0 and len(body["points"]) == 100
    pts = {p["second"]: (p["viewers"], p["share"]) for p in body["points"]}
    assert pts[0] == pts[3] == (2, 1.0)
    assert pts[4] == pts[14] == (1, 0.5)  # [4,5) is not covered by B's 4.9
    assert pts[15] == pts[99] == (0, 0.0)


def test_reimport_changes_nothing(loaded: Server) -> None:
    before = get(loaded, "/v1/analytics/overview", **{"from": "2026-01-05", "to": "2026-01-07"})["data"]["total"]
    r = loaded.import_events(list(reversed(scenario())))
    assert r.json() == {"accepted": 0, "duplicates": len(scenario())}
    loaded.restart()
    r = loaded.import_events(scenario())
    assert r.json() == {"accepted": 0, "duplicates": len(scenario())}
    after = get(loaded, "/v1/analytics/overview", **{"from": "2026-01-05", "to": "2026-01-07"})["data"]["total"]
    assert after == before


def test_collect_live_counts_today(catalog: Server) -> None:
    base = {"video_id": "v1", "session_id": "L", "load_id": "L1"}
    batch = [
        {"type": "load", "seq": 0, **base},
        {"type": "play", "seq": 1, "position": 0, **base},
        {"type": "progress", "seq": 2, "position": 6, **base},
    ]
    r = catalog.collect(batch, **{"x-forwarded-for": "1.2.3.4"})
    assert r.status_code == 202 and r.json() == {"accepted": 3, "duplicates": 0}
    again = catalog.collect(batch)
    assert again.json() == {"accepted": 0, "duplicates": 3}
    late = catalog.collect(
        [{"type": "progress", "seq": 3, "position": 9, **base}, {"type": "progress", "seq": 5, "position": 12, **base}]
    )
    assert late.json() == {"accepted": 2, "duplicates": 0}
    catalog.collect([{"type": "progress", "seq": 4, "position": 30, **base}])  # late: after seq 5, changes nothing
    total = get(catalog, "/v1/analytics/overview", period="today")["data"]["total"]
    # run [0,12]: one load, one impression, one view, 12 s; the late position 30 counts nowhere
    assert (total["player_loads"], total["unique_views"], total["views"], total["watch_time"]) == (1, 1, 1, 12)
    assert total["online"] == 1  # the latest event, seconds ago, was progress
    realtime = get(catalog, "/v1/analytics/realtime")["data"]
    assert realtime == {"online": 1, "videos": [{"video_id": "v1", "title": "One", "online": 1}]}
    metrics = catalog.client.get("/metrics").text
    assert 'watchdepth_events_total{outcome="late"} 1' in metrics


def test_scoped_and_read_only_tokens(catalog: Server) -> None:
    from tests.conftest import cli

    ro = cli("token", "create", "--project", "p2", "--read-only", data=catalog.data).stdout.strip().splitlines()[-1]
    h = {"Authorization": f"Bearer {ro}"}
    assert (
        catalog.api("GET", "/v1/analytics/overview", params={"period": "today", "project_id": "p1"}, headers=h).json()[
            "error"
        ]["code"]
        == 100103
    )
    assert catalog.api("GET", "/v1/analytics/overview", params={"period": "today"}, headers=h).status_code == 200
    assert catalog.api("POST", "/v1/projects", json={"name": "x"}, headers=h).json()["error"]["code"] == 100103
    assert [p["id"] for p in catalog.api("GET", "/v1/projects", headers=h).json()["data"]] == ["p2"]
    assert catalog.api("GET", "/v1/videos/v1", headers=h).status_code == 403
