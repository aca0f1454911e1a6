"""The tracker end to end: real headless Chromium, the real pages, a recording collector.

Each test drives the <video> of /demo (or /embed/{id}) with page.evaluate and real
waiting (headless playback runs in real time), then reads what reached /collect.
The metric numbers themselves (views, watch time) are test_tracker_metrics.py's job,
against the real server; here `watched()` folds the events as docs/metrics.md §3 does,
only to check that the stream the browser produced covers what was played.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from typing import Any
from urllib.parse import quote

import pytest

from .recorder import Recorder

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIDEO = "document.querySelector('video')"
Event = dict[str, Any]


def open_player(context: Any, recorder: Recorder, path: str = "/demo") -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.errors = errors
    page.goto(recorder.base_url + path)
    page.wait_for_function(f"{VIDEO}.readyState >= 1")
    recorder.wait_for(lambda events: any(e["type"] == "load" for e in events))
    return page


def js_round(x: float) -> float:
    """The tracker's rounding to the millisecond: Math.round rounds halves up,
    Python's round() to even (7.0165 -> 7.017 in the page, 7.016 here)."""
    return math.floor(x * 1000 + 0.5) / 1000


def play(page: Any) -> None:
    page.evaluate(f"{VIDEO}.play()")


#: Resolves once the player's position reaches `to` seconds, from its own `timeupdate` events
#: (page.evaluate runs under the pages' CSP, which forbids the eval that wait_for_function needs).
REACHED = """([to, ms]) => new Promise((done, fail) => {
  const v = document.querySelector('video');
  const timer = setTimeout(() => fail(new Error(`position ${v.currentTime} never reached ${to}`)), ms);
  const check = () => {
    if (v.currentTime < to) return;
    clearTimeout(timer);
    v.removeEventListener('timeupdate', check);
    done(v.currentTime);
  };
  v.addEventListener('timeupdate', check);
  check();
})"""


def played_to(page: Any, position: float, timeout_ms: int = 20000) -> None:
    """Wait until the player's position reaches ``position`` seconds (playback is real time)."""
    page.evaluate(REACHED, [position, timeout_ms])


def until(check: Any, timeout: float = 20.0) -> None:
    """Poll a condition on the recorder (the test's side of the wire)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def pause(page: Any) -> float:
    return page.evaluate(f"(() => {{ const v = {VIDEO}; v.pause(); return v.currentTime; }})()")


def seek(page: Any, to: float) -> float:
    """Seek and wait for seeked; the position just before the jump."""
    return page.evaluate(
        f"""new Promise(done => {{
            const v = {VIDEO}, before = v.currentTime;
            v.addEventListener('seeked', () => done(before), {{once: true}});
            v.currentTime = {to};
        }})"""
    )


def has(kind: str, count: int = 1):
    return lambda events: sum(e["type"] == kind for e in events) >= count


def by_load(events: list[Event]) -> dict[str, list[Event]]:
    loads: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        loads[e["load_id"]].append(e)
    return {k: sorted(v, key=lambda e: e["seq"]) for k, v in loads.items()}


def runs(events: list[Event], eps: float = 1.0) -> list[tuple[float, float]]:
    """The runs of one load (docs/metrics.md §3), events in seq order."""
    done: list[tuple[float, float]] = []
    run: list[float] | None = None
    for e in events:
        kind, p = e["type"], e.get("position")
        if kind == "play":
            if run is not None and abs(p - run[1]) <= eps:
                continue
            if run is not None:
                done.append((run[0], run[1]))
            run = [p, p]
        elif kind in ("progress", "pause", "ended"):
            if run is None:
                run = [p, p]
            elif p >= run[1]:
                run[1] = p
            elif run[1] - p > eps:
                done.append((run[0], run[1]))
                run = [p, p]
            if kind == "ended":
                done.append((run[0], run[1]))
                run = None
        elif kind == "seek":
            if run is not None:
                done.append((run[0], max(run[1], e["from"])))
            run = [p, p]
    if run is not None:
        done.append((run[0], run[1]))
    return done


def watched(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of intervals."""
    total, end = 0.0, float("-inf")
    for s, e in sorted(intervals):
        if e > end:
            total += e - max(s, end)
            end = e
    return total


def test_play_7s(recorder: Recorder, context: Any) -> None:
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = open_player(context, recorder)
    play(page)
    played_to(page, 7)
    stopped_at = pause(page)
    events = recorder.wait_for(has("pause"))

    assert [e["type"] for e in events if e["type"] == "startup"] == ["startup"]  # once per load (docs/metrics.md §7)
    kinds = [e["type"] for e in events if e["type"] != "startup"]
    assert kinds[:2] == ["load", "play"] and kinds[-1] == "pause"
    assert set(kinds[2:-1]) == {"progress"}
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert len({e["load_id"] for e in events}) == 1 and len({e["session_id"] for e in events}) == 1
    beats = [e["position"] for e in events if e["type"] == "progress"]
    assert beats and beats == sorted(beats) and 5 <= beats[0] < 6
    assert events[-1]["position"] == js_round(stopped_at)
    assert abs(stopped_at - 7) <= 1
    assert abs(watched(runs(events)) - 7) <= 1
    for e in events:
        assert e["video_id"] == "demo-video" and e["duration"] == 60
        assert e["url"] == recorder.base_url + "/demo"
        assert e["id"] == f"{e['load_id']}:{e['seq']}"
    posts = recorder.posts
    assert all(p.content_type.startswith("text/plain") and p.fetch_mode == "cors" for p in posts)
    # the page loads nothing from elsewhere, and nothing failed
    assert all(u.startswith((recorder.base_url, "data:")) for u in requests), requests
    assert page.errors == []
    # the demo shows what the tracker sent
    log = page.inner_text("#log")
    assert "send" in log and '"type":"pause"' in log


def test_pause_10s_then_resume_is_one_run(recorder: Recorder, context: Any) -> None:
    page = open_player(context, recorder)
    play(page)
    played_to(page, 3)
    paused_at = pause(page)
    recorder.wait_for(has("pause"))
    page.wait_for_timeout(10000)  # the test is a 10 s pause in wall time: no condition to wait on
    play(page)
    played_to(page, paused_at + 2)
    pause(page)
    events = recorder.wait_for(has("pause", 2))

    kinds = [e["type"] for e in events]
    i = kinds.index("pause")
    assert kinds[i + 1] == "play", "no heartbeat while paused"
    assert events[i]["position"] == js_round(paused_at)
    assert abs(events[i + 1]["position"] - paused_at) < 0.1
    assert events[i + 1]["ts"] - events[i]["ts"] >= 9500
    (run,) = runs(events)
    assert run[0] < 0.5 and abs(run[1] - 5) <= 1


def test_seek_back_and_rewatch_counts_once(recorder: Recorder, context: Any) -> None:
    page = open_player(context, recorder)
    play(page)
    played_to(page, 4)
    before = seek(page, 1)
    played_to(page, 4)
    pause(page)
    events = recorder.wait_for(has("pause"))

    (jump,) = [e for e in events if e["type"] == "seek"]
    assert abs(before - 4) <= 1
    assert 0 <= before - jump["from"] <= 0.5, "from: the last position the player reported"
    assert abs(jump["position"] - 1) < 0.1
    first, second = runs(events)
    assert second[0] == jump["position"] and abs(second[1] - first[1]) <= 1
    assert abs(watched([first, second]) - max(first[1], second[1])) < 0.01, "the rewatched part counts once"


def test_close_page_sends_last_events_by_beacon(recorder: Recorder, context: Any) -> None:
    page = open_player(context, recorder)
    play(page)
    played_to(page, 3)
    at = page.evaluate(f"{VIDEO}.currentTime")
    page.close()  # before the browser: pagehide and visibilitychange fire
    events = recorder.wait_for(lambda _: any(p.fetch_mode == "no-cors" for p in recorder.posts))

    # The beacon ends with a heartbeat; or, if playback was rebuffering when the page closed
    # (a loaded machine), with the open stall, which carries the position itself.
    last = events[-1]
    assert abs(at - 3) <= 1 and 0 <= last["position"] - at <= 0.5
    beacons = [p for p in recorder.posts if p.fetch_mode == "no-cors"]
    assert beacons[-1].events[-1]["id"] == last["id"]
    assert all(p.accepted for p in recorder.posts)
    types = [e["type"] for e in events]
    assert types[:3] == ["load", "play", "startup"] and types[3:] in (["progress"], ["stall"], ["stall", "progress"])
    (run,) = runs(events)
    assert run[1] - run[0] < 5, "no view"


def test_reload_is_two_loads_in_one_session(recorder: Recorder, context: Any) -> None:
    page = open_player(context, recorder)
    page.reload()
    events = recorder.wait_for(has("load", 2))
    loads = [e for e in events if e["type"] == "load"]
    assert len({e["load_id"] for e in loads}) == 2
    assert len({e["session_id"] for e in loads}) == 1
    assert all(e["seq"] == 0 for e in loads)
    stored = page.evaluate("JSON.parse(localStorage.getItem('watchdepth_session')).id")
    assert stored == loads[0]["session_id"]


def test_collector_down_then_back_every_event_arrives_once(recorder: Recorder, context: Any) -> None:
    recorder.down = True
    page = context.new_page()
    page.goto(recorder.base_url + "/demo")
    page.wait_for_function(f"{VIDEO}.readyState >= 1")
    play(page)
    until(lambda: len([p for p in recorder.posts if p.status == 503]) >= 2)  # retried while down
    refused = [p for p in recorder.posts if p.status == 503]
    recorder.down = False
    until(lambda: any(p.accepted for p in recorder.posts))  # the next retry gets through
    pause(page)
    events = recorder.wait_for(has("pause"), timeout=20)

    # each retry starts with the batch that failed first: same ids
    first_ids = [e["id"] for e in refused[0].events]
    assert all([e["id"] for e in p.events[: len(first_ids)]] == first_ids for p in refused)
    accepted = recorder.accepted()
    assert len({e["id"] for e in accepted}) == len(accepted), "each event stored once"
    tried = {e["id"] for p in recorder.posts for e in p.events}
    assert tried == {e["id"] for e in events}, "every event that was tried arrived"
    assert [e["seq"] for e in accepted] == list(range(len(accepted))), "in seq order, none lost"
    assert [e["type"] for e in events][:2] == ["load", "play"]
    assert events[-1]["type"] == "pause"


def test_embed_in_an_iframe_carries_external_id_and_host_page(recorder: Recorder, context: Any) -> None:
    embed = f"{recorder.base_url}/embed/lesson-1?external_id={quote('alice@example.com')}"
    page = context.new_page()
    page.goto(f"{recorder.base_url}/test-host?embed={quote(embed, safe='')}")
    page.frame_locator("iframe").locator("video").wait_for()
    (player,) = page.main_frame.child_frames
    player.wait_for_function(f"{VIDEO}.readyState >= 1")
    player.evaluate(f"(() => {{ const v = {VIDEO}; v.muted = true; return v.play(); }})()")
    played_to(player, 1.5)
    player.evaluate(f"{VIDEO}.pause()")
    events = recorder.wait_for(has("pause"))

    assert [e["type"] for e in events] == ["load", "play", "startup", "pause"]
    for e in events:
        assert e["video_id"] == "lesson-1"
        assert e["external_id"] == "alice@example.com"
        assert e["url"].startswith(f"{recorder.base_url}/test-host?embed=")


def test_video_added_later_is_tracked(recorder: Recorder, context: Any) -> None:
    page = open_player(context, recorder)
    page.evaluate(
        """(() => {
            const v = document.createElement('video');
            v.src = '/media/demo.webm';
            v.muted = true;
            v.dataset.videoId = 'lesson-1';
            v.dataset.externalId = 'bob';
            document.body.appendChild(v);
        })()"""
    )
    events = recorder.wait_for(lambda ev: any(e["video_id"] == "lesson-1" for e in ev))
    (late,) = [e for e in events if e["video_id"] == "lesson-1"]
    assert late["type"] == "load" and late["external_id"] == "bob"
    assert len({e["load_id"] for e in events}) == 2 and len({e["session_id"] for e in events}) == 1
