"""Many collectors behind Debian's nginx, on one shared ClickHouse (the chhttp fixture), on loopback.

The topology is the shipped ``deploy/nginx/watchdepth.conf`` hashing ``?s=`` to 2
collector processes (``serve --role collector --store clickhouse://...``) and one API
process (``--role api``). The same traffic goes to a single embedded process (DuckDB,
``--role all``); every figure must be identical, and equal to the numbers worked out
by hand below. One test SIGKILLs a collector mid-traffic and restarts it.

The traffic (all received now, so it lands "today"):
- 8 sessions "A" on v1 (100 s): load, play 0, progress 10 | progress 20, pause 20 (two
  requests), then the first request again (a retry: 3 duplicates): 1 load, 1 impression,
  1 view, 20 s each;
- 4 sessions "B" on v1: load, play 0, progress 3, pause 3: 1 load, 1 impression, 3 s;
- 4 sessions "C" on v1: load only;
- 6 sessions "D" on v2 (10.5 s): load, play 0, progress 10, and nothing after: 1 load,
  1 impression, 1 view, 10 s, and watching now.
v1: loads 16, impressions 12, views 8, watch 8×20 + 4×3 = 172 s; view rate 8/16 = 50 %,
average 172/8 = 21.5 → 22 s, depth 172/(8×100) = 21.5 % → 22.
v2: loads 6, impressions 6, views 6, watch 60 s; view rate 100, average 10, depth
60/(6×10.5) = 95.2 % → 95. Watching now: 6 (v2), split between the collectors.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.scale.topology import NGINX, Topology, send

pytestmark = [
    pytest.mark.clickhouse,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(NGINX).exists(), reason=f"needs Debian's nginx at {NGINX} (apt-get install nginx)"),
]

CATALOG = [
    ("/v1/projects", {"id": "p1", "name": "Project one"}),
    ("/v1/videos", {"id": "v1", "project_id": "p1", "title": "One", "duration": 100}),
    ("/v1/videos", {"id": "v2", "project_id": "p1", "title": "Two", "duration": 10.5}),
]
IPS = ["81.2.69.142", "2.125.160.216", "89.160.20.112"]  # whatever countries the shipped GeoIP says


def _ev(kind: str, sid: str, video: str, seq: int, position: float | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {
        "type": kind,
        "video_id": video,
        "session_id": sid,
        "load_id": f"{sid}-L",
        "seq": seq,
        "id": f"{sid}-L:{seq}",
    }
    if position is not None:
        e["position"] = position
    return e


def traffic(tag: str, watchers: list[str] | None = None) -> list[list[dict[str, Any]]]:
    """Requests, each one session's batch, in sending order (``tag`` keeps runs apart;
    ``watchers`` names the 6 D sessions)."""
    out: list[list[dict[str, Any]]] = []
    for i in range(8):
        s = f"{tag}A{i}"
        first = [_ev("load", s, "v1", 0), _ev("play", s, "v1", 1, 0), _ev("progress", s, "v1", 2, 10)]
        out += [first, [_ev("progress", s, "v1", 3, 20), _ev("pause", s, "v1", 4, 20)], first]
    for i in range(4):
        s = f"{tag}B{i}"
        out.append(
            [
                _ev("load", s, "v1", 0),
                _ev("play", s, "v1", 1, 0),
                _ev("progress", s, "v1", 2, 3),
                _ev("pause", s, "v1", 3, 3),
            ]
        )
    for i in range(4):
        out.append([_ev("load", f"{tag}C{i}", "v1", 0)])
    for s in watchers or [f"{tag}D{i}" for i in range(6)]:
        out.append([_ev("load", s, "v2", 0), _ev("play", s, "v2", 1, 0), _ev("progress", s, "v2", 2, 10)])
    return out


def ip_of(batch: list[dict[str, Any]]) -> str:
    return IPS[sum(map(ord, batch[0]["session_id"])) % len(IPS)]


def figures(get: Any) -> dict[str, Any]:
    """What the API says about today: totals, per video, per country, realtime."""
    overview = get("/v1/analytics/overview", period="today")["data"]
    by_video = get("/v1/analytics", period="today", group_by="video_id", order="video_id.asc")["data"]
    by_country = get("/v1/analytics", period="today", group_by="country", order="country.asc")["data"]
    total = {k: v for k, v in overview["total"].items() if k != "online"}  # live: compared apart, polled
    return {"total": total, "top": overview["top"], "videos": by_video, "countries": by_country}


#: v1's cohort (docs/metrics.md §5): 12 impressions, 8 × 20 s + 4 × 3 s = 172 s: 172 / 12 = 14.3 -> 14 s,
#: 172 / (12 × 100) = 14.3 % -> 14. v2: 6 × 10 s: 10 s; 60 / (6 × 10.5) = 95.2 % -> 95.
V1 = {
    "video_id": "v1",
    "title": "One",
    "duration": 100.0,
    "views": 8,
    "unique_views": 12,
    "player_loads": 16,
    "watch_time": 172,
    "view_rate": 50,
    "avg_watch_time": 14,
    "watch_depth": 14,
}
V2 = {
    "video_id": "v2",
    "title": "Two",
    "duration": 10.5,
    "views": 6,
    "unique_views": 6,
    "player_loads": 6,
    "watch_time": 60,
    "view_rate": 100,
    "avg_watch_time": 10,
    "watch_depth": 95,
}


def check_hand_numbers(f: dict[str, Any], times: int = 1) -> None:
    """The figures of ``times`` rounds of ``traffic`` (ratios stay, counts multiply)."""
    scale = ("views", "unique_views", "player_loads", "watch_time")
    assert f["videos"] == [{k: v * times if k in scale else v for k, v in row.items()} for row in (V1, V2)]
    t = f["total"]
    assert (t["player_loads"], t["unique_views"], t["views"], t["watch_time"]) == (
        22 * times,
        18 * times,
        14 * times,
        232 * times,
    )


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "embedded").mkdir()
    s = Server(tmp_path / "embedded", env={"WATCHDEPTH_TRUSTED_PROXIES": "127.0.0.1"})
    s.start()
    for path, body in CATALOG:
        s.ok("POST", path, json=body)
    try:
        yield s
    finally:
        s.stop()
        s.client.close()


@pytest.fixture
def topo(store: str, tmp_path: Path) -> Iterator[Topology]:
    t = Topology(tmp_path / "cluster", store, n_collectors=2)
    try:
        t.start_api()
        for path, body in CATALOG:
            t.ok("POST", path, json=body)
        t.start_collectors()
        yield t
    finally:
        t.stop()


def _get(client: httpx.Client) -> Any:
    def get(path: str, **params: Any) -> Any:
        r = client.get(path, params=params)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    return get


def _send_all(url: str, batches: list[list[dict[str, Any]]]) -> list[dict[str, int]]:
    with httpx.Client(trust_env=False, timeout=10) as c:
        return [send(url, b, ip=ip_of(b), client=c) for b in batches]


def _realtime(get: Any, want: int, timeout: float = 10) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        got = get("/v1/analytics/realtime")["data"]
        if got["online"] == want or time.time() > deadline:
            return got  # type: ignore[no-any-return]
        time.sleep(0.2)


def test_collectors_behind_nginx_match_one_embedded_process_even_across_a_sigkill(
    topo: Topology, embedded: Server
) -> None:
    watchers = split_sessions(topo, "sD", 3)
    batches = traffic("s", watchers)  # the D sessions (watching now) come last
    answers = _send_all(topo.url, batches)
    # Watching now ("the last 30 s": checked first). Each collector counts its own D
    # sessions; the API node sums them.
    own = [
        httpx.get(c.url + "/internal/watching-now", trust_env=False).json()["watching_now"].get("v2", 0)
        for c in topo.collectors
    ]
    assert own == [3, 3], own
    realtime = _realtime(_get(topo.client), 6)
    assert realtime == {"online": 6, "videos": [{"video_id": "v2", "title": "Two", "online": 6}]}
    embedded_answers = _send_all(embedded.url, batches)
    assert _get(embedded.client)("/v1/analytics/realtime")["data"] == realtime
    # The repeated first request of each A session is all duplicates, in both setups.
    assert answers == embedded_answers
    assert sum(a["duplicates"] for a in answers) == 8 * 3

    cluster = figures(_get(topo.client))
    single = figures(_get(embedded.client))
    check_hand_numbers(single)
    assert cluster == single

    # Both collectors got sessions (nginx hashed ?s=), and each holds only its own.
    held = [c.metric("watchdepth_active_sessions") for c in topo.collectors]
    assert all(h > 0 for h in held) and sum(held) == 22, held
    # An event whose session differs from ?s= would reach a collector that does not own
    # it: the whole batch is refused, naming the event.
    mixed = [_ev("load", "x1", "v1", 0), _ev("load", "x2", "v1", 0)]
    r = httpx.post(
        topo.url + "/collect",
        params={"s": "x1"},
        content=httpx.Request("POST", "/", json=mixed).content,
        headers={"content-type": "text/plain"},
        trust_env=False,
    )
    assert r.status_code == 400, r.text
    assert [(p["index"], p["name"]) for p in r.json()["error"]["invalid_params"]] == [(1, "session_id")]
    # The balancer hides the internal endpoint; the API node has no intake.
    assert topo.client.get("/internal/watching-now").status_code == 404
    assert httpx.post(topo.api.url + "/collect", content=b"[]", trust_env=False).status_code == 404

    # The D sessions pause (no figure changes): nobody is watching before the next round.
    pauses = [[_ev("pause", sid, "v2", 3, 10)] for sid in watchers]
    _send_all(topo.url, pauses)
    _send_all(embedded.url, pauses)
    assert _realtime(_get(topo.client), 0)["online"] == 0

    # One setup for both (each costs half a minute of process start-ups on 2 cores).
    sigkill_a_collector_mid_traffic(topo, embedded)

    # A bulk import (history) through nginx reaches a collector (token known there too).
    imported_day_figures(topo, embedded)

    # A video created on the API node reaches the collectors (they re-read the catalog).
    topo.ok("POST", "/v1/videos", json={"id": "v4", "project_id": "p1", "title": "Four", "duration": 30})
    probe = [_ev("load", "late-comer", "v4", 0)]
    deadline = time.time() + 10
    while True:
        r = httpx.post(
            topo.url + "/collect",
            params={"s": "late-comer"},
            content=httpx.Request("POST", "/", json=probe).content,
            headers={"content-type": "text/plain"},
            trust_env=False,
        )
        if r.status_code == 202 or time.time() > deadline:
            break
        time.sleep(0.3)
    assert r.status_code == 202, r.text


def sigkill_a_collector_mid_traffic(topo: Topology, embedded: Server) -> None:
    """The same traffic again (new sessions); collector 0 is SIGKILLed and restarted mid-way."""
    batches = traffic("k")
    _send_all(embedded.url, batches)
    single = figures(_get(embedded.client))
    check_hand_numbers(single, times=2)

    # The D sessions (watching now) first, then wait until the collectors have listed them
    # as their own (OwnSessions, every 2 s). The victim is the collector holding most of them.
    watching = [b for b in batches if "D" in b[0]["session_id"]]
    d_sent = time.monotonic()  # before sending: their last events are received after this
    _send_all(topo.url, watching)
    assert wait_for(lambda: {b[0]["session_id"] for b in watching} <= _listed(topo), 20), "not listed"
    counts = [_own_watching(c) for c in topo.collectors]
    assert sum(counts) == 6, counts
    victim = topo.collectors[counts.index(max(counts))]
    # Four senders at once, each owning a quarter of the other sessions (a session's
    # requests stay in order, as the tracker sends them); the victim dies a third of the
    # way through, with SIGKILL, and comes back on the same port.
    by_session: dict[str, list[list[dict[str, Any]]]] = {}
    for b in batches:
        if b not in watching:
            by_session.setdefault(b[0]["session_id"], []).append(b)
    lanes: list[list[list[dict[str, Any]]]] = [[], [], [], []]
    for i, sid in enumerate(sorted(by_session)):
        lanes[i % 4] += by_session[sid]
    errors: list[BaseException] = []
    sent, refused = [0], [0]

    def count_refused(r: httpx.Response) -> None:
        refused[0] += r.status_code >= 500

    def run(lane: list[list[dict[str, Any]]]) -> None:
        try:
            with httpx.Client(trust_env=False, timeout=10, event_hooks={"response": [count_refused]}) as c:
                for b in lane:
                    send(topo.url, b, ip=ip_of(b), client=c)
                    sent[0] += 1
                    time.sleep(0.02)  # pacing like a tracker, not a wait: the kill must land mid-traffic
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
    for t in threads:
        t.start()
    rest = sum(len(lane) for lane in lanes)
    while sent[0] < rest // 3:
        time.sleep(0.01)
    victim.stop(signal.SIGKILL)
    killed_at = sent[0]
    # Requests hashed to it now get 502 and are retried: wait for one (or the traffic's end).
    wait_for(lambda: refused[0] > 0 or sent[0] == rest, 30)
    victim.start()
    # It rebuilt the sessions it had listed, among them its D sessions, which count as
    # watching again while their last event is under 30 s old (WATCHING_WINDOW_MS).
    rebuilt = [int(n) for n in re.findall(r"rebuilt (\d+) recent sessions", victim.log.read_text())]
    assert rebuilt and rebuilt[-1] >= max(counts), (rebuilt, counts)
    watching_until = d_sent + 29
    assert wait_for(lambda: _own_watching(victim) == max(counts), watching_until - time.monotonic()), (
        f"the restarted collector did not count its {max(counts)} watching sessions within their 30 s "
        f"(back {time.monotonic() - d_sent:.1f} s after they were sent; it has {_own_watching(victim)})"
    )
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert killed_at < rest, "the kill came after the traffic; nothing was tested"

    cluster = figures(_get(topo.client))
    assert cluster == single


def split_sessions(topo: Topology, prefix: str, per_collector: int) -> list[str]:
    """Session ids that nginx hashes ``per_collector`` to each collector, found by probing:
    a request for an unknown video is refused (nothing stored) by the collector the
    session hashes to, which counts it in ``watchdepth_batches_rejected_total``."""
    chosen: list[list[str]] = [[] for _ in topo.collectors]
    for k in range(200):
        sid = f"{prefix}{k}"
        before = [c.metric("watchdepth_batches_rejected_total") for c in topo.collectors]
        r = httpx.post(
            topo.url + "/collect",
            params={"s": sid},
            trust_env=False,
            headers={"content-type": "text/plain"},
            content=httpx.Request("POST", "/", json=[_ev("load", sid, "no-such-video", 0)]).content,
        )
        assert r.status_code == 400, r.text
        after = [c.metric("watchdepth_batches_rejected_total") for c in topo.collectors]
        owner = [a - b for a, b in zip(after, before)].index(1)
        if len(chosen[owner]) < per_collector:
            chosen[owner].append(sid)
        if all(len(c) == per_collector for c in chosen):
            return [sid for c in chosen for sid in c]
    raise AssertionError(f"nginx sent no session to some collector: {chosen}")


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (its last answer)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return condition()
        time.sleep(interval)
    return True


def _listed(topo: Topology) -> set[str]:
    """The session ids the collectors listed as their own (read back by a restarted one)."""
    out: set[str] = set()
    for c in topo.collectors:
        try:
            out |= set((c.data / "collector-sessions.txt").read_text().split())
        except FileNotFoundError:
            pass
    return out


def _own_watching(node: Any) -> int:
    got = httpx.get(node.url + "/internal/watching-now", trust_env=False).json()["watching_now"]
    return int(got.get("v2", 0))


T_IMPORT = 1_767_600_000_000  # 2026-01-05T08:00:00Z


def imported_day_figures(topo: Topology, embedded: Server) -> None:
    """One imported session on 2026-01-05: play 0 → progress 30 → pause 30, and a load
    alone: 2 loads, 1 impression, 1 view, 30 s (v1 depth 30/(1×100) = 30 %)."""
    base = {
        "video_id": "v1",
        "ip": IPS[0],
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    }
    lines = [
        {"type": "load", "session_id": "imp", "load_id": "imp-1", "seq": 0, "ts": T_IMPORT, **base},
        {
            "type": "play",
            "session_id": "imp",
            "load_id": "imp-1",
            "seq": 1,
            "ts": T_IMPORT + 1000,
            "position": 0,
            **base,
        },
        {
            "type": "progress",
            "session_id": "imp",
            "load_id": "imp-1",
            "seq": 2,
            "ts": T_IMPORT + 31_000,
            "position": 30,
            **base,
        },
        {
            "type": "pause",
            "session_id": "imp",
            "load_id": "imp-1",
            "seq": 3,
            "ts": T_IMPORT + 31_500,
            "position": 30,
            **base,
        },
        {"type": "load", "session_id": "imp2", "load_id": "imp-2", "seq": 0, "ts": T_IMPORT + 60_000, **base},
    ]
    body = b"\n".join(httpx.Request("POST", "/", json=e).content for e in lines)
    headers = {"content-type": "application/x-ndjson"}
    for client in (topo.client, embedded.client):
        r = client.post("/v1/events/import", content=body, headers=headers)
        assert r.status_code == 202 and r.json() == {"accepted": 5, "duplicates": 0}, r.text
    day = {"from": "2026-01-05", "to": "2026-01-06"}
    got = [_get(c)("/v1/analytics", group_by="video_id", **day)["data"] for c in (topo.client, embedded.client)]
    assert (
        got[0]
        == got[1]
        == [
            {
                "video_id": "v1",
                "title": "One",
                "duration": 100.0,
                "views": 1,
                "unique_views": 1,
                "player_loads": 2,
                "watch_time": 30,
                "view_rate": 50,
                "avg_watch_time": 30,
                "watch_depth": 30,
            }
        ]
    )
