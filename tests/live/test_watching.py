"""Watching now and peak concurrent viewers, step by step with an injected clock (docs/metrics.md §4).

Viewers join, pause, resume, seek, stop sending and end; after every step the realtime
count (sessions whose latest counted event, received in (now − 30 s, now], is play or
progress) and the peak (distinct sessions inside [first event, last event] of a run)
are checked against values worked out by hand in the comments. Times are seconds after
T0 = 2026-01-01T00:00:00Z.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.harness import Live


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    lv = Live(tmp_path)
    lv.ok("POST", "/v1/projects", json={"id": "p1", "name": "One"})
    lv.ok("POST", "/v1/projects", json={"id": "p2", "name": "Two"})
    lv.ok("POST", "/v1/videos", json={"id": "v1", "project_id": "p1", "title": "Video", "duration": 100})
    lv.ok("POST", "/v1/videos", json={"id": "v9", "project_id": "p1", "title": "Other", "duration": 100})
    lv.ok("POST", "/v1/streams", json={"id": "s1", "project_id": "p2", "title": "Live"})
    lv.ok("POST", "/v1/streams/s1/events", json={"id": "e1", "title": "Episode 1"})
    try:
        yield lv
    finally:
        lv.close()


def check(live: Live, online: int, peak: int, peak_s: float | None, **subject: str) -> None:
    assert live.online(**subject) == online
    got = live.peak(**subject)
    assert got["peak_concurrent_viewers"] == peak
    want_at = None if peak_s is None else f"2026-01-01T00:00:{peak_s:02.0f}Z"
    assert got["peak_at"] == want_at


def test_a_video_step_by_step(live: Live) -> None:
    v = {"video_id": "v1"}
    check(live, 0, 0, None, **v)
    live.at(0).send("A", "load", video_id="v1")
    check(live, 0, 0, None, **v)  # a load alone is not playing and opens no run
    live.send("A", "play", 0, video_id="v1")
    check(live, 1, 1, 0, **v)  # A [0, 0]
    live.at(5).send("B", "load", video_id="v1")
    live.send("B", "play", 0, video_id="v1")
    check(live, 2, 1, 0, **v)  # A [0, 0], B [5, 5]: A's run has not reached 5 s yet
    live.at(10).send("A", "progress", 10, video_id="v1")
    check(live, 2, 2, 5, **v)  # A [0, 10] covers 5
    live.at(15).send("B", "progress", 10, video_id="v1")
    check(live, 2, 2, 5, **v)  # B [5, 15]
    live.at(20).send("A", "pause", 20, video_id="v1")
    check(live, 1, 2, 5, **v)  # A paused: out of watching now; A [0, 20]
    live.send("C", "load", video_id="v1")
    live.send("C", "play", 0, video_id="v1")
    check(live, 2, 2, 5, **v)  # at 20: A and C (B's run ended at 15 so far)
    live.at(25).send("B", "progress", 20, video_id="v1")
    check(live, 2, 3, 20, **v)  # B [5, 25]: at 20 A, B, C. Watching: B, C
    live.at(30).send("A", "play", 20, video_id="v1")  # resumes where it paused: the same run
    live.send("C", "progress", 10, video_id="v1")
    check(live, 3, 3, 20, **v)  # A [0, 30], C [20, 30]
    live.at(40).send("A", "progress", 30, video_id="v1")
    live.send("C", "progress", 20, video_id="v1")
    check(live, 3, 3, 20, **v)  # B sends nothing after 25 but is still in (15 s ago)
    live.at(45).send("A", "seek", 80, video_id="v1", **{"from": 35})
    check(live, 2, 3, 20, **v)  # a seek is not play/progress: A out; A's first run [0, 40], second opens at 45
    live.at(46).send("A", "play", 80, video_id="v1")
    check(live, 3, 3, 20, **v)
    live.at(54.9)
    check(live, 3, 3, 20, **v)  # B's latest event (25) is 29.9 s old: in
    live.at(55.0)
    check(live, 2, 3, 20, **v)  # 30.0 s old: out
    live.at(55.1)
    check(live, 2, 3, 20, **v)
    live.at(56).send("A", "progress", 90, video_id="v1")
    live.send("C", "ended", 30, video_id="v1")
    check(live, 1, 3, 20, **v)  # C ended: out; C [20, 56], A's second run [45, 56]
    live.at(85.9)
    check(live, 1, 3, 20, **v)
    live.at(86)
    check(live, 0, 3, 20, **v)  # A's latest (56) is 30 s old
    # per 10 s: [0,10) A+B, [10,20) A+B, [20,30) A+B+C, then A and C until 56 (A's runs [0,40] and [45,56])
    series = live.peak(step=10, **v)["series"]
    assert [p["viewers"] for p in series[:7]] == [2, 2, 3, 2, 2, 2, 0]
    assert all(p["viewers"] == 0 for p in series[7:]) and len(series) == 360
    assert series[2]["time"] == "2026-01-01T00:00:20Z"
    # per minute (the default) the first minute holds the peak
    assert [p["viewers"] for p in live.peak(**v)["series"][:2]] == [3, 0]
    # the peak's time in the requested zone
    assert live.peak(timezone="Europe/Berlin", **v)["peak_at"] == "2026-01-01T01:00:20+01:00"
    assert live.online(video_id="v9") == 0 and live.peak(video_id="v9")["peak_at"] is None


def test_a_stream_and_its_broadcast_event_step_by_step(live: Live) -> None:
    s, e = {"stream_id": "s1"}, {"event_id": "e1"}
    live.at(0).send("D", "play", 0, stream_id="s1")  # the stream itself
    live.send("E", "play", 0, stream_id="s1", event_id="e1")  # its broadcast event
    check(live, 2, 2, 0, **s)
    check(live, 1, 1, 0, **e)
    live.at(10).send("D", "progress", 10, stream_id="s1")
    live.send("E", "progress", 10, stream_id="s1", event_id="e1")
    check(live, 2, 2, 0, **s)  # D [0, 10], E [0, 10]
    check(live, 1, 1, 0, **e)
    live.at(15).send("F", "play", 0, stream_id="s1", event_id="e1")
    check(live, 3, 2, 0, **s)  # F [15, 15] meets no open span yet
    check(live, 2, 1, 0, **e)
    live.at(20).send("D", "progress", 20, stream_id="s1")
    live.send("E", "pause", 20, stream_id="s1", event_id="e1")
    live.send("F", "progress", 5, stream_id="s1", event_id="e1")
    check(live, 2, 3, 15, **s)  # D [0, 20], E [0, 20], F [15, 20]; E paused
    check(live, 1, 2, 15, **e)
    assert live.online(project_id="p2") == 2 and live.online() == 2  # the project, the workspace
    live.at(30).send("D", "pause", 30, stream_id="s1")
    check(live, 1, 3, 15, **s)  # only F plays (latest event at 20)
    check(live, 1, 2, 15, **e)
    live.at(49.9)
    check(live, 1, 3, 15, **s)
    live.at(50)
    check(live, 0, 3, 15, **s)
    check(live, 0, 2, 15, **e)
