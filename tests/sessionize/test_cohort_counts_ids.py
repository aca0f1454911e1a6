"""Hand-worked cases for what a credit carries besides the four numbers (docs/metrics.md §2, §4, §5):
the cohort of a piece of watch time (its pair's impression time and dimensions), event counts
(``replay`` included), and idempotency by ``id`` across the workspace.

Runs are written [start, end] in content seconds; ``T0`` is Monday 2024-01-01 00:00 UTC and
events are 1 s apart unless a ``t`` is given. v1 lasts 600 s unless said otherwise.
"""

from __future__ import annotations

from collections import Counter

from watchdepth.sessionize import APPLIED, DUPLICATE, Sessionizer

from .helpers import DAY, T0, Player, apply, import_all, run

COUNTS = ("play", "pause", "seek", "replay", "player_init")


def counts(credits) -> dict[str, int]:
    total: Counter[str] = Counter()
    for c in credits:
        for name in COUNTS:
            total[name] += getattr(c, name)
    return {name: total[name] for name in COUNTS}


# -- §5: the cohort of a piece of watch time ---------------------------------------------------


def test_watch_time_credited_the_next_day_carries_the_impression_time():
    p = Player()
    # play 0 at T0 (impression), progress 30 the next day: [0, 30], credited at day 2 for the cohort of T0
    evs = [p.play(0, t=T0), p.progress(30, t=T0 + DAY)]
    _, (out,) = run(evs)
    (piece,) = [c for c in out.credits if c.watch_time]
    assert (piece.t, piece.imp_t, piece.cohort_wt, piece.watch_time) == (T0 + DAY, T0, 30.0, 30.0)
    (imp,) = [c for c in out.credits if c.impressions]
    assert imp.t == T0 and imp.cohort_wt == 0


def test_a_piece_watched_under_other_dimensions_is_split():
    a = Player(load="L1", page="a.com/x")
    b = Player(load="L2", page="b.com/y")
    # L1 on page x: impression, [0, 10]; L2 on page y (same session): [10, 20] adds 10 s
    _, (out,) = run([a.play(0), a.progress(10), b.play(10), b.progress(20)])
    later = [c for c in out.credits if c.load_id == "L2" and (c.watch_time or c.cohort_wt)]
    # watch time where it was watched (page y); the cohort's share with the impression's page x
    assert [(c.dims[5], c.watch_time, c.cohort_wt, c.imp_t) for c in later] == [
        ("b.com/y", 10.0, 0.0, None),
        ("a.com/x", 0.0, 10.0, T0),
    ]
    assert sum(c.cohort_wt for c in out.credits) == sum(c.watch_time for c in out.credits) == 20.0


# -- §4: event counts --------------------------------------------------------------------------


def test_event_counts_each_at_its_event():
    p = Player()
    # load, play, pause, play, seek: one each (two plays); progress and ended are not counted
    evs = [p.load(), p.play(0), p.progress(10), p.pause(10), p.play(10), p.seek(20, 50), p.progress(60), p.ended(60)]
    _, (out,) = run(evs)
    assert counts(out.credits) == {"play": 2, "pause": 1, "seek": 1, "replay": 0, "player_init": 1}
    # each count at its own event's time, with the load's dimensions
    at = {name: [c.t for c in out.credits if getattr(c, name)] for name in COUNTS}
    assert at["play"] == [evs[1].t, evs[4].t] and at["pause"] == [evs[3].t] and at["seek"] == [evs[5].t]
    assert at["player_init"] == [evs[0].t]


def test_a_load_said_twice_is_one_player_load_and_two_player_inits():
    p = Player()
    _, (out,) = run([p.load(), p.load()])
    assert sum(c.loads for c in out.credits) == 1
    assert counts(out.credits)["player_init"] == 2


def test_a_play_after_ended_is_a_replay():
    p = Player(duration=60.0)
    # [0, 60], ended; play 0 restarts the content: a replay; a further pause/play is not
    evs = [p.play(0), p.progress(60), p.ended(60), p.play(0), p.pause(5), p.play(5)]
    _, (out,) = run(evs)
    assert counts(out.credits) == {"play": 3, "pause": 1, "seek": 0, "replay": 1, "player_init": 0}
    (replay,) = [c for c in out.credits if c.replay]
    assert replay.t == evs[3].t and replay.play == 1


def test_a_run_ending_within_epsilon_of_the_duration_reached_the_end():
    p = Player(duration=60.0)
    # the run reaches 59.5: 60 - 59.5 = 0.5 <= ε = 1, the end was reached without an `ended`
    _, (out,) = run([p.play(0), p.progress(59.5), p.pause(59.5), p.play(0)])
    assert counts(out.credits)["replay"] == 1


def test_a_play_short_of_the_end_is_no_replay():
    p = Player(duration=60.0)
    # [0, 58]: 60 - 58 = 2 > ε; the next play is a plain play
    _, (out,) = run([p.play(0), p.progress(58), p.pause(58), p.play(0)])
    assert counts(out.credits) == {"play": 2, "pause": 1, "seek": 0, "replay": 0, "player_init": 0}


def test_the_end_of_another_content_or_load_is_no_replay():
    a = Player(load="L1", content="v1", duration=60.0)
    b = Player(load="L2", content="v1", duration=60.0)
    c = Player(load="L1", content="v2", duration=60.0, seq=3)
    # L1 ends v1; a play of v1 in another load L2 is not a replay, nor is L1 moving on to v2
    _, (out,) = run([a.play(0), a.progress(60), a.ended(60), b.play(0), c.play(0)])
    assert counts(out.credits) == {"play": 3, "pause": 0, "seek": 0, "replay": 0, "player_init": 0}


def test_duplicate_late_and_bot_events_are_not_counted():
    p = Player()
    bot = Player(session="B", load="LB", bot=True)
    evs = [p.play(0), p.pause(3, seq=2), p.pause(3, seq=2), bot.play(0)]
    _, (first, second) = run(evs, [p.play(9, seq=1)])  # seq 1 arrives after 2: late
    assert first.status[2:] == [DUPLICATE, "bot"] and second.status == ["late"]
    assert counts(first.credits + second.credits) == {"play": 1, "pause": 1, "seek": 0, "replay": 0, "player_init": 0}


# -- §2: idempotency by id, across the workspace -----------------------------------------------


def test_the_same_id_in_two_sessions_counts_once():
    a = Player(session="S1", load="L1")
    b = Player(session="S2", load="L2")
    s = Sessionizer()
    first = apply(s, [a.load(id="evt-1")])
    again = apply(s, [b.load(id="evt-1"), b.play(0, id="evt-2")])  # another session, the same id
    assert first.status == [APPLIED]
    assert again.status == [DUPLICATE, APPLIED]
    assert sum(c.loads for c in first.credits + again.credits) == 1


def test_ids_stored_before_a_restart_are_duplicates_once_known():
    a = Player(session="S1", load="L1")
    fresh = Sessionizer()  # a restart: nothing held; the caller looks the ids up in the store
    evs = [a.load(id="evt-1"), a.play(0, id="L1:1")]  # the play is seq 1 of load L1
    assert fresh.unknown_ids(evs) == ["evt-1"]  # the tracker's "load:seq" ids need no look-up
    fresh.know_ids(["evt-1"])
    assert import_all(fresh, evs).status == [DUPLICATE, APPLIED]
    assert fresh.unknown_ids(evs) == []


def test_a_failed_write_forgets_its_ids_and_replay_keeps_stored_ones():
    a = Player(session="S1", load="L1")
    s = Sessionizer()
    load = a.load(id="evt-1")
    apply(s, [load])
    s.forget(["S1"])  # the write failed: the event was not stored, its retry must count
    assert apply(s, [load]).status == [APPLIED]
    s.forget(["S1"])
    s.replay([load])  # rebuilt from the log: the stored event is applied, not a duplicate of itself
    assert s.sessions["S1"].loads["L1"].loaded
    assert apply(s, [Player(session="S2", load="L2").load(id="evt-1")]).status == [DUPLICATE]


def test_the_oldest_ids_are_forgotten_past_the_bound(monkeypatch):
    from watchdepth.sessionize import sessionizer

    monkeypatch.setattr(sessionizer, "RECENT_IDS", 10)
    s = Sessionizer()
    s.know_ids(f"id-{i}" for i in range(11))  # one past the bound: kept until the next batch is looked at
    assert len(s.ids) == 11
    p = Player()
    assert s.unknown_ids([p.load(id="id-0"), p.play(0, id="id-5")]) == ["id-0"]  # the store answers for id-0
    assert list(s.ids) == [f"id-{i}" for i in range(2, 11)]  # down to 90 % of the bound, oldest first
