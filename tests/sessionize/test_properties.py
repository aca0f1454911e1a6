"""Properties of the sessionizer over random tracker-like traffic (docs/metrics.md §3–5).

The generator makes a few sessions, each with a few loads of one content item, each load a
tracker-like script (play/progress/pause/seek/ended, some `error`s, positions on a quarter-second
grid so the ε and 5 s boundaries are hit exactly, some positions past the duration), then
delivers it as /collect batches (random cuts, duplicates inside a batch, re-sent batches,
events held back to a later batch so they arrive late) or as a bulk import in a shuffled file
order. ``Model`` below is an independent, deliberately plain reading of docs/metrics.md §2–5.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from typing import NamedTuple

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchdepth.collect.event import Event
from watchdepth.sessionize import APPLIED, BOT, DUPLICATE, LATE, Sessionizer

from .helpers import (
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    T0,
    apply,
    approx_equal,
    by_day,
    import_all,
    pieces,
    totals,
)

#: content id -> (kind, catalog duration)
CATALOG = {"v1": ("video", 60.0), "v2": ("video", 30.0), "live": ("stream", None)}
POSITIONED = ("play", "progress", "pause", "seek", "ended")
EPS = 1.0
VIEW = 5.0

#: Seeds for the cheap numeric choices (positions, times, mishaps); the shapes are drawn directly.
SEEDS = st.integers(0, 2**32 - 1)

#: More examples for a longer run: SESSIONIZE_EXAMPLES_SCALE=10 pytest tests/sessionize
SCALE = float(os.environ.get("SESSIONIZE_EXAMPLES_SCALE", "1"))


def n(examples: int) -> int:
    return max(1, int(examples * SCALE))


SETTINGS = {
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


# -- the generator ---------------------------------------------------------------------------------


@st.composite
def load_script(draw, session: str, load: str, bot: bool, rnd: random.Random) -> list[Event]:
    """The events of one load, as the tracker would send them, with client times ``t``.

    The shape (content, event types) is drawn by hypothesis, the numbers by ``rnd`` (cheaper).
    """
    content = draw(st.sampled_from(sorted(CATALOG)))
    kind, duration = CATALOG[content]
    top = int((duration or 90.0) * 1.3 * 4)  # quarter seconds; up to 30 % past the end
    ids = rnd.choice(["none", "tracker", "own"])
    country = rnd.choice(["DE", "FR", None])
    t = T0 + rnd.randrange(3 * DAY // SECOND) * SECOND
    types: list[str] = ["load"] if rnd.random() < 0.8 else []
    types += draw(
        st.lists(
            st.sampled_from(
                ["play", "progress", "progress", "progress", "pause", "seek", "ended", "error", "fullscreen", "load"]
            ),
            max_size=10,
        )
    )
    cur = rnd.choice([0, 0, rnd.randrange(top)])  # position, in quarter seconds
    events = []
    for seq, typ in enumerate(types):
        position = from_ = None
        if typ in POSITIONED:
            how = rnd.choice(["on", "on", "on", "same", "back", "jump"])
            if how == "on":
                nxt = cur + rnd.randrange(29)
            elif how == "back":
                nxt = max(0, cur - rnd.randrange(1, 9))
            elif how == "jump":
                nxt = rnd.randrange(top + 1)
            else:
                nxt = cur
            if typ == "seek":
                from_ = max(0, cur + rnd.choice([0, 0, 2, 4, 6, 10, 24, -6])) / 4
            position, cur = nxt / 4, nxt
        t += rnd.choice([0, 250, SECOND, 5 * SECOND, 10 * SECOND, MINUTE, HOUR, 9 * HOUR])
        if rnd.random() < 0.05:  # the client's clock is set back
            t -= rnd.choice([SECOND, MINUTE, DAY])
        eid = {"none": None, "tracker": f"{load}:{seq}", "own": f"{load}/{seq}/k"}[ids]
        events.append(
            Event(
                type=typ,
                content_id=content,
                kind=kind,
                project_id="p1",
                session_id=session,
                load_id=load,
                seq=seq,
                t=t,
                received_at=t,
                stream_id=content if kind == "stream" else None,
                position=position,
                from_=from_,
                content_duration=duration,
                id=eid,
                bot=bot,
                country=country,
            )
        )
    return events


@st.composite
def scenario(draw) -> list[list[Event]]:
    """Loads (each a list of events in seq order) of 1–3 sessions of 1–3 loads each."""
    rnd = random.Random(draw(SEEDS))
    loads = []
    for i in range(draw(st.integers(1, 3))):
        bot = rnd.random() < 0.12
        for j in range(draw(st.integers(1, 3))):
            loads.append(draw(load_script(f"S{i}", f"S{i}L{j}", bot, rnd)))
    return loads


def at(e: Event, t: int) -> Event:
    return msgspec.structs.replace(e, t=t, received_at=t)


@st.composite
def deliveries(draw) -> list[list[Event]]:
    """The scenario sent to /collect: batches in time order, with the tracker's mishaps.

    Every event's ``t`` is its batch's receive time.
    """
    loads = draw(scenario())
    rnd = random.Random(draw(SEEDS))
    sent = []  # the tracker sends each load in seq order, when its clock says
    for load in loads:
        clock = -1
        for e in load:
            clock = max(clock, e.t)
            sent.append((clock, e.load_id, e.seq, e))
    timeline = [e for *_, e in sorted(sent, key=lambda x: x[:3])]
    batches: list[list[Event]] = []
    for e in timeline:
        if not batches or rnd.random() < 0.35:
            batches.append([])
        batches[-1].append(e)
    # held back: an event moves to a later batch (late if a higher seq of its load went first)
    for k in range(len(batches) - 1):
        for e in list(batches[k]):
            if rnd.random() < 0.08:
                batches[k].remove(e)
                batches[rnd.randrange(k + 1, len(batches))].append(e)
    # duplicates inside a batch, re-sent subsets of earlier batches, shuffled batches
    out: list[list[Event]] = []
    for batch in batches:
        batch = batch + [e for e in batch if rnd.random() < 0.1]
        rnd.shuffle(batch)
        out.append(batch)
        if out and rnd.random() < 0.15:
            old = rnd.choice(out)
            out.append([e for e in old if rnd.random() < 0.7] or old)
    # receive times: increasing, never before the client time of the events in the batch
    now, timed = T0 - 1, []
    for batch in out:
        if not batch:
            continue
        now = max([now + rnd.choice([1, 200, SECOND])] + [e.t for e in batch])
        timed.append([at(e, now) for e in batch])
    return timed


# -- the reference model (docs/metrics.md §2–5, written from the spec) ---------------------------------------


class MCredit(NamedTuple):
    t: int
    content_id: str
    session_id: str
    loads: int = 0
    impressions: int = 0
    views: int = 0
    watch_time: float = 0.0


def union(intervals) -> list[tuple[float, float]]:
    """Merge closed intervals (touching ones merge); drop empty ones."""
    merged: list[list[float]] = []
    for a, b in sorted(intervals):
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def measure(intervals) -> float:
    return sum(b - a for a, b in union(intervals))


class Model:
    """Events in processing order -> statuses and credits, straight from the spec."""

    def __init__(self) -> None:
        self.stored_ids: set[str] = set()
        self.stored_seqs: dict[str, set[int]] = defaultdict(set)  # load -> seqs stored (applied or late)
        self.highest: dict[str, int] = {}  # load -> highest seq applied
        self.runs: dict[str, list[list[float]]] = defaultdict(list)  # load -> all its runs [s, e]
        self.is_open: dict[str, bool] = defaultdict(bool)  # load -> its last run is open
        self.loads_of_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.sent_load: set[str] = set()
        self.impressed: set[tuple[str, str]] = set()
        self.viewed: set[tuple[str, str]] = set()
        self.credits: list[MCredit] = []
        self.latest: dict[str, tuple[int, str, str]] = {}  # session -> (t, type, content) of its latest counted event

    # §2/§3: which events count
    def status(self, e: Event) -> str:
        """Duplicate (id or seq already stored), late (a higher seq went first), else applied.

        Bots are de-duplicated like any event and then counted apart, in no metric.
        """
        if e.id is not None and e.id in self.stored_ids:
            return DUPLICATE
        if e.seq in self.stored_seqs[e.load_id]:
            return DUPLICATE
        self.stored_seqs[e.load_id].add(e.seq)
        if e.id is not None:
            self.stored_ids.add(e.id)
        if e.seq < self.highest.get(e.load_id, -1):
            return LATE
        self.highest[e.load_id] = e.seq
        return BOT if e.bot else APPLIED

    def feed(self, e: Event) -> str:
        verdict = self.status(e)
        if verdict == APPLIED:
            if e.type == "load" or e.type in POSITIONED:  # counted types (`error` and others are not)
                self.latest[e.session_id] = (e.t, e.type, e.content_id)
            self.count(e)
        return verdict

    def watching_now(self, now: int) -> dict[str, int]:
        """§4: sessions whose latest counted event, in the last 30 s, is play or progress."""
        out: dict[str, int] = defaultdict(int)
        for t, typ, content in self.latest.values():
            if typ in ("play", "progress") and now - 30_000 < t <= now:  # (now - 30 s, now]
                out[content] += 1
        return dict(out)

    def pair_runs(self, pair: tuple[str, str]) -> list[list[float]]:
        return [r for load in self.loads_of_pair[pair] for r in self.runs[load]]

    # §4/§5: what an applied event is credited
    def count(self, e: Event) -> None:
        pair = (e.session_id, e.content_id)
        credit = lambda **kw: self.credits.append(MCredit(e.t, e.content_id, e.session_id, **kw))  # noqa: E731
        if e.type == "load":
            if e.load_id not in self.sent_load:
                self.sent_load.add(e.load_id)
                credit(loads=1)
            return
        if e.type not in POSITIONED:
            return
        self.loads_of_pair[pair].add(e.load_id)
        before = measure(self.pair_runs(pair))
        self.move(e)
        runs = self.pair_runs(pair)
        grown = measure(runs) - before
        if grown > 0:
            credit(watch_time=grown)
        if runs and pair not in self.impressed:
            self.impressed.add(pair)
            credit(impressions=1)
        if pair not in self.viewed and any(b - a >= VIEW for a, b in runs):
            self.viewed.add(pair)
            credit(views=1)

    # §3: the table
    def move(self, e: Event) -> None:
        dur = e.content_duration
        clip = lambda x: x if dur is None else min(x, dur)  # noqa: E731
        p = clip(e.position)
        runs, load = self.runs[e.load_id], e.load_id
        run = runs[-1] if self.is_open[load] else None

        def open_new() -> None:
            runs.append([p, p])
            self.is_open[load] = True

        if e.type == "play":
            if run is None or abs(p - run[1]) > EPS:
                open_new()
        elif e.type == "seek":
            if run is not None and clip(e.from_) > run[1]:
                run[1] = clip(e.from_)
            open_new()
        else:  # progress, pause, ended
            if run is None:
                open_new()
            elif p >= run[1]:
                run[1] = p
            elif run[1] - p <= EPS:
                pass
            else:
                open_new()
            if e.type == "ended":
                self.is_open[load] = False

    def watched(self) -> dict[tuple[str, str], list[tuple[float, float]]]:
        return {pair: union(self.pair_runs(pair)) for pair in self.loads_of_pair}


# -- checks ----------------------------------------------------------------------------------------


def assert_seq_order(events, order) -> None:
    """Each load's events are processed in seq order (docs/metrics.md §3)."""
    last: dict[str, int] = {}
    for i in order:
        e = events[i]
        assert e.seq >= last.get(e.load_id, -1), f"{e.load_id}: seq {e.seq} after {last[e.load_id]}"
        last[e.load_id] = e.seq


def run_live(batches, model: Model | None = None):
    s, credits, statuses = Sessionizer(), [], []
    for batch in batches:
        out = apply(s, batch)
        assert sorted(out.order) == list(range(len(batch)))
        assert_seq_order(batch, out.order)
        if model is not None:
            for i in out.order:
                assert out.status[i] == model.feed(batch[i]), (i, batch[i])
            now = batch[0].t  # a batch's receive time
            assert s.watching_now(now) == model.watching_now(now)
        credits += out.credits
        statuses.append(out.status)
    return s, credits, statuses


def durations(batches) -> dict[str, float | None]:
    return {e.content_id: e.content_duration for b in batches for e in b}


# -- the reference model test ---------------------------------------------------------------------------


@settings(max_examples=n(300), **SETTINGS)
@given(deliveries())
def test_sessionizer_agrees_with_the_reference_model_live(batches):
    model = Model()
    s, credits, _ = run_live(batches, model)
    end = batches[-1][0].t if batches else T0
    for later in (1_000, 29_999, 30_000, 30_001, 60_000):
        assert s.watching_now(end + later) == model.watching_now(end + later)
    assert approx_equal(totals(credits), totals(model.credits))
    assert approx_equal(by_day(credits), by_day(model.credits))
    # the credited pieces of each (session, content) are exactly its watched set
    got = {pair: union(ps) for pair, ps in pieces(credits).items()}
    want = {pair: w for pair, w in model.watched().items() if w}
    assert got.keys() == want.keys()
    for pair in want:
        assert len(got[pair]) == len(want[pair])
        for (a, b), (c, d) in zip(got[pair], want[pair]):
            assert abs(a - c) < 1e-9 and abs(b - d) < 1e-9


@st.composite
def import_file(draw):
    """The scenario as an import file: client times, shuffled, some lines repeated."""
    loads = draw(scenario())
    rnd = random.Random(draw(SEEDS))
    lines = [e for load in loads for e in load]
    lines += [e for e in lines if rnd.random() < 0.1]
    rnd.shuffle(lines)
    return lines, rnd


@settings(max_examples=n(200), **SETTINGS)
@given(import_file())
def test_import_in_any_file_order_gives_the_same_totals_and_days(data):
    lines, rnd = data
    out = import_all(Sessionizer(), lines)
    assert_seq_order(lines, out.order)
    assert LATE not in out.status  # an import takes each load in seq order
    model = Model()
    for i in out.order:
        assert out.status[i] == model.feed(lines[i])
    assert approx_equal(totals(out.credits), totals(model.credits))
    assert approx_equal(by_day(out.credits), by_day(model.credits))
    other = list(lines)
    rnd.shuffle(other)
    again = import_all(Sessionizer(), other)
    assert approx_equal(totals(again.credits), totals(out.credits))
    assert approx_equal(by_day(again.credits), by_day(out.credits))
    assert sorted(again.status) == sorted(out.status)


# -- invariants ---------------------------------------------------------------------------------------


@settings(max_examples=n(120), **SETTINGS)
@given(deliveries(), st.lists(st.integers(T0 - DAY, T0 + 5 * DAY), max_size=6))
def test_invariants(batches, cuts):
    _, credits, statuses = run_live(batches)
    tot = totals(credits)
    for row in tot.values():
        assert row["views"] <= row["impressions"]
        assert row["loads"] >= 0 and row["watch_time"] >= 0
    # watch time per (session, content): disjoint pieces inside [0, duration], at most the duration
    dur = durations(batches)
    for (session, content), ps in pieces(credits).items():
        ps = sorted(ps)
        for (_, b), (c, _) in zip(ps, ps[1:]):
            assert b <= c + 1e-9, f"{session}/{content}: pieces overlap"
        assert all(0 <= a < b for a, b in ps)
        if dur[content] is not None:
            assert ps[-1][1] <= dur[content] + 1e-6
            assert sum(b - a for a, b in ps) <= dur[content] + 1e-6
        assert abs(sum(b - a for a, b in ps) - measure(ps)) < 1e-6
    # every credit is at the time of an event that was applied in its load
    applied_at = {(e.load_id, e.t) for b, sts in zip(batches, statuses) for e, s in zip(b, sts) if s == APPLIED}
    assert all((c.load_id, c.t) in applied_at for c in credits)
    # any split of the timeline into periods adds up to the total
    edges = sorted(set(cuts))
    periods: dict[int, list] = defaultdict(list)
    for c in credits:
        periods[sum(c.t >= x for x in edges)].append(c)
    summed: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for part in periods.values():
        for content, row in totals(part).items():
            for k, v in row.items():
                summed[content][k] += v
    assert approx_equal(summed, tot)
    # and the days add up too
    week: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for day in by_day(credits).values():
        for content, row in day.items():
            for k, v in row.items():
                week[content][k] += v
    assert approx_equal(week, tot)


@settings(max_examples=n(100), **SETTINGS)
@given(deliveries(), SEEDS.map(random.Random))
def test_resending_anything_already_sent_changes_nothing(batches, rnd):
    k = rnd.randrange(len(batches) + 1) if batches else 0
    sent = [e for b in batches[:k] for e in b]
    resend = [e for e in sent if rnd.random() < 0.5]
    rnd.shuffle(resend)
    now = max((e.t for e in sent), default=T0) + SECOND
    resend = [at(e, now) for e in resend]
    plain, noisy = Sessionizer(), Sessionizer()
    for b in batches[:k]:
        assert apply(plain, b) == apply(noisy, b)
    if resend:
        out = apply(noisy, resend)
        assert out.credits == []
        assert out.status == [DUPLICATE] * len(resend)
        assert plain.watching_now(now) == noisy.watching_now(now)
    for b in batches[k:]:
        o1, o2 = apply(plain, b), apply(noisy, b)
        assert o1.status == o2.status and o1.run == o2.run and o1.credits == o2.credits


@settings(max_examples=n(100), **SETTINGS)
@given(deliveries(), SEEDS.map(random.Random))
def test_replay_of_the_log_continues_like_the_original(batches, rnd):
    k = rnd.randrange(len(batches) + 1) if batches else 0
    original, log = Sessionizer(), []
    for b in batches[:k]:
        out = apply(original, b)
        log += [b[i] for i in out.order if out.status[i] in (APPLIED, LATE, BOT)]
    rebuilt = Sessionizer()
    rebuilt.replay(log)
    for b in batches[k:]:
        o1, o2 = apply(original, b), apply(rebuilt, b)
        assert o1.status == o2.status and o1.run == o2.run and o1.credits == o2.credits


@settings(max_examples=n(60), **SETTINGS)
@given(deliveries())
def test_live_totals_do_not_depend_on_how_the_same_events_were_batched(batches):
    """Without late events, cutting the same stream into other batches gives the same totals."""
    _, credits, statuses = run_live(batches)
    if any(LATE in sts for sts in statuses):
        return
    one_batch = [e for b in batches for e in b]
    out = apply(Sessionizer(), one_batch)
    assert approx_equal(totals(out.credits), totals(credits))
