"""Folds events into runs, views, watched sets and credited facts (docs/metrics.md §3–5).

Input: enriched ``Event``s, a batch at a time. Output: an ``Outcome`` with each event's
status (applied, duplicate, late, bot) and run number, and the ``Credit``s it produced:
a player load, a unique impression, a view, a piece of watch time, or an event count
(play, pause, seek, replay, player_init), each credited at the time of the event that
produced it, with the dimensions of its load. A piece of watch time also carries its
pair's impression time and dimensions (the cohort of docs/metrics.md §5, for average watch
time and watch depth).
Quality of experience (docs/metrics.md §7), each at its event with its load's dimensions: a
``startup`` (its 10 ms bin, ``startup_bin``, for the percentiles), a ``stall`` (count and
ms), a load's first fatal ``error`` (a playback failure), and exits before start as a
cohort of the load's first ``play``: +1 at that play and −1 when its ``startup`` comes,
both with ``imp_t`` = the play's time, so that a sum by ``imp_t`` is the loads of the
period that never started.
This is the only place where those numbers are counted. It does no I/O: the store
keeps the log it can be rebuilt from (``replay``), and the writer decides when; ids
of other forms than the tracker's, not seen here, are looked up by the caller in the
store (``unknown_ids`` / ``know_ids``), so that an ``id`` counts once per workspace.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import msgspec

from watchdepth.collect.event import POSITIONED_TYPES, Event
from watchdepth.sessionize.live import WatchingNow
from watchdepth.sessionize.rules import EPSILON, FUZZ, step
from watchdepth.sessionize.state import Dims, LoadState, PairState, SessionState

#: Continuous playback that makes a view (docs/metrics.md §4).
VIEW_SECONDS = 5.0
#: "Watching now" looks this far back (docs/metrics.md §4).
WATCHING_WINDOW_MS = 30_000
#: A session idle this long is forgotten (it expired after 30 min; the rest is margin).
SESSION_TTL_MS = 90 * 60_000
#: Event ids (not of the tracker's "load:seq" form) held in memory; older ones are looked up in the store.
RECENT_IDS = 1_000_000
#: Event types counted as such (docs/metrics.md §4 "Event counts"); ``load`` counts as ``player_init``.
EVENT_COUNTS = {"play": "play", "pause": "pause", "seek": "seek", "load": "player_init"}
#: Event types that credit quality numbers (docs/metrics.md §7); a first play opens the exits cohort.
QUALITY_TYPES = frozenset({"startup", "stall", "error", "play"})
#: Startup bins: 10 ms up to a minute (the percentiles are exact to 10 ms there), then 10 s.
FINE_BIN_MS, FINE_UNTIL_MS, COARSE_BIN_MS = 10, 60_000, 10_000


def startup_bin(ms: int) -> str:
    """The bin of a startup time, named by its lower bound in ms (a string: it is stored as a dimension)."""
    width = FINE_BIN_MS if ms < FINE_UNTIL_MS else COARSE_BIN_MS
    return str(ms // width * width)


APPLIED, DUPLICATE, LATE, BOT = "applied", "duplicate", "late", "bot"


class Credit(msgspec.Struct, frozen=True, gc=False):
    """One credited fact. Counts are 0 or 1; a watch-time piece is [seg_start, seg_end].

    ``cohort_wt`` is watch time of the pair whose unique impression was credited at
    ``imp_t`` with these ``dims`` (docs/metrics.md §5's cohort): equal to ``watch_time`` on a
    piece, unless the pair's impression came with other dimensions (another load of the
    session, on another page say): then the piece is two credits, ``watch_time`` with this
    load's dimensions and ``cohort_wt`` with the impression's. Event counts are 0 or 1.
    A struct (not a tuple) so that the journal writes it as a JSON object (``store.rows``).
    """

    t: int
    content_id: str
    session_id: str
    load_id: str
    loads: int
    impressions: int
    views: int
    watch_time: float
    seg_start: float | None
    seg_end: float | None
    dims: Dims
    imp_t: int | None = None
    cohort_wt: float = 0.0
    play: int = 0
    pause: int = 0
    seek: int = 0
    replay: int = 0
    player_init: int = 0
    startups: int = 0
    startup_bin: str | None = None
    stalls: int = 0
    stall_ms: int = 0
    failures: int = 0
    exits: int = 0  # +1 at a load's first play, −1 at its startup; both at imp_t (the first play)


class Outcome(NamedTuple):
    """Per input event (same order): status and run number; then the credits, in processing order.

    ``order`` is the processing order (indices into the input); the store numbers the
    log in that order so that ``replay`` reproduces the state exactly.
    """

    status: list[str]
    run: list[int | None]
    order: list[int]
    credits: list[Credit]


def collect_order(events: Sequence[Event]) -> list[int]:
    """A /collect batch: each load's events in ``seq`` order, loads in order of appearance."""
    first: dict[str, int] = {}
    for i, e in enumerate(events):
        first.setdefault(e.load_id, i)
    return sorted(range(len(events)), key=lambda i: (first[events[i].load_id], events[i].seq))


def import_order(events: Sequence[Event]) -> list[int]:
    """A bulk import: each load in ``seq`` order, loads interleaved by time.

    An event's sort time is the latest ``t`` of its load so far in ``seq`` order, so the
    result is the same whatever the order of the file (docs/metrics.md §3).
    """
    by_load: dict[str, list[int]] = {}
    for i, e in enumerate(events):
        by_load.setdefault(e.load_id, []).append(i)
    keyed: list[tuple[int, str, int, int]] = []
    for load_id, idx in by_load.items():
        idx.sort(key=lambda i: events[i].seq)
        clock = -(2**62)
        for i in idx:
            clock = max(clock, events[i].t)
            keyed.append((clock, load_id, events[i].seq, i))
    keyed.sort()
    return [k[3] for k in keyed]


class Sessionizer:
    """The in-memory state of active sessions and the rules that turn events into credits."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.sessions: dict[str, SessionState] = {}
        self.clock = clock  # seconds since the epoch; tests inject their own
        self.live = WatchingNow(WATCHING_WINDOW_MS)  # read from other threads; it has its own lock
        #: Ids (not "load:seq") known to be stored, or applied in this batch: oldest first.
        self.ids: dict[str, None] = {}
        #: True: ``ids`` holds every stored one (no look-up needed); None: not known yet.
        self.ids_complete: bool | None = None

    # -- public -------------------------------------------------------------------------

    def apply(self, events: Sequence[Event], order: Sequence[int], *, live: bool = True) -> Outcome:
        """Fold ``events`` in ``order`` (see ``collect_order``/``import_order``)."""
        status: list[str] = [DUPLICATE] * len(events)
        run: list[int | None] = [None] * len(events)
        credits: list[Credit] = []
        wall = time.monotonic()
        for i in order:
            status[i], run[i] = self._apply_one(events[i], credits, wall, live)
        return Outcome(status, run, list(order), credits)

    def replay(self, events: Iterable[Event]) -> None:
        """Rebuild state from the stored log (applied, late and bot events, in log order)."""
        sink: list[Credit] = []
        wall = time.monotonic()
        for e in events:
            self._apply_one(e, sink, wall, live=True, stored=True)
            sink.clear()

    def unknown_ids(self, events: Iterable[Event]) -> list[str]:
        """The ids of ``events`` that need a look-up in the store before ``apply``: those not
        of the tracker's "load:seq" form (covered by ``seq``) and not held here."""
        self._trim_ids()
        if self.ids_complete:
            return []
        ids = self.ids
        return sorted({e.id for e in events if e.id is not None and e.id not in ids and not _tracker_id(e)})

    def know_ids(self, ids: Iterable[str]) -> None:
        """These ids are stored already: an event carrying one is a duplicate."""
        for i in ids:
            self._hold_id(i)

    def _hold_id(self, event_id: str) -> None:
        self.ids[event_id] = None

    def _trim_ids(self) -> None:
        """Past RECENT_IDS, forget the oldest (down to 90 %, so the work is amortised): the store
        answers for them. Between batches only, so a batch's looked-up ids stay until applied."""
        ids = self.ids
        if len(ids) > RECENT_IDS:
            self.ids = dict.fromkeys(itertools.islice(ids, len(ids) - RECENT_IDS * 9 // 10, None))
            self.ids_complete = False

    def knows(self, session_id: str) -> bool:
        return session_id in self.sessions

    def active_since(self, ms: int) -> list[str]:
        """The sessions whose last event is at ``ms`` or later (epoch ms of event time)."""
        return [sid for sid, s in self.sessions.items() if s.last_t >= ms]

    def forget(self, session_ids: Iterable[str], *, unstored: bool = True) -> None:
        """Drop sessions (after a failed write, so they are rebuilt from the log). ``unstored``:
        their ids may not be stored either, so they are forgotten too (an idle session's are kept)."""
        for sid in session_ids:
            session = self.sessions.pop(sid, None)
            self.live.drop(sid)
            if unstored and session is not None and session.ids:
                for i in session.ids:
                    self.ids.pop(i, None)

    def evict_idle(self, now_ms: int, ttl_ms: int = SESSION_TTL_MS, quiet_s: float = 60.0) -> int:
        """Forget sessions idle for ``ttl_ms`` of event time and untouched for ``quiet_s``."""
        wall = time.monotonic()
        stale = [sid for sid, s in self.sessions.items() if s.last_t < now_ms - ttl_ms and s.touched < wall - quiet_s]
        self.forget(stale, unstored=False)
        return len(stale)

    def watching_now(self, now_ms: int | None = None) -> Counter[str]:
        """Content id -> sessions whose latest counted event, received in (now − 30 s, now], is play/progress."""
        return self.live.counts(int(self.clock() * 1000) if now_ms is None else now_ms)

    # -- one event ----------------------------------------------------------------------

    def _apply_one(
        self, e: Event, credits: list[Credit], wall: float, live: bool, stored: bool = False
    ) -> tuple[str, int | None]:
        """``stored``: the event comes from the log (``replay``), so its id is no duplicate."""
        before = len(credits)
        status, run_no = self._apply_event(e, credits, wall, live, stored)
        if status == APPLIED and e.type in EVENT_COUNTS:
            self._count(e, credits, before)
        if status == APPLIED and e.type in QUALITY_TYPES:
            self._quality(e, credits)
        return status, run_no

    def _quality(self, e: Event, credits: list[Credit]) -> None:
        """Credit the docs/metrics.md §7 numbers of a startup, stall, error or first play, each on a credit of its own."""
        load = self.sessions[e.session_id].loads[e.load_id]
        got: dict[str, Any] = {}
        if e.type == "play":
            if load.first_play is None:
                load.first_play = e.t
                if not load.started:  # a startup applied before it (in seq order): never an exit
                    got = {"imp_t": e.t, "exits": 1}
        elif e.type == "startup":
            if load.started or e.ms is None:  # once per load
                return
            load.started = True
            got = {"startups": 1, "startup_bin": startup_bin(e.ms)}
            if load.first_play is not None:
                got.update(imp_t=load.first_play, exits=-1)
        elif e.type == "stall":
            if e.ms is not None:
                got = {"stalls": 1, "stall_ms": e.ms}
        elif e.fatal and not load.failed:  # error: the load's first fatal one
            load.failed = True
            got = {"failures": 1}
        if got:
            credits.append(
                Credit(e.t, e.content_id, e.session_id, e.load_id, 0, 0, 0, 0.0, None, None, load.dims, **got)
            )

    def _count(self, e: Event, credits: list[Credit], before: int) -> None:
        """Credit the event's count (docs/metrics.md §4 "Event counts") on its first credit, or a new one."""
        load = self.sessions[e.session_id].loads[e.load_id]
        counts: dict[str, Any] = {EVENT_COUNTS[e.type]: 1}
        if e.type == "play" and load.replaying:
            counts["replay"] = 1
        load.replaying = False
        if len(credits) > before:
            credits[before] = msgspec.structs.replace(credits[before], **counts)
        else:
            credits.append(
                Credit(e.t, e.content_id, e.session_id, e.load_id, 0, 0, 0, 0.0, None, None, load.dims, **counts)
            )

    def _apply_event(
        self, e: Event, credits: list[Credit], wall: float, live: bool, stored: bool
    ) -> tuple[str, int | None]:
        session = self.sessions.get(e.session_id)
        if session is None:
            session = self.sessions[e.session_id] = SessionState()
        if not stored and e.id is not None and e.id in self.ids and not _tracker_id(e):
            return DUPLICATE, None
        load = session.loads.get(e.load_id)
        if load is None:
            load = session.loads[e.load_id] = LoadState(_dims(e))
        verdict = load.classify(e.seq)
        if verdict == "duplicate":
            return DUPLICATE, None
        self._remember_id(session, e)  # only events that are stored keep their id
        if verdict == "late":
            return LATE, None
        if e.bot:  # de-duplicated like any event, then counted apart
            return BOT, None
        session.last_t = max(session.last_t, e.t)
        session.touched = wall
        if live and (e.type == "load" or e.type in POSITIONED_TYPES):
            self.live.note(e.session_id, e.t, e.content_id, e.type in ("play", "progress"))  # counted types only
        if e.type == "play":  # a play after the end was reached restarts the content: a replay
            load.replaying = load.ended is not None and load.ended == e.content_id
            load.ended = None
        elif e.type == "ended":
            load.ended = e.content_id
        if e.type == "load":
            if load.loaded:  # a load counts once, however often it says so
                return APPLIED, None
            load.loaded = True
            credits.append(Credit(e.t, e.content_id, e.session_id, e.load_id, 1, 0, 0, 0.0, None, None, load.dims))
            return APPLIED, None
        if e.type not in POSITIONED_TYPES or e.position is None:
            return APPLIED, None
        pair = session.pairs.get(e.content_id)
        if pair is None:
            pair = session.pairs[e.content_id] = PairState()
        return APPLIED, self._move(e, load, pair, credits)

    def _remember_id(self, session: SessionState, e: Event) -> None:
        """Idempotency by ``id``, workspace-wide (docs/metrics.md §2). The tracker's ids ("load:seq")
        are covered by ``seq`` already; others are held here and by their session (to forget them
        with it if its write fails)."""
        if e.id is None or _tracker_id(e):
            return
        if session.ids is None:
            session.ids = set()
        session.ids.add(e.id)
        self._hold_id(e.id)

    def _move(self, e: Event, load: LoadState, pair: PairState, credits: list[Credit]) -> int | None:
        """Apply the run rules to the load's open run; credit what the event produced."""
        assert e.position is not None
        p, f = _clip(e.position, e.content_duration), e.from_
        if f is not None:
            f = _clip(f, e.content_duration)
        if load.run_end is not None and load.run_content != e.content_id:
            load.run_start = load.run_end = None  # a run plays one content: another one closes it
        load.run_content = e.content_id
        s = step(e.type, p, f, load.run_end)
        run_no: int | None = load.run_no if load.run_end is not None else None
        if s.extend_to is not None:
            self._extend(e, load, pair, s.extend_to, credits)
        if s.close:
            load.run_start = load.run_end = None
        if s.open_at is not None:
            load.run_no += 1
            run_no = load.run_no
            load.run_start = load.run_end = s.open_at
            if not pair.impression:
                pair.impression = True
                pair.imp_t, pair.imp_dims = e.t, load.dims
                credits.append(self._credit(e, load, impressions=1))
        if s.close_after:
            load.run_start = load.run_end = None
        return run_no

    def _extend(self, e: Event, load: LoadState, pair: PairState, to: float, credits: list[Credit]) -> None:
        assert load.run_start is not None and load.run_end is not None
        old_end, load.run_end = load.run_end, to
        for a, b in pair.watched.add(load.run_start, to) if to > old_end else ():
            if pair.imp_dims == load.dims:
                credits.append(self._credit(e, load, watch_time=b - a, seg=(a, b), imp_t=pair.imp_t, cohort=b - a))
            else:  # the cohort's share goes with the impression's dimensions
                credits.append(self._credit(e, load, watch_time=b - a, seg=(a, b)))
                credits.append(
                    Credit(
                        e.t,
                        e.content_id,
                        e.session_id,
                        e.load_id,
                        0,
                        0,
                        0,
                        0.0,
                        None,
                        None,
                        pair.imp_dims or load.dims,
                        pair.imp_t,
                        b - a,
                    )
                )
        d = e.content_duration
        if d is not None and to >= d - EPSILON - FUZZ:  # the end was reached (within ε)
            load.ended = e.content_id
        if not pair.view and to - load.run_start >= VIEW_SECONDS - FUZZ:
            pair.view = True
            credits.append(self._credit(e, load, views=1))

    @staticmethod
    def _credit(
        e: Event,
        load: LoadState,
        *,
        impressions: int = 0,
        views: int = 0,
        watch_time: float = 0.0,
        seg: tuple[float, float] | None = None,
        imp_t: int | None = None,
        cohort: float = 0.0,
    ) -> Credit:
        a, b = seg if seg is not None else (None, None)
        return Credit(
            e.t,
            e.content_id,
            e.session_id,
            e.load_id,
            0,
            impressions,
            views,
            watch_time,
            a,
            b,
            load.dims,
            imp_t,
            cohort,
        )


def _tracker_id(e: Event) -> bool:
    """An id of the tracker's "load:seq" form: unique per load, so ``seq`` de-duplicates it."""
    return e.id == f"{e.load_id}:{e.seq}"


def _clip(position: float, duration: float | None) -> float:
    return min(position, duration) if duration is not None else position


def _dims(e: Event) -> Dims:
    return Dims(
        country=e.country,
        platform=e.platform,
        os=e.os,
        browser=e.browser,
        domain=e.domain,
        page=e.page,
        external_id=e.external_id,
        city=e.city,
    )
