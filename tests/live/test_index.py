"""The watching-now index alone (``sessionize.live.WatchingNow``): window edges and its bounded size."""

from __future__ import annotations

from watchdepth.sessionize.live import WatchingNow

T = 1_000_000


def test_the_window_is_the_last_30_s_exclusive_of_30_s_ago() -> None:
    w = WatchingNow()
    w.note("S1", T, "v1", playing=True)
    assert w.counts(T + 29_999) == {"v1": 1}
    assert w.counts(T + 30_000) == {}  # received exactly 30.0 s ago: out
    assert len(w) == 0  # and forgotten


def test_heartbeats_keep_one_heap_entry_per_session() -> None:
    w = WatchingNow()
    for k in range(300):  # 100 sessions, a heartbeat each per second for 3 s of 1 s steps
        w.note(f"S{k % 100}", T + (k // 100) * 1_000, "v1", playing=True)
    assert len(w._heap) == 100
    for k in range(100):
        w.note(f"S{k}", T + 40_000, "v1", playing=True)
    assert w.counts(T + 45_000) == {"v1": 100}  # old entries came due and were re-queued
    assert len(w._heap) == 100


def test_an_older_event_applied_later_expires_at_its_own_time() -> None:
    w = WatchingNow()
    w.note("S1", T + 20_000, "v1", playing=True)
    w.note("S1", T, "v2", playing=True)  # the latest applied is the one that counts (replayed log)
    assert w.counts(T + 1_000) == {"v2": 1}
    assert w.counts(T + 30_000) == {}


def test_switching_content_pausing_and_dropping_move_the_counts() -> None:
    w = WatchingNow()
    w.note("S1", T, "v1", playing=True)
    w.note("S2", T, "v1", playing=True)
    w.note("S1", T + 1_000, "v2", playing=True)
    assert w.counts(T + 2_000) == {"v1": 1, "v2": 1}
    w.note("S2", T + 2_000, "v1", playing=False)  # paused: still held, not counted
    assert w.counts(T + 3_000) == {"v2": 1} and len(w) == 2
    w.drop("S1")
    assert w.counts(T + 3_000) == {}
    w.note("S1", T + 4_000, "v1", playing=True)  # back after a drop: its stale heap entry is ignored
    assert w.counts(T + 33_999) == {"v1": 1}
    assert w.counts(T + 34_000) == {}
