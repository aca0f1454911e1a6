"""Known data for the dashboard's tests against the real server, and its numbers worked by hand.

Input: nothing. Output: the catalog to create, the NDJSON events to import
(``/v1/events/import`` places them by ``ts``), and the figures docs/metrics.md gives for
them, each with its arithmetic. It starts no server and asserts nothing.

Days (UTC): the previous period is 3–4 January 2026, the current one 5–6 January
(a custom range of two days, so the dashboard's previous period is 3–4 January),
the stream is watched on 7 January.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import DESKTOP_UA, PHONE_UA, load_events

DAY = 86_400_000
JAN3 = 1_767_398_400_000  # 2026-01-03T00:00:00Z
JAN4, JAN5, JAN6, JAN7 = JAN3 + DAY, JAN3 + 2 * DAY, JAN3 + 3 * DAY, JAN3 + 4 * DAY
HOUR = 3_600_000
RU, US, DE = "77.88.55.88", "8.8.8.8", "46.4.0.1"
DESKTOP, PHONE = DESKTOP_UA, PHONE_UA

CURRENT = "period=custom&from=2026-01-05&to=2026-01-06"
STREAM_DAY = "period=custom&from=2026-01-07&to=2026-01-07"


def make_catalog(server: Any) -> None:
    """The same catalog as tests/conftest.py's ``catalog`` fixture (that one is per test)."""
    for path, body in [
        ("/v1/projects", {"id": "p1", "name": "Project one"}),
        ("/v1/projects", {"id": "p2", "name": "Project two"}),
        ("/v1/folders", {"id": "fa", "project_id": "p1", "name": "a"}),
        ("/v1/folders", {"id": "fb", "project_id": "p1", "parent_id": "fa", "name": "b"}),
        ("/v1/videos", {"id": "v1", "project_id": "p1", "folder_id": "fa", "title": "One", "duration": 100}),
        ("/v1/videos", {"id": "v2", "project_id": "p1", "folder_id": "fb", "title": "Two", "duration": 10.5}),
        ("/v1/videos", {"id": "v3", "project_id": "p2", "title": "Three", "duration": 60}),
        ("/v1/streams", {"id": "s1", "project_id": "p2", "title": "Live"}),
        ("/v1/streams/s1/events", {"id": "e1", "title": "Episode 1"}),
    ]:
        server.ok("POST", path, json=body)


def events() -> list[dict[str, Any]]:
    v1, v2 = {"video_id": "v1"}, {"video_id": "v2"}
    ev = {"stream_id": "s1", "event_id": "e1"}
    de = {"ip": DE, "user_agent": DESKTOP}
    alice = {"ip": RU, "user_agent": DESKTOP, "external_id": "alice"}
    return (
        # previous period. P1, 3 Jan 15:00: run [0,20], a view, 20 s. Q1, 4 Jan: a load only.
        load_events(
            v1,
            "P",
            "P1",
            JAN3 + 15 * HOUR,
            [("play", 1, 0), ("progress", 21, 20)],
            url="https://example.com/watch",
            **de,
        )
        + load_events(v1, "Q", "Q1", JAN4 + 15 * HOUR, [], url="https://example.com/watch", **de)
        # A1, 5 Jan 10:00: run [0,10] (a view), seek 10 -> 2, run [2,8] adds nothing: 10 s.
        + load_events(
            v1,
            "A",
            "A1",
            JAN5 + 10 * HOUR,
            [
                ("play", 1, 0),
                ("progress", 5, 4),
                ("progress", 11, 10),
                ("seek", 12, 2, 10),
                ("progress", 18, 8),
                ("pause", 19, 8),
            ],
            url="https://www.example.com/watch?x=1",
            **alice,
        )
        # A2, 6 Jan 09:00, same session: run [5,15] adds [10,15] = 5 s; no second impression or view.
        + load_events(
            v1,
            "A",
            "A2",
            JAN6 + 9 * HOUR,
            [("play", 1, 5), ("progress", 11, 15)],
            url="https://blog.example.org/p/1",
            **alice,
        )
        # B1, 5 Jan 12:00, a phone in the US: 4.9 s, an impression and no view.
        + load_events(
            v1,
            "B",
            "B1",
            JAN5 + 12 * HOUR,
            [("play", 1, 0), ("pause", 6, 4.9)],
            url="https://example.com/watch#t",
            ip=US,
            user_agent=PHONE,
            external_id="bob",
        )
        # D1, 6 Jan 01:00: v2 lasts 10.5 s; position 12 clips to 10.5: a view, 10.5 s.
        + load_events(
            v2,
            "D",
            "D1",
            JAN6 + 1 * HOUR,
            [("play", 1, 0), ("progress", 12, 12), ("ended", 13, 12)],
            url="https://example.com/other",
            **de,
        )
        # The stream on 7 Jan: E watches 02:00:01–02:00:31, F 02:00:11–02:00:31 (peak 2 at 02:00:11),
        # G alone 02:10:01–02:10:21. Each run reaches 5 s: 3 views; 30 + 20 + 20 = 70 s.
        + load_events(ev, "E", "E1", JAN7 + 2 * HOUR, [("play", 1, 0), ("progress", 31, 30)], **de)
        + load_events(ev, "F", "F1", JAN7 + 2 * HOUR + 10_000, [("play", 1, 0), ("progress", 21, 20)], **de)
        + load_events(ev, "G", "G1", JAN7 + 2 * HOUR + 600_000, [("play", 1, 0), ("progress", 21, 20)], **de)
    )


# ---- the figures, by hand (docs/metrics.md §4; rates and averages rounded half up) ----

#: Workspace, 5–6 Jan. Loads A1 A2 B1 D1 = 4; impressions (A,v1) (B,v1) (D,v2) = 3; views A, D = 2;
#: watch 10 + 5 + 4.9 + 10.5 = 30.4 -> 30; rate 2/4 = 50; the cohort (docs/metrics.md §5) is the 3
#: impressions' whole watched sets, 15 + 4.9 + 10.5 = 30.4: avg 30.4/3 = 10.1 -> 10;
#: depth 30.4 / (100 + 100 + 10.5) = 14.4% -> 14.
WORKSPACE = {
    "views": 2,
    "player_loads": 4,
    "view_rate": 50,
    "unique_views": 3,
    "watch_time": 30,
    "avg_watch_time": 10,
    "watch_depth": 14,
}
#: Workspace, 3–4 Jan: loads P1 Q1 = 2; impression and view (P,v1); 20 s; rate 50; avg 20; depth 20/100.
WORKSPACE_PREVIOUS = {
    "views": 1,
    "player_loads": 2,
    "view_rate": 50,
    "unique_views": 1,
    "watch_time": 20,
    "avg_watch_time": 20,
    "watch_depth": 20,
}
#: Changes as the cards word them: counts relative, rates in points.
#: views 2 vs 1, loads 4 vs 2, rate 50 vs 50, impressions 3 vs 1, watch 30 vs 20, avg 10 vs 20, depth 14 vs 20.
WORKSPACE_CHANGES = {
    "views": "+100%",
    "player_loads": "+100%",
    "view_rate": "0 pp",
    "unique_views": "+200%",
    "watch_time": "+50%",
    "avg_watch_time": "−50%",
    "watch_depth": "−6 pp",
}
#: Per day, 5 Jan: loads A1 B1, impressions (A,v1) (B,v1), A's view, 10 + 4.9 = 14.9 -> 15;
#: 6 Jan: loads A2 D1, impression and view (D,v2), 5 + 10.5 = 15.5 -> 16.
TIMELINE = {
    "views": [1, 1],
    "player_loads": [2, 2],
    "unique_views": [2, 1],
    "watch_time": [15, 16],
    "view_rate": [50, 50],
}

#: v1, 5–6 Jan: loads A1 A2 B1 = 3; impressions 2; a view (A); 10 + 5 + 4.9 = 19.9 -> 20; rate 1/3 -> 33;
#: cohort (A,v1) (B,v1): avg 19.9/2 = 9.95 -> 10; depth 19.9/200 -> 10.
#: Previous: P1 Q1, one impression and view, 20 s, rate 50, avg 20, depth 20.
VIDEO_V1 = {
    "views": 1,
    "player_loads": 3,
    "view_rate": 33,
    "unique_views": 2,
    "watch_time": 20,
    "avg_watch_time": 10,
    "watch_depth": 10,
}
VIDEO_V1_CHANGES = {
    "views": "0%",
    "player_loads": "+50%",
    "view_rate": "−17 pp",
    "unique_views": "+100%",
    "watch_time": "0%",
    "avg_watch_time": "−50%",
    "watch_depth": "−10 pp",
}
#: Retention of v1, 5–6 Jan: two impressions; A's watched set [0,15], B's [0,4.9].
#: Seconds 0–3 both (100%), 4–14 A only (50%), 15–99 nobody.
RETENTION_V1 = [(k, 2 if k < 4 else 1 if k < 15 else 0) for k in range(100)]

#: Top videos, 5–6 Jan. v2: a load, a view, 10.5 s -> 11 (half up), rate 100, depth 10.5/10.5 = 100;
#: v1: depth of its cohort (A,v1) (B,v1), 19.9/200 -> 10.
TOP = {
    "v1": {"title": "One", "views": 1, "player_loads": 3, "view_rate": 33, "watch_time": 20, "watch_depth": 10},
    "v2": {"title": "Two", "views": 1, "player_loads": 1, "view_rate": 100, "watch_time": 11, "watch_depth": 100},
}

#: Breakdowns, 5–6 Jan (loads, views): RU A1 A2 (A's view), US B1, DE D1 (D's view).
COUNTRIES = {"Russia": (2, 1), "United States": (1, 0), "Germany": (1, 1)}
PLATFORMS = {"Desktop": (3, 2), "Smartphone": (1, 0)}

#: Referrers, 5–6 Jan. example.com: A1 (www. dropped) and B1 on /watch, D1 on /other: 3 loads, 2 views, 67%.
#: blog.example.org: A2 only (A's view was credited on A1): 1 load, 0 views.
REFERRERS = {
    "example.com": ((2, 3, 67), {"example.com/watch": (1, 2, 50), "example.com/other": (1, 1, 100)}),
    "blog.example.org": ((0, 1, 0), {"blog.example.org/p/1": (0, 1, 0)}),
}

#: alice, all time: v1 with [0,15] watched = 15 s, one view, depth 15/100 = 15%, loads A1 A2.
ALICE = {"v1": {"watch_time": 15, "watch_depth": 15, "views": 1, "player_loads": 2}}

#: The stream s1, 7 Jan: loads E1 F1 G1, three impressions and views, 30 + 20 + 20 = 70 s, rate 100, avg 23.
STREAM = {"views": 3, "player_loads": 3, "view_rate": 100, "unique_views": 3, "watch_time": 70, "avg_watch_time": 23}
#: Peak concurrent viewers: E and F both watch from F's play at 02:00:11.
STREAM_PEAK = (2, "2026-01-07T02:00:11Z")
