"""Hand-worked cases for the quality numbers of docs/metrics.md §7 (startup, stalls, failures, exits).

Each number is credited at its own event with its load's dimensions; exits before start
are a cohort of the load's first ``play``: +1 there, −1 when its ``startup`` comes, both
at ``imp_t`` = that play's time. ``T0`` is Monday 2024-01-01 00:00 UTC.
(A seek's ``waiting`` never reaches the server: the tracker does not send it as a stall,
tests/tracker/test_tracker_unit.js "a seek's waiting does not count".)
"""

from __future__ import annotations

from collections import defaultdict

from watchdepth.sessionize import Sessionizer, startup_bin

from .helpers import DAY, SECOND, T0, Player, apply, credits_of, day_of, run

QUALITY = ("startups", "stalls", "stall_ms", "failures")


def quality(credits):
    """{day: {startups, stalls, stall_ms, failures, exits, bins}}: every sum by its credit time t,
    exits by imp_t (the first play's day), bins: startup bin -> count."""
    out = defaultdict(lambda: {**dict.fromkeys((*QUALITY, "exits"), 0), "bins": {}})
    for c in credits:
        day = out[day_of(c.t)]
        for k in QUALITY:
            day[k] += getattr(c, k)
        if c.startup_bin is not None:
            day["bins"][c.startup_bin] = day["bins"].get(c.startup_bin, 0) + c.startups
        if c.exits:
            out[day_of(c.imp_t)]["exits"] += c.exits
    return dict(sorted(out.items()))


def q(p: Player, type_: str, **kw):
    return p.event(type_, **kw)


def test_startup_is_credited_once_per_load_in_its_10_ms_bin():
    p = Player()
    # play at T0; startup 1234 ms -> bin [1230, 1240); a second startup of the load is ignored
    _, (out,) = run([p.load(), p.play(0), q(p, "startup", ms=1234), p.progress(5), q(p, "startup", ms=50)])
    (day,) = quality(out.credits).values()
    assert day["startups"] == 1 and day["bins"] == {"1230": 1}
    assert day["exits"] == 0  # +1 at the play, -1 at the startup
    (s,) = [c for c in out.credits if c.startups]
    assert s.t == T0 + 2 * SECOND and s.imp_t == T0 + SECOND and s.exits == -1


def test_bins_are_10_ms_below_a_minute_and_10_s_above():
    assert [startup_bin(x) for x in (0, 9, 10, 59_999, 60_000, 61_234, 3_600_000)] == [
        "0",
        "0",
        "10",
        "59990",
        "60000",
        "60000",
        "3600000",
    ]


def test_a_load_that_plays_and_never_starts_is_an_exit_before_start_at_its_first_play():
    p = Player(t=T0 + DAY - 2 * SECOND)  # load 23:59:58, play 23:59:59 on day 1
    a = Player(session="S2", load="L2", t=T0 + DAY - SECOND)  # play 23:59:59 day 1, startup 00:00:01 day 2
    b1, b2 = p.play(0, t=T0 + DAY - SECOND), p.play(3, t=T0 + DAY + 5 * SECOND)  # a second play adds nothing
    _, outs = run([p.load(), b1, p.pause(0), b2], [a.play(0), q(a, "startup", ms=1500, t=T0 + DAY + SECOND)])
    got = quality(credits_of(outs))
    d1, d2 = sorted(got)
    # day 1's cohort: p (+1, never started) and a (+1 -1): 1 exit; a's startup is day 2's
    assert got[d1]["exits"] == 1 and got[d1]["startups"] == 0
    assert got[d2]["exits"] == 0 and got[d2]["startups"] == 1


def test_a_startup_applied_before_the_first_play_leaves_no_exit():
    p = Player()
    # an adapter that reports the first frame before its play event (seq order: startup, then play)
    _, (out,) = run([p.load(), q(p, "startup", ms=800), p.play(0), p.progress(5)])
    (day,) = quality(out.credits).values()
    assert day["startups"] == 1 and day["exits"] == 0
    assert [c.exits for c in out.credits if c.exits] == []


def test_stalls_count_and_sum_their_ms_with_the_load_dimensions():
    p = Player(country="BR", os="iOS", browser="Safari", page="/lesson")
    # 2 stalls: 1500 + 700 ms; the second sent by the beacon when the page closed while stalled
    evs = [
        p.play(0),
        q(p, "startup", ms=400),
        p.progress(10),
        q(p, "stall", ms=1500, position=10.0),
        p.progress(20),
        q(p, "stall", ms=700, position=20.0),
    ]
    _, (out,) = run(evs)
    (day,) = quality(out.credits).values()
    assert (day["stalls"], day["stall_ms"]) == (2, 2200)
    stalls = [c for c in out.credits if c.stalls]
    assert [c.t for c in stalls] == [evs[3].t, evs[5].t]
    assert all(c.dims == ("BR", None, "iOS", "Safari", None, "/lesson", None, None) for c in stalls)
    assert all(c.watch_time == 0 and c.views == 0 for c in stalls)  # a stall adds no playback


def test_an_error_before_the_first_frame_is_a_failure_and_an_exit_before_start():
    p = Player()
    # play, then a fatal media error: no startup ever comes
    _, (out,) = run(
        [
            p.load(),
            p.play(0),
            q(p, "error", code="MEDIA_ERR_SRC_NOT_SUPPORTED", fatal=True),
            q(p, "error", code="MEDIA_ERR_NETWORK", fatal=True),
        ]
    )  # the second fatal one: same load
    (day,) = quality(out.credits).values()
    assert day["failures"] == 1 and day["exits"] == 1 and day["startups"] == 0
    (f,) = [c for c in out.credits if c.failures]
    assert f.t == T0 + 2 * SECOND


def test_non_fatal_errors_and_errors_without_fatal_are_no_failures():
    p = Player()
    _, (out,) = run(
        [p.play(0), q(p, "error", code="bufferStalledError", fatal=False), q(p, "error"), q(p, "startup", ms=100)]
    )
    (day,) = quality(out.credits).values()
    assert day["failures"] == 0 and day["exits"] == 0


def test_two_loads_two_failures_and_a_failure_after_start_is_no_exit():
    a, b = Player(load="A"), Player(load="B")
    _, (out,) = run(
        [
            a.play(0),
            q(a, "startup", ms=300),
            q(a, "error", code="x", fatal=True),
            b.play(0),
            q(b, "error", code="x", fatal=True),
        ]
    )
    (day,) = quality(out.credits).values()
    assert day["failures"] == 2 and day["exits"] == 1  # B never started


def test_a_rebuilt_session_credits_nothing_twice():
    p = Player()
    first = [p.load(), p.play(0), q(p, "startup", ms=800), q(p, "error", code="e", fatal=True)]
    _, (out1,) = run(first)
    s2 = Sessionizer()
    s2.replay(first)  # the session rebuilt from the log after a restart
    later = [q(p, "startup", ms=900), q(p, "error", code="f", fatal=True), p.play(3), q(p, "stall", ms=250)]
    out2 = apply(s2, later)
    day = next(iter(quality(out2.credits).values()))
    assert (day["startups"], day["failures"], day["exits"], day["stalls"]) == (0, 0, 0, 1)
    assert sum(c.exits for c in out1.credits) == 0


def test_bot_events_credit_no_quality():
    p = Player(bot=True)
    _, (out,) = run([p.play(0), q(p, "stall", ms=100), q(p, "error", code="e", fatal=True)])
    assert out.credits == []
