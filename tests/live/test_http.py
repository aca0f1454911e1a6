"""The live endpoints through the real server: SSE with a real HTTP client, and concurrency.

``WATCHDEPTH_LIVE_INTERVAL_MS=100`` makes the stream push ten times a second and
``WATCHDEPTH_LIVE_MAX_SUBSCRIBERS=2`` makes the cap reachable; the real ``serve``
process runs on loopback. Nothing sleeps: readers wait for the next pushed event.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import DESKTOP_UA, T0, Server, free_port

STREAM = "/v1/analytics/realtime/stream"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module (starting one takes seconds); the shutdown test restarts it."""
    s = Server(
        tmp_path_factory.mktemp("live"),
        env={"WATCHDEPTH_LIVE_INTERVAL_MS": "100", "WATCHDEPTH_LIVE_MAX_SUBSCRIBERS": "2"},
    )
    s.start()
    try:
        s.ok("POST", "/v1/projects", json={"id": "p1", "name": "One"})
        s.ok("POST", "/v1/projects", json={"id": "p2", "name": "Two"})
        s.ok("POST", "/v1/videos", json={"id": "v1", "project_id": "p1", "title": "One", "duration": 100})
        s.ok("POST", "/v1/streams", json={"id": "s1", "project_id": "p2", "title": "Live"})
        s.ok("POST", "/v1/streams/s1/events", json={"id": "e1", "title": "Episode 1"})
        s.ok("POST", "/v1/streams/s1/events", json={"id": "e2", "title": "Episode 2"})  # only simulate plays it
        yield s
    finally:
        s.stop()
        s.client.close()


def sse(resp: httpx.Response) -> Iterator[dict[str, Any]]:
    """Parse a text/event-stream into {"id", "data", "retry"} dicts (data decoded as JSON)."""
    event: dict[str, Any] = {}
    for line in resp.iter_lines():
        if line == "":
            if event:
                yield event
            event = {}
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        event[field] = json.loads(value) if field == "data" else value


def status(s: Server) -> int:
    """The status of a stream request, without reading its (endless) body."""
    with s.client.stream("GET", STREAM) as resp:
        return resp.status_code


def play(s: Server, session: str, **content: str) -> None:
    r = s.collect({"type": "play", "session_id": session, "load_id": "L" + session, "seq": 0, "position": 0, **content})
    assert r.status_code == 202, r.text


def test_the_stream_pushes_the_realtime_object_with_ids(srv: Server) -> None:
    with srv.client.stream("GET", STREAM) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = sse(resp)
        assert next(events) == {"retry": "3000"}
        first = next(events)
        assert first == {"id": "1", "data": {"data": {"online": 0, "videos": []}}}
        play(srv, "S1", video_id="v1")
        play(srv, "S2", stream_id="s1", event_id="e1")
        ids = [1]
        for ev in events:
            ids.append(int(ev["id"]))
            if ev["data"]["data"]["online"] == 2:
                break
        assert ids == list(range(1, len(ids) + 1))  # one more each push
        assert ev["data"] == srv.ok("GET", "/v1/analytics/realtime")
        assert sorted(ev["data"]["data"]["videos"], key=lambda v: v["video_id"]) == [
            {"video_id": "e1", "title": "Episode 1", "online": 1},
            {"video_id": "v1", "title": "One", "online": 1},
        ]
    with srv.client.stream("GET", STREAM, params={"stream_id": "s1"}) as resp:
        ev = [e for _, e in zip(range(2), sse(resp))][1]
        assert ev["data"]["data"]["online"] == 1  # the stream's broadcast event only


def test_the_stream_takes_the_dashboard_cookie_and_refuses_without_a_token(srv: Server) -> None:
    url = srv.url + STREAM
    with httpx.stream("GET", url, cookies={"wd_token": srv.token}, timeout=10) as resp:
        assert resp.status_code == 200
        assert next(sse(resp)) == {"retry": "3000"}
    r = httpx.get(url, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == 100101
    r = srv.api("GET", STREAM, params={"video_id": "nope"})
    assert r.status_code == 404 and r.json()["error"]["code"] == 404404


def test_reconnection_with_last_event_id_continues_the_ids(srv: Server) -> None:
    with srv.client.stream("GET", STREAM, headers={"Last-Event-ID": "41"}) as resp:
        events = sse(resp)
        next(events)  # retry
        assert [next(events)["id"] for _ in range(2)] == ["42", "43"]
    with srv.client.stream("GET", STREAM, headers={"Last-Event-ID": "garbage"}) as resp:
        events = sse(resp)
        next(events)
        assert next(events)["id"] == "1"


def test_subscribers_over_the_cap_get_429_until_one_leaves(srv: Server) -> None:
    a, ra = open_stream(srv)  # (retries while streams of earlier requests are noticed closed)
    b, rb = open_stream(srv)
    try:
        assert ra.status_code == rb.status_code == 200
        r = srv.api("GET", STREAM)  # over the cap: a JSON error, not a stream
        assert r.status_code == 429
        assert r.json()["error"]["code"] == 429429 and "at most 2" in r.json()["error"]["message"]
        assert r.headers["retry-after"] == "3"
    finally:
        a.__exit__(None, None, None)
    c, rc = open_stream(srv)  # the slot comes back once the server notices the closed connection
    assert rc.status_code == 200
    c.__exit__(None, None, None)
    b.__exit__(None, None, None)


def open_stream(srv: Server) -> tuple[Any, httpx.Response]:
    """An open stream (context manager and response), retrying a 429 for up to 10 s."""
    deadline = time.monotonic() + 10
    while True:
        cm = srv.client.stream("GET", STREAM)
        resp = cm.__enter__()
        if resp.status_code != 429 or time.monotonic() > deadline:
            return cm, resp
        cm.__exit__(None, None, None)


def test_open_streams_end_cleanly_when_the_server_stops(srv: Server) -> None:
    ended: list[str] = []
    receiving = [threading.Event(), threading.Event()]

    def hold(got_one: threading.Event) -> None:
        try:
            with httpx.stream("GET", srv.url + STREAM, headers=dict(srv.client.headers), timeout=30) as resp:
                assert resp.status_code == 200
                for ev in sse(resp):
                    if "id" in ev:
                        got_one.set()
            ended.append("clean")
        except httpx.HTTPError as exc:
            ended.append(repr(exc))

    readers = [threading.Thread(target=hold, args=(e,)) for e in receiving]
    for t in readers:
        t.start()
    assert all(e.wait(10) for e in receiving)
    started = time.monotonic()
    srv.stop(signal.SIGTERM)
    took = time.monotonic() - started
    for t in readers:
        t.join(10)
    srv.start()  # for the tests after this one
    assert ended == ["clean", "clean"]
    assert took < 5, f"shutdown waited {took:.1f} s on open streams (uvicorn's grace period is 10 s)"


def _imported(
    session: str, content: dict[str, str], steps: list[tuple[str, float, float]], **extra: Any
) -> list[dict[str, Any]]:
    """Import lines of one load: (type, seconds after T0, position)."""
    out = []
    for seq, (typ, at, pos) in enumerate(steps):
        e = {
            "type": typ,
            "session_id": session,
            "load_id": "L" + session,
            "seq": seq,
            "position": pos,
            "ts": T0 + int(at * 1000),
            "ip": "127.0.0.1",
            "user_agent": DESKTOP_UA,
            **content,
            **extra,
        }
        out.append(e)
    return out


def test_concurrency_of_a_stream_and_its_event_from_hand_worked_runs(srv: Server) -> None:
    s1, e1 = {"stream_id": "s1"}, {"stream_id": "s1", "event_id": "e1"}
    events = (
        _imported("G", s1, [("play", 0, 0), ("progress", 60, 60), ("progress", 120, 120)])  # [0, 120]
        + _imported("H", e1, [("play", 90, 0), ("progress", 150, 60), ("pause", 180, 90)])  # [90, 180]
        + _imported("I", e1, [("play", 100, 0), ("progress", 110, 10)])  # [100, 110] then a seek:
        + [
            dict(_imported("I", e1, [("seek", 200, 50)])[0], seq=2, **{"from": 10}),  # [200, 260]
            dict(_imported("I", e1, [("progress", 260, 110)])[0], seq=3),
        ]
    )
    r = srv.import_events(events)
    assert r.status_code == 202, r.text
    q = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:05:00Z"}
    got = srv.ok("GET", "/v1/analytics/concurrency", params={**q, "stream_id": "s1"})
    # 100..110 s: G, H and I all inside a run
    assert got["data"]["peak_concurrent_viewers"] == 3
    assert got["data"]["peak_at"] == "2026-01-01T00:01:40Z"
    # per minute: [0,60) G; [60,120) G H I; [120,180) G (ends at 120) H; [180,240) H at 180, I from 200; [240,300) I
    assert [p["viewers"] for p in got["data"]["series"]] == [1, 3, 2, 1, 1]
    assert got["data"]["series"][1]["time"] == "2026-01-01T00:01:00Z"
    assert got["meta"] == {"time": {**q, "timezone": "UTC"}, "step": 60}
    ev = srv.ok("GET", "/v1/analytics/concurrency", params={**q, "event_id": "e1", "timezone": "Asia/Tokyo"})
    assert ev["data"]["peak_concurrent_viewers"] == 2
    assert ev["data"]["peak_at"] == "2026-01-01T09:01:40+09:00"
    assert [p["viewers"] for p in ev["data"]["series"]] == [0, 2, 1, 1, 1]
    fine = srv.ok("GET", "/v1/analytics/concurrency", params={**q, "event_id": "e1", "step": "10"})
    assert len(fine["data"]["series"]) == 30 and fine["meta"]["step"] == 10
    # [90,100): H (I starts at 100); [100,110): H, I; [110,120): H, and I until 110 inclusive
    assert [p["viewers"] for p in fine["data"]["series"][9:12]] == [1, 2, 2]


@pytest.mark.parametrize(
    ("query", "status", "name"),
    [
        ({}, 400, "stream_id"),
        ({"stream_id": "s1", "event_id": "e1"}, 400, "stream_id"),
        ({"stream_id": "s1", "step": "0"}, 400, "step"),
        ({"stream_id": "s1", "step": "1.5"}, 400, "step"),
        ({"stream_id": "s1", "from": "2026-01-01", "to": "2026-02-01", "step": "60"}, 400, "step"),
        ({"stream_id": "nope"}, 404, None),
        ({"video_id": "s1"}, 404, None),
        ({"stream_id": "s1", "from": None}, 400, "from"),
    ],
)
def test_concurrency_refuses_bad_parameters(srv: Server, query: dict[str, Any], status: int, name: str | None) -> None:
    q = {"from": "2026-01-01", "to": "2026-01-02", **query}
    r = srv.api("GET", "/v1/analytics/concurrency", params={k: v for k, v in q.items() if v is not None})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == (400400 if status == 400 else 404404)
    if name is not None:
        assert [p["name"] for p in err["invalid_params"]] == [name]


def test_simulate_plays_viewers_against_the_server(srv: Server) -> None:
    cmd = [
        sys.executable,
        "-m",
        "watchdepth.cli",
        "simulate",
        "--url",
        srv.url,
        "--stream",
        "s1",
        "--event",
        "e2",
        "--viewers",
        "6",
        "--duration",
        "3",
        "--heartbeat",
        "0.5",
        "--ramp-up",
        "0.5",
        "--seed",
        "7",
    ]
    before = _loads(srv, "e2")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = 0
    while proc.poll() is None:  # watching now rises while it runs
        seen = max(seen, srv.ok("GET", "/v1/analytics/realtime", params={"event_id": "e2"})["data"]["online"])
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.startswith("6 viewers, ") and out.rstrip().endswith(", 0 failed")
    assert "viewers" in err and "events" in err  # the progress line
    assert 1 <= seen <= 6
    assert _loads(srv, "e2") - before == 6  # each viewer is one load of the broadcast event
    # ... that sends its first frame's time as the tracker does (none failed with this seed)
    total = srv.ok("GET", "/v1/analytics/overview", params={"period": "today", "event_id": "e2"})["data"]["total"]
    assert total["exits_before_start"] == 0 and 0.1 < total["startup_time"] < 3, total
    # every viewer left with a last pause (streams never end): nobody is watching any more
    assert srv.ok("GET", "/v1/analytics/realtime", params={"event_id": "e2"})["data"]["online"] == 0


def test_simulate_explains_bad_arguments_and_a_missing_server(srv: Server) -> None:
    base = [sys.executable, "-m", "watchdepth.cli", "simulate"]
    r = subprocess.run(base + ["--url", srv.url], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--video" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(
        base + ["--url", f"http://127.0.0.1:{free_port()}", "--video", "v1"], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 1 and "no watchdepth server answers" in r.stderr


def _loads(srv: Server, event_id: str) -> int:
    q = {"period": "today", "group_by": "video_id", "event_id": event_id}
    rows = srv.ok("GET", "/v1/analytics", params=q)["data"]
    return sum(r["player_loads"] for r in rows)
