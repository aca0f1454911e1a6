"""Hand-worked cases, one per rule of docs/metrics.md §3–5 (runs, metrics, crediting).

Each case shows its arithmetic. Runs are written [start, end] in content seconds;
``T0`` is Monday 2024-01-01 00:00 UTC and events are 1 s apart unless a ``t`` is given.
"""

from __future__ import annotations

import datetime as dt

import pytest

from watchdepth.sessionize import APPLIED, BOT, DUPLICATE, LATE, Sessionizer

from .helpers import (
    DAY,
    SECOND,
    T0,
    Player,
    apply,
    by_day,
    credits_of,
    import_all,
    per_pair,
    pieces,
    run,
    totals,
)


def one(*events):
    """Apply the events as one /collect batch; return (outcome, totals of v1)."""
    _, (out,) = run(list(events))
    return out, totals(out.credits).get("v1", {"loads": 0, "impressions": 0, "views": 0, "watch_time": 0})


def wt(x: float):
    return pytest.approx(x, abs=1e-9)


# -- §3/§4: the 5-second view ---------------------------------------------------------------


def test_run_of_4_9_seconds_is_no_view():
    p = Player()
    # play 0 -> [0, 0]; progress 4.9 -> [0, 4.9]: continuous playback 4.9 - 0 = 4.9 < 5
    out, v1 = one(p.play(0), p.progress(4.9))
    assert out.status == [APPLIED, APPLIED]
    assert v1["views"] == 0
    assert v1["impressions"] == 1
    assert v1["watch_time"] == wt(4.9)


def test_run_of_5_0_seconds_is_a_view_credited_at_the_event_reaching_it():
    p = Player()
    # [0, 0] -> [0, 4] (4 < 5) -> [0, 5]: 5 - 0 = 5 >= 5, a view at the third event
    evs = [p.play(0), p.progress(4), p.progress(5, t=T0 + 7 * SECOND)]
    out, v1 = one(*evs)
    assert v1["views"] == 1 and v1["watch_time"] == wt(5)
    (view,) = [c for c in out.credits if c.views]
    assert view.t == T0 + 7 * SECOND


def test_run_not_starting_at_zero():
    p = Player()
    # play 100 -> [100, 100]; progress 104.9 -> 4.9 (no view); progress 105 -> 5.0 (view)
    out, v1 = one(p.play(100), p.progress(104.9))
    assert v1["views"] == 0
    out, v1 = one(p.play(100, seq=0), p.progress(104.9), p.progress(105))
    assert v1["views"] == 1 and v1["watch_time"] == wt(5)


def test_pause_then_play_at_same_position_continues_the_run():
    p = Player()
    # play 0, progress 3 -> [0, 3]; pause 3 -> e = 3 (p >= e);
    # 10 s later play 3: |3 - 3| = 0 <= 1, keep the run; progress 6 -> [0, 6]
    # one run of 3 s + 3 s = 6 >= 5: a view (at the last event); watch time 6
    evs = [p.play(0), p.progress(3), p.pause(3), p.play(3, t=T0 + 13 * SECOND), p.progress(6)]
    out, v1 = one(*evs)
    assert out.run == [1, 1, 1, 1, 1]
    assert v1 == {"loads": 0, "impressions": 1, "views": 1, "watch_time": wt(6)}
    (view,) = [c for c in out.credits if c.views]
    assert view.t == evs[-1].t


def test_five_seconds_reached_via_ended():
    p = Player()
    # play 0 -> [0, 0]; ended 5 -> e = 5, then the run closes: 5 - 0 = 5, a view
    out, v1 = one(p.play(0), p.ended(5))
    assert v1["views"] == 1 and v1["watch_time"] == wt(5)
    (view,) = [c for c in out.credits if c.views]
    assert view.t == T0 + SECOND


def test_views_need_one_continuous_run_not_the_sum_of_runs():
    # run 1 [0, 3] then a seek 3 -> 10, run 2 [10, 13]: 3 s + 3 s, but no run reached 5 s
    p = Player()
    out, v1 = one(p.play(0), p.progress(3), p.seek(3, 10), p.progress(13))
    assert out.run == [1, 1, 2, 2]
    assert v1["views"] == 0 and v1["watch_time"] == wt(6)


# -- §3: play within / beyond ε ---------------------------------------------------------------


@pytest.mark.parametrize("resume", [9.0, 10.0, 10.5, 11.0])
def test_play_within_epsilon_keeps_the_run(resume):
    p = Player()
    # run [0, 10]; play at `resume`: |resume - 10| <= 1, keep [0, 10]; progress 14 -> [0, 14]
    out, v1 = one(p.play(0), p.progress(10), p.play(resume), p.progress(14))
    assert out.run == [1, 1, 1, 1]
    assert v1["watch_time"] == wt(14) and v1["views"] == 1


def test_play_within_epsilon_does_not_break_a_view():
    p = Player()
    # [0, 3]; play 4: |4 - 3| = 1 <= 1, keep; progress 5 -> [0, 5]: 5 s, a view
    out, v1 = one(p.play(0), p.progress(3), p.play(4), p.progress(5))
    assert out.run == [1, 1, 1, 1]
    assert v1["views"] == 1 and v1["watch_time"] == wt(5)


@pytest.mark.parametrize("resume", [8.75, 11.25, 30.0])
def test_play_beyond_epsilon_starts_a_new_run(resume):
    p = Player()
    # run [0, 3]; play at `resume`: |resume - 3| > 1, close, open [resume, resume];
    # progress resume + 3 -> [resume, resume + 3]: neither run reaches 5 s (3 and 3)
    out, v1 = one(p.play(0), p.progress(3), p.play(resume), p.progress(resume + 3))
    assert out.run == [1, 1, 2, 2]
    assert v1["views"] == 0
    # union of [0, 3] and [resume, resume + 3]: 3 + 3 (disjoint) for 8.75, 11.25, 30
    assert v1["watch_time"] == wt(6)


def test_play_beyond_epsilon_backwards_overlapping():
    p = Player()
    # [0, 4]; play 2.5: |2.5 - 4| = 1.5 > 1, new run [2.5, 2.5]; progress 6 -> [2.5, 6] (3.5 s)
    # union [0, 4] ∪ [2.5, 6] = [0, 6] = 6 s; no run reached 5 s: no view
    out, v1 = one(p.play(0), p.progress(4), p.play(2.5), p.progress(6))
    assert out.run == [1, 1, 2, 2]
    assert v1["views"] == 0 and v1["watch_time"] == wt(6)


# -- §3: progress behind the end ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["progress", "pause"])
def test_progress_slightly_behind_the_end_changes_nothing(kind):
    p = Player()
    # [0, 4]; progress 3 (4 - 3 = 1 <= ε): nothing, still [0, 4];
    # progress 5 -> [0, 5]: one run of 5 s, a view
    evs = [p.play(0), p.progress(4), p.event(kind, 3), p.progress(5)]
    out, v1 = one(*evs)
    assert out.run == [1, 1, 1, 1]
    # nothing credited but the event's own count (docs/metrics.md §4 "Event counts")
    assert [c for c in out.credits if c.t == evs[2].t and (c.impressions or c.views or c.watch_time)] == []
    assert v1["views"] == 1 and v1["watch_time"] == wt(5)


@pytest.mark.parametrize("kind", ["progress", "pause", "ended"])
def test_progress_further_behind_is_a_jump_back_opening_a_new_run(kind):
    p = Player()
    # [0, 4]; `kind` at 2.5 (4 - 2.5 = 1.5 > ε): close [0, 4], open [2.5, 2.5]
    # (ended also closes it again); play/progress on to 6 -> a run [2.5, 6] of 3.5 s: no view;
    # union [0, 6] = 6
    evs = [p.play(0), p.progress(4), p.event(kind, 2.5), p.play(2.5), p.progress(6)]
    out, v1 = one(*evs)
    assert out.run[:3] == [1, 1, 2]
    assert out.run[4] == (3 if kind == "ended" else 2)
    assert v1["views"] == 0 and v1["watch_time"] == wt(6)


# -- §3: seek ---------------------------------------------------------------------------------


def test_seek_from_beyond_the_end_extends_the_run_first():
    p = Player()
    # [0, 3]; seek from 5.5 to 100: f = 5.5 > e = 3, so e := 5.5 -> [0, 5.5] (5.5 s: a view),
    # then close it and open [100, 100]. The seek credits 5.5 - 3 = 2.5 s and the view.
    evs = [p.play(0), p.progress(3), p.seek(5.5, 100)]
    out, v1 = one(*evs)
    assert out.run == [1, 1, 2]
    assert v1["views"] == 1 and v1["watch_time"] == wt(5.5)
    at_seek = [c for c in out.credits if c.t == evs[2].t]
    assert sum(c.views for c in at_seek) == 1
    assert sum(c.watch_time for c in at_seek) == wt(2.5)
    assert pieces(out.credits)["S1", "v1"][-1] == (3, 5.5)


def test_seek_from_before_the_end_does_not_extend():
    p = Player()
    # [0, 4]; seek from 3 to 50: f = 3 <= e = 4, nothing extended; close; open [50, 50]
    out, v1 = one(p.play(0), p.progress(4), p.seek(3, 50))
    assert out.run == [1, 1, 2]
    assert v1["views"] == 0 and v1["watch_time"] == wt(4)


def test_seek_opens_a_new_run():
    p = Player()
    # [0, 10]; seek 10 -> 20: close, open [20, 20]; progress 30 -> [20, 30]
    # union [0, 10] ∪ [20, 30] = 20 s
    out, v1 = one(p.play(0), p.progress(10), p.seek(10, 20), p.progress(30))
    assert out.run == [1, 1, 2, 2]
    assert v1["watch_time"] == wt(20) and v1["views"] == 1 and v1["impressions"] == 1


def test_seek_even_to_the_same_position_opens_a_new_run():
    p = Player()
    # [0, 3]; seek 3 -> 3: close, open [3, 3]; progress 6 -> [3, 6]: two runs of 3 s, no view
    out, v1 = one(p.play(0), p.progress(3), p.seek(3, 3), p.progress(6))
    assert out.run == [1, 1, 2, 2]
    assert v1["views"] == 0 and v1["watch_time"] == wt(6)


def test_seek_back_rewatches_without_counting_twice():
    p = Player()
    # [0, 10]; seek 10 -> 2; progress 12 -> [2, 12]; union [0, 12] = 12;
    # the last event adds only [10, 12] = 2 s
    evs = [p.play(0), p.progress(10), p.seek(10, 2), p.progress(12)]
    out, v1 = one(*evs)
    assert v1["watch_time"] == wt(12)
    assert sum(c.watch_time for c in out.credits if c.t == evs[-1].t) == wt(2)
    assert pieces(out.credits)["S1", "v1"] == [(0, 10), (10, 12)]


def test_seek_with_no_run_open_opens_one():
    p = Player()
    # no run; seek 0 -> 30 opens [30, 30] (an impression); progress 36 -> [30, 36]: a view
    out, v1 = one(p.seek(0, 30), p.progress(36))
    assert out.run == [1, 1]
    assert v1 == {"loads": 0, "impressions": 1, "views": 1, "watch_time": wt(6)}


# -- §3: jump forward by progress, ended ----------------------------------------------------------


def test_jump_forward_by_progress_extends_the_run():
    p = Player()
    # [0, 2]; progress 100: p >= e, so e := 100 (no seek was sent): [0, 100], 100 s, a view
    out, v1 = one(p.play(0), p.progress(2), p.progress(100))
    assert out.run == [1, 1, 1]
    assert v1["watch_time"] == wt(100) and v1["views"] == 1


def test_ended_closes_the_run_after_extending_it():
    p = Player()
    # [0, 3]; ended 8 -> [0, 8], closed (8 s: a view); play 8 opens run 2 [8, 8]
    # (no run is open, so even within ε it is a new run); progress 10 -> [8, 10]
    # union [0, 10] = 10; still one impression and one view for (S1, v1)
    evs = [p.play(0), p.progress(3), p.ended(8), p.play(8), p.progress(10)]
    out, v1 = one(*evs)
    assert out.run == [1, 1, 1, 2, 2]
    assert v1 == {"loads": 0, "impressions": 1, "views": 1, "watch_time": wt(10)}


def test_ended_closes_so_a_following_progress_opens_a_new_run():
    p = Player()
    # [0, 3] ended at 3 (closed; 3 s); progress 5 opens [5, 5] — nothing joins the runs
    # progress 7 -> [5, 7]: runs of 3 s and 2 s, no view; union 3 + 2 = 5
    out, v1 = one(p.play(0), p.ended(3), p.progress(5), p.progress(7))
    assert out.run == [1, 1, 2, 2]
    assert v1["views"] == 0 and v1["watch_time"] == wt(5)


# -- §3: watched set per (session, content) ---------------------------------------------------------


def test_rewatched_segment_counts_once_per_session_across_loads():
    a, b = Player(load="L1"), Player(load="L2", t=T0 + 60 * SECOND)
    # L1 [0, 10]; L2 (same session, a page refresh) [5, 15]:
    # union [0, 15] = 15; L2 credits only [10, 15] = 5
    _, outs = run([a.load(), a.play(0), a.progress(10)], [b.load(), b.play(5), b.progress(15)])
    v1 = totals(credits_of(outs))["v1"]
    assert v1 == {"loads": 2, "impressions": 1, "views": 1, "watch_time": wt(15)}
    assert sum(c.watch_time for c in outs[1].credits) == wt(5)
    assert pieces(credits_of(outs))["S1", "v1"] == [(0, 10), (10, 15)]


def test_same_segment_in_two_loads_of_one_session_counts_once():
    a, b = Player(load="L1"), Player(load="L2")
    # L1 [0, 10], L2 [0, 10]: union [0, 10] = 10
    _, outs = run([a.play(0), a.progress(10), b.play(0), b.progress(10)])
    assert totals(credits_of(outs))["v1"]["watch_time"] == wt(10)


def test_same_segment_in_two_sessions_counts_twice():
    a, b = Player(session="S1", load="L1"), Player(session="S2", load="L2")
    # S1 [0, 10] = 10, S2 [0, 10] = 10: 20 in all, two impressions, two views
    _, outs = run([a.play(0), a.progress(10), b.play(0), b.progress(10)])
    credits = credits_of(outs)
    assert totals(credits)["v1"] == {"loads": 0, "impressions": 2, "views": 2, "watch_time": wt(20)}
    assert per_pair(credits) == {("S1", "v1"): wt(10), ("S2", "v1"): wt(10)}


def test_views_and_impressions_once_per_session_and_content_over_loads():
    a, b, c = Player(load="L1"), Player(load="L2"), Player(load="L3", content="v2")
    # (S1, v1): L1 [0, 6] is a view, L2 [100, 110] is another 5 s run: still 1 view, 1 impression
    # (S1, v2): L3 [0, 2]: an impression, no view; player loads 2 (v1) and 1 (v2)
    _, outs = run(
        [a.load(), a.play(0), a.progress(6)],
        [b.load(), b.play(100), b.progress(110), c.load(), c.play(0), c.progress(2)],
    )
    t = totals(credits_of(outs))
    assert t["v1"] == {"loads": 2, "impressions": 1, "views": 1, "watch_time": wt(16)}
    assert t["v2"] == {"loads": 1, "impressions": 1, "views": 0, "watch_time": wt(2)}


def test_runs_of_two_loads_do_not_join_into_a_view():
    a, b = Player(load="L1"), Player(load="L2")
    # L1 [0, 3], L2 [3, 6]: the watched set is [0, 6] = 6 s but each run is 3 s: no view
    _, outs = run([a.play(0), a.progress(3)], [b.play(3), b.progress(6)])
    v1 = totals(credits_of(outs))["v1"]
    assert v1["views"] == 0 and v1["watch_time"] == wt(6)


def test_runs_are_per_load_even_when_interleaved():
    a, b = Player(load="L1"), Player(load="L2")
    # two tabs of one session: L1 plays 0..6 and L2 plays 300..303, interleaved in time;
    # each load keeps its own run: L1 [0, 6] (view), L2 [300, 303]; union 6 + 3 = 9
    _, outs = run([a.play(0), b.play(300)], [a.progress(3), b.progress(303)], [a.progress(6)])
    v1 = totals(credits_of(outs))["v1"]
    assert v1["views"] == 1 and v1["watch_time"] == wt(9)


# -- §3: duplicates and late events ----------------------------------------------------------------


def test_duplicate_by_seq_within_a_batch_counts_once():
    p = Player()
    e0, e1 = p.play(0), p.progress(10)
    out, v1 = one(e0, e1, e1, e0)
    assert out.status == [APPLIED, APPLIED, DUPLICATE, DUPLICATE]
    assert v1["watch_time"] == wt(10) and v1["impressions"] == 1


def test_duplicate_by_seq_across_batches_counts_once():
    p = Player()
    b1 = [p.load(), p.play(0), p.progress(10)]
    _, outs = run(b1, b1, [b1[2], p.progress(20)])
    assert outs[1].status == [DUPLICATE] * 3 and outs[1].credits == []
    assert outs[2].status == [DUPLICATE, APPLIED]
    assert totals(credits_of(outs))["v1"] == {"loads": 1, "impressions": 1, "views": 1, "watch_time": wt(20)}


def test_same_seq_with_another_id_is_a_duplicate():
    p = Player()
    e = p.progress(10, seq=1, id="a")
    again = p.progress(50, seq=1, id="b")  # same seq, other content and id: a repeated seq
    _, outs = run([p.play(0, seq=0), e], [again])
    assert outs[1].status == [DUPLICATE] and outs[1].credits == []
    assert totals(credits_of(outs))["v1"]["watch_time"] == wt(10)


def test_duplicate_by_id_within_a_batch_and_across_batches():
    p = Player()
    e1 = p.progress(10, seq=1, id="evt-1")
    # the same id under another seq (a re-send renumbered by a buggy client) is still a duplicate
    e1_renumbered = p.progress(10, seq=2, id="evt-1")
    _, outs = run([p.play(0, seq=0, id="evt-0"), e1, e1_renumbered], [e1_renumbered, p.progress(20, seq=3, id="evt-3")])
    assert outs[0].status == [APPLIED, APPLIED, DUPLICATE]
    assert outs[1].status == [DUPLICATE, APPLIED]
    assert totals(credits_of(outs))["v1"]["watch_time"] == wt(20)


def test_tracker_style_ids_are_deduplicated():
    p = Player()
    evs = [p.play(0, id="L1:0"), p.progress(10, id="L1:1")]
    _, outs = run(evs, evs, evs[::-1])
    assert outs[1].status == [DUPLICATE, DUPLICATE] and outs[2].status == [DUPLICATE, DUPLICATE]
    assert totals(credits_of(outs))["v1"]["watch_time"] == wt(10)


def test_late_event_is_late_and_changes_nothing():
    p = Player()
    e0, e1, e2, e3, e4 = p.play(0), p.progress(10), p.seek(10, 200), p.progress(30), p.progress(40)
    # batch 1 = seq 0, 1, 3: run [0, 30]. Batch 2 brings seq 2 (a seek 10 -> 200) after seq 3 was
    # applied: late, and the run stays [0, 30]; seq 4 -> [0, 40]. Watch time 40, one run.
    _, outs = run([e0, e1, e3], [e2, e4])
    assert outs[1].status == [LATE, APPLIED]
    assert outs[1].run == [None, 1]
    assert [c.watch_time for c in outs[1].credits] == [wt(10)]  # only [30, 40], from seq 4
    assert totals(credits_of(outs))["v1"] == {"loads": 0, "impressions": 1, "views": 1, "watch_time": wt(40)}


def test_late_load_event_credits_no_player_load():
    p = Player()
    ld, play = p.load(), p.play(0)
    _, outs = run([play], [ld])
    assert outs[1].status == [LATE] and outs[1].credits == []


def test_late_event_sent_again_is_a_duplicate():
    p = Player()
    e0, e1, e2 = p.play(0), p.progress(3), p.progress(6)
    _, outs = run([e0, e2], [e1], [e1])
    assert outs[1].status == [LATE]
    assert outs[2].status == [DUPLICATE]


def test_late_only_after_a_higher_seq_was_applied():
    # seq 2 and seq 1 in the same batch are taken in seq order: no lateness inside a batch
    p = Player()
    e0, e1, e2 = p.play(0), p.progress(3), p.progress(6)
    out, v1 = one(e2, e0, e1)
    assert out.status == [APPLIED, APPLIED, APPLIED]
    assert v1["views"] == 1 and v1["watch_time"] == wt(6)


def test_import_takes_each_load_in_seq_order_whatever_the_file_order():
    p = Player()
    evs = [p.load(), p.play(0), p.progress(3), p.progress(6)]
    s = Sessionizer()
    out = import_all(s, evs[::-1])
    assert out.status == [APPLIED] * 4
    assert totals(out.credits)["v1"] == {"loads": 1, "impressions": 1, "views": 1, "watch_time": wt(6)}


# -- §3: clipping to the catalog duration ----------------------------------------------------------


def test_positions_past_the_duration_are_clipped():
    p = Player(duration=600)
    # play 590, progress 700 -> clipped to 600: [590, 600] = 10 s
    out, v1 = one(p.play(590), p.progress(700))
    assert v1["watch_time"] == wt(10)
    assert pieces(out.credits)["S1", "v1"] == [(590, 600)]


def test_watch_time_never_exceeds_the_duration():
    p = Player(duration=600)
    # [0, 1000 -> 600]; seek from 900 (-> 600) to 0; ended at 5000 (-> 600): all within [0, 600]
    out, v1 = one(p.play(0), p.progress(1000), p.seek(900, 0), p.progress(300), p.ended(5000))
    assert v1["watch_time"] == wt(600)


def test_seek_from_past_the_duration_is_clipped():
    p = Player(duration=60)
    # [50, 55]; seek from 90 (clipped to 60) to 0: e := 60 -> [50, 60] = 10 s
    out, v1 = one(p.play(50), p.progress(55), p.seek(90, 0))
    assert v1["watch_time"] == wt(10)


def test_a_run_opened_past_the_end_has_no_length():
    p = Player(duration=60)
    # play 70 -> [60, 60]; progress 80 -> still [60, 60]: an impression, no watch time, no view
    out, v1 = one(p.play(70), p.progress(80))
    assert v1 == {"loads": 0, "impressions": 1, "views": 0, "watch_time": 0}


def test_streams_are_not_clipped():
    p = Player(content="st1", kind="stream", duration=None)
    # a live stream has no duration: [0, 5000] = 5000 s
    out = apply(Sessionizer(), [p.play(0), p.progress(5000)])
    assert totals(out.credits)["st1"]["watch_time"] == wt(5000)


# -- §5: crediting at the time of the event ------------------------------------------------------


def test_run_across_midnight_credits_watch_time_to_both_days():
    midnight = T0 + DAY
    p = Player()
    # play at 23:59:50 (p = 0), progress at 23:59:57 (p = 7: +7 s, a view, day 1),
    # progress at 00:00:07 (p = 17: +10 s, day 2). Day 1: 7 s + view + impression, day 2: 10 s.
    evs = [p.play(0, t=midnight - 10_000), p.progress(7, t=midnight - 3_000), p.progress(17, t=midnight + 7_000)]
    out = apply(Sessionizer(), evs)
    days = by_day(out.credits)
    d1, d2 = dt.date(2024, 1, 1), dt.date(2024, 1, 2)
    assert days[d1]["v1"] == {"loads": 0, "impressions": 1, "views": 1, "watch_time": wt(7)}
    assert days[d2]["v1"] == {"loads": 0, "impressions": 0, "views": 0, "watch_time": wt(10)}


def test_view_is_credited_on_the_day_the_run_reached_five_seconds():
    midnight = T0 + DAY
    p = Player()
    # play at 23:59:58 (0), progress 23:59:59 (1: 1 s, day 1), progress 00:00:03 (5: +4 s, the
    # run reaches 5 s on day 2: the view is on day 2), progress 00:00:05 (7: +2 s, day 2)
    evs = [
        p.play(0, t=midnight - 2_000),
        p.progress(1, t=midnight - 1_000),
        p.progress(5, t=midnight + 3_000),
        p.progress(7, t=midnight + 5_000),
    ]
    out = apply(Sessionizer(), evs)
    days = by_day(out.credits)
    assert days[dt.date(2024, 1, 1)]["v1"] == {"loads": 0, "impressions": 1, "views": 0, "watch_time": wt(1)}
    assert days[dt.date(2024, 1, 2)]["v1"] == {"loads": 0, "impressions": 0, "views": 1, "watch_time": wt(6)}


def test_days_add_up_to_the_week():
    # Mon..Sun 2024-01-01..07, one session per day (each its own load), plus a rewatch on Wednesday
    # of Monday's session: Mon [0, 30] (30 s), Tue..Sun [0, 10] each (6 × 10 = 60 s),
    # Wed: Monday's session plays [20, 40] in a new load: only [30, 40] is new (10 s, credited on Wed).
    events = []
    for d in range(7):
        p = Player(session=f"S{d}", load=f"L{d}", t=T0 + d * DAY + 3_600_000)
        events += [p.load(), p.play(0), p.progress(30 if d == 0 else 10)]
    again = Player(session="S0", load="L0b", t=T0 + 2 * DAY + 7_200_000)
    events += [again.load(), again.play(20), again.progress(40)]
    out = import_all(Sessionizer(), events)
    days = by_day(out.credits)
    assert len(days) == 7
    assert days[dt.date(2024, 1, 1)]["v1"]["watch_time"] == wt(30)
    assert days[dt.date(2024, 1, 3)]["v1"]["watch_time"] == wt(20)  # 10 (S2) + 10 (S0 again)
    week = {k: sum(day["v1"][k] for day in days.values()) for k in ("loads", "impressions", "views", "watch_time")}
    assert week == {"loads": 8, "impressions": 7, "views": 7, "watch_time": wt(30 + 60 + 10)}
    assert week == totals(out.credits)["v1"]


def test_credits_carry_the_time_and_dimensions_of_the_producing_load():
    a = Player(load="L1", country="DE", domain="a.example", page="a.example/x")
    b = Player(load="L2", country="FR", domain="b.example", page="b.example/y", t=T0 + 60 * SECOND)
    # L1 [0, 3] (no view), then L2 [3, 9] (6 s: the view is L2's, with L2's dims)
    _, outs = run([a.play(0), a.progress(3)], [b.play(3), b.progress(9)])
    (view,) = [c for c in credits_of(outs) if c.views]
    assert view.load_id == "L2" and view.dims[0] == "FR" and view.dims[4] == "b.example"
    (imp,) = [c for c in credits_of(outs) if c.impressions]
    assert imp.load_id == "L1" and imp.dims[0] == "DE" and imp.t == T0


# -- §4: player loads -----------------------------------------------------------------------------


def test_player_loads_only_from_load_events():
    a, b = Player(load="L1"), Player(load="L2")
    # L1 sends load then plays; L2 plays without a load event: 1 player load, 1 impression
    out, v1 = one(a.load(), a.play(0), a.progress(6), b.play(0), b.progress(6), b.event("error"))
    assert v1["loads"] == 1 and v1["impressions"] == 1
    (ld,) = [c for c in out.credits if c.loads]
    assert ld.load_id == "L1" and ld.t == T0


def test_a_load_without_playback_is_a_load_only():
    p = Player()
    out, v1 = one(p.load())
    assert v1 == {"loads": 1, "impressions": 0, "views": 0, "watch_time": 0}


def test_a_load_sending_load_twice_is_one_player_load():
    p = Player()
    out, v1 = one(p.load(), p.play(0), p.load())
    assert v1["loads"] == 1


def test_other_event_types_count_nothing():
    p = Player()
    out, v1 = one(p.event("error"), p.event("quality_change"), p.event("volumechange"))
    assert out.status == [APPLIED] * 3
    assert out.credits == []


# -- §2: bots ----------------------------------------------------------------------------------------


def test_bots_produce_nothing():
    p = Player(bot=True)
    evs = [p.load(), p.play(0), p.progress(100), p.ended(600)]
    s, (out,) = run(evs)
    assert out.status == [BOT] * 4
    assert out.credits == [] and out.run == [None] * 4
    assert s.watching_now(T0 + 5 * SECOND) == {}


def test_bot_events_do_not_disturb_a_human_session():
    human, bot = Player(), Player(session="B1", load="BL1", bot=True)
    evs = [human.play(0), human.progress(10)]
    bots = [bot.load(), bot.play(0), bot.progress(400)]
    _, outs = run(bots, evs + [bot.progress(500)])
    assert outs[0].status == [BOT, BOT, BOT] and outs[1].status == [APPLIED, APPLIED, BOT]
    assert totals(credits_of(outs)) == {"v1": {"loads": 0, "impressions": 1, "views": 1, "watch_time": wt(10)}}


def test_bot_events_are_deduplicated_like_any_event():
    # bots are counted apart (§2): a re-sent bot event is a duplicate, a held-back one is late
    bot = Player(session="B1", load="BL1", bot=True)
    e0, e1, e2 = bot.play(0), bot.progress(5), bot.progress(10)
    _, outs = run([e0, e2], [e0, e1])
    assert outs[0].status == [BOT, BOT]
    assert outs[1].status == [DUPLICATE, LATE]
    assert credits_of(outs) == []


# -- replay -------------------------------------------------------------------------------------------


def _log(batches, outs):
    """The stored log: applied, late and bot events of each batch, in processing order."""
    return [b[i] for b, o in zip(batches, outs) for i in o.order if o.status[i] in (APPLIED, LATE, BOT)]


def test_replay_rebuilds_a_state_that_continues_identically():
    a, b = Player(load="L1"), Player(load="L2", t=T0 + 30 * SECOND)
    e = [a.load(), a.play(0), a.progress(3), a.progress(8), a.progress(12)]
    batches = [
        [e[0], e[1], e[1], e[3]],  # duplicate, and seq 2 skipped
        [e[2], e[4], b.load(id="k1"), b.play(10), b.progress(11)],  # seq 2 late
        [b.load(id="k1", seq=5)],  # duplicate by id
    ]
    original, outs = run(*batches)
    assert outs[1].status[0] == LATE and outs[2].status == [DUPLICATE]
    rebuilt = Sessionizer()
    assert rebuilt.replay(_log(batches, outs)) is None
    more = [
        [a.progress(14), a.progress(3), b.progress(16), b.progress(11)],  # jump back in L1
        [e[2], b.load(id="k1", seq=20), a.seek(20, 0), a.progress(20), b.ended(40)],  # re-sent and dup-by-id
    ]
    for batch in more:
        o1, o2 = apply(original, batch), apply(rebuilt, batch)
        assert o1.status == o2.status and o1.run == o2.run
        assert o1.credits == o2.credits
    assert totals(credits_of(outs))["v1"]["loads"] == 2


def test_id_of_an_event_dropped_as_duplicate_by_seq_is_not_stored():
    p = Player()
    e0 = p.play(0, seq=0)
    resend = p.play(0, seq=0, id="x")  # duplicate by seq: acknowledged, not stored
    nxt = p.progress(10, seq=1, id="x")  # "x" was never stored: it must count (§2 `id`)
    batches = [[e0], [resend]]
    original, outs = run(*batches)
    assert outs[1].status == [DUPLICATE]
    rebuilt = Sessionizer()
    rebuilt.replay(_log(batches, outs))
    o1, o2 = apply(original, [nxt]), apply(rebuilt, [nxt])
    assert o2.status == [APPLIED]
    assert o1.status == o2.status and o1.credits == o2.credits


# -- §4: watching now ---------------------------------------------------------------------------------


def test_watching_now_counts_sessions_per_content():
    a = Player(session="S1", load="L1", content="v1")
    b = Player(session="S2", load="L2", content="v1")
    c = Player(session="S3", load="L3", content="v2")
    s, _ = run([a.play(0, t=T0), b.play(0, t=T0), c.play(0, t=T0), a.progress(5, t=T0 + 5_000)])
    assert s.watching_now(T0 + 10_000) == {"v1": 2, "v2": 1}


def test_watching_now_drops_a_session_30_s_after_its_last_play_or_progress():
    p = Player()
    s, _ = run([p.play(0, t=T0), p.progress(10, t=T0 + 10_000)])
    # latest counted event at T0 + 10 s: counted through T0 + 40 s, gone after
    assert s.watching_now(T0 + 39_999) == {"v1": 1}
    assert s.watching_now(T0 + 40_001) == {}


@pytest.mark.parametrize("stop", ["pause", "ended", "seek"])
def test_watching_now_drops_a_session_whose_latest_event_is_not_play_or_progress(stop):
    p = Player()
    s, _ = run([p.play(0, t=T0), p.progress(10, t=T0 + 10_000)])
    apply(s, [p.seek(10, 50, t=T0 + 11_000) if stop == "seek" else p.event(stop, 10, t=T0 + 11_000)])
    assert s.watching_now(T0 + 12_000) == {}
    apply(s, [p.play(50 if stop == "seek" else 10, t=T0 + 13_000)])
    assert s.watching_now(T0 + 14_000) == {"v1": 1}


def test_watching_now_a_session_counts_once_under_its_latest_content():
    a, b = Player(load="L1", content="v1"), Player(load="L2", content="v2")
    s, _ = run([a.play(0, t=T0), a.progress(5, t=T0 + 5_000)], [b.play(0, t=T0 + 6_000)])
    assert s.watching_now(T0 + 7_000) == {"v2": 1}


def test_watching_now_ignores_duplicates_late_events_and_imports():
    p = Player()
    e0, e1, e2, e3 = p.play(0, t=T0), p.progress(5, t=T0 + 1_000), p.pause(5, t=T0 + 2_000), p.progress(9, t=T0 + 3_000)
    s, _ = run([e0, e1, e3])
    apply(s, [e2])  # late pause: changes nothing, the session still plays
    apply(s, [e0])  # duplicate
    assert s.watching_now(T0 + 4_000) == {"v1": 1}
    q = Player(session="S9", load="L9")
    import_all(s, [q.play(0, t=T0 + 3_500), q.progress(5, t=T0 + 3_600)])
    assert s.watching_now(T0 + 4_000) == {"v1": 1}


def test_watching_now_ignores_uncounted_event_types():
    p = Player()
    s, _ = run([p.play(0, t=T0), p.progress(5, t=T0 + 5_000), p.event("fullscreen", t=T0 + 6_000)])
    assert s.watching_now(T0 + 7_000) == {"v1": 1}


def test_watching_now_expires_sessions_applied_out_of_time_order():
    a, b = Player(session="S1", load="L1"), Player(session="S2", load="L2")
    s = Sessionizer()
    apply(s, [a.play(0, t=T0 + 20_000)])
    s.replay([b.play(0, t=T0)])  # S2's log rebuilt: its latest play is at T0
    # at T0 + 40 s: S1 (T0 + 20 s) is watching, S2 (T0) is 40 s old
    assert s.watching_now(T0 + 40_000) == {"v1": 1}


# -- spec gap: a load that changes content ------------------------------------------------------------


def test_a_load_that_switches_content_does_not_carry_its_run_over():
    # A run is "a stretch of content played without a jump" (docs/metrics.md §3) and views and
    # impressions are per (session, content) (§4): a playlist load moving from v1 to v2
    # closes v1's run; v2's first event opens v2's own run [20, 20] (an impression, no view).
    p = Player()
    out = apply(Sessionizer(), [p.play(0), p.progress(10), p.event("progress", 20, content_id="v2")])
    t = totals(out.credits)
    assert t["v2"]["views"] <= t["v2"]["impressions"]
    assert t["v2"]["watch_time"] == wt(0)
    assert (t["v2"]["impressions"], t["v2"]["views"]) == (1, 0)
    assert (t["v1"]["impressions"], t["v1"]["views"], t["v1"]["watch_time"]) == (1, 1, wt(10))
