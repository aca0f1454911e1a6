"""Builders and sums for the sessionizer tests (docs/metrics.md §3–5).

``Player`` makes the events of one load with the tracker's defaults: video ``v1`` of
600 s, session ``S1``, load ``L1``, ``seq`` counting 0, 1, 2, … and ``t`` in ms
(default: 1 s after the previous event, starting Monday 2024-01-01 00:00 UTC).
``totals``/``by_day``/``per_pair`` sum ``Credit``s the way the API does.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from watchdepth.collect.event import Event
from watchdepth.sessionize import Outcome, Sessionizer, collect_order, import_order

#: Monday 2024-01-01 00:00:00 UTC, in ms.
T0 = 1_704_067_200_000
SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

FIELDS = ("loads", "impressions", "views", "watch_time")


class Player:
    """The events of one load, built in order (``seq`` auto-increments)."""

    def __init__(
        self,
        session: str = "S1",
        load: str = "L1",
        content: str = "v1",
        *,
        duration: float | None = 600.0,
        kind: str = "video",
        t: int = T0,
        step_ms: int = SECOND,
        seq: int = 0,
        **extra: object,
    ) -> None:
        self.session, self.load_id, self.content = session, load, content
        self.duration, self.kind = duration, kind
        self.next_t, self.step_ms, self.seq = t, step_ms, seq
        self.extra = extra

    def event(
        self,
        type: str,
        position: float | None = None,
        *,
        t: int | None = None,
        seq: int | None = None,
        from_: float | None = None,
        **kw: object,
    ) -> Event:
        if t is None:
            t = self.next_t
        if seq is None:
            seq = self.seq
        self.seq = max(self.seq, seq + 1)
        self.next_t = t + self.step_ms
        fields: dict[str, object] = {
            "type": type,
            "content_id": self.content,
            "kind": self.kind,
            "project_id": "p1",
            "session_id": self.session,
            "load_id": self.load_id,
            "seq": seq,
            "t": t,
            "received_at": t,
            "stream_id": self.content if self.kind == "stream" else None,
            "position": position,
            "from_": from_,
            "content_duration": self.duration if self.kind == "video" else None,
        }
        fields.update(self.extra)
        fields.update(kw)
        return Event(**fields)  # type: ignore[arg-type]

    def load(self, **kw: object) -> Event:
        return self.event("load", **kw)

    def play(self, p: float, **kw: object) -> Event:
        return self.event("play", p, **kw)

    def progress(self, p: float, **kw: object) -> Event:
        return self.event("progress", p, **kw)

    def pause(self, p: float, **kw: object) -> Event:
        return self.event("pause", p, **kw)

    def ended(self, p: float, **kw: object) -> Event:
        return self.event("ended", p, **kw)

    def seek(self, f: float, p: float, **kw: object) -> Event:
        return self.event("seek", p, from_=f, **kw)


def apply(s: Sessionizer, events: Sequence[Event]) -> Outcome:
    """One /collect batch."""
    return s.apply(events, collect_order(events))


def import_all(s: Sessionizer, events: Sequence[Event]) -> Outcome:
    """One bulk import."""
    return s.apply(events, import_order(events), live=False)


def run(*batches: Sequence[Event]) -> tuple[Sessionizer, list[Outcome]]:
    """Fresh sessionizer, the batches applied in turn as /collect requests."""
    s = Sessionizer()
    return s, [apply(s, b) for b in batches]


def credits_of(outcomes: Iterable[Outcome]) -> list:
    return [c for o in outcomes for c in o.credits]


def _zero() -> dict[str, float]:
    return dict.fromkeys(FIELDS, 0)


def totals(credits: Iterable) -> dict[str, dict[str, float]]:
    """Content id -> {loads, impressions, views, watch_time} (the sums of §5)."""
    out: dict[str, dict[str, float]] = defaultdict(_zero)
    for c in credits:
        row = out[c.content_id]
        row["loads"] += c.loads
        row["impressions"] += c.impressions
        row["views"] += c.views
        row["watch_time"] += c.watch_time
    return dict(out)


def day_of(t_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(t_ms / 1000, dt.UTC).date()


def by_day(credits: Iterable) -> dict[dt.date, dict[str, dict[str, float]]]:
    """UTC day -> ``totals`` of the credits whose time falls on that day."""
    days: dict[dt.date, list] = defaultdict(list)
    for c in credits:
        days[day_of(c.t)].append(c)
    return {d: totals(cs) for d, cs in sorted(days.items())}


def per_pair(credits: Iterable) -> dict[tuple[str, str], float]:
    """(session, content) -> unique watch time credited."""
    out: dict[tuple[str, str], float] = defaultdict(float)
    for c in credits:
        if c.watch_time:
            out[c.session_id, c.content_id] += c.watch_time
    return dict(out)


def pieces(credits: Iterable) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(session, content) -> the credited watch-time pieces, in credit order."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for c in credits:
        if c.seg_start is not None:
            out[c.session_id, c.content_id].append((c.seg_start, c.seg_end))
    return dict(out)


def approx_equal(a: dict, b: dict, tol: float = 1e-6) -> bool:
    """Nested dicts of numbers equal up to ``tol``; a missing key counts as all zeros."""
    for k in set(a) | set(b):
        x, y = a.get(k), b.get(k)
        if isinstance(x, dict) or isinstance(y, dict):
            if not approx_equal(x or {}, y or {}, tol):
                return False
        elif abs((x or 0) - (y or 0)) > tol:
            return False
    return True
