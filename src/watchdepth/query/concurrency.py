"""Concurrent viewers of streams and broadcast events, and their peak (docs/metrics.md §4).

Input: run spans from the store, ``(first event ms, last event ms, session)`` of each
run. Output: the largest number of distinct sessions watching at one instant, the
first instant it was reached, and a per-bucket series whose values are each bucket's
own peak (so the series' maximum is the peak). A session watches during the closed
interval of each of its runs; its overlapping runs (two loads at once) count once.
It does not read HTTP or SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from watchdepth.store.base import Store


class Peak(NamedTuple):
    viewers: int
    at_ms: int | None  # None when nobody watched


def _session_intervals(spans: Iterable[tuple[int, int, str]], start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """Each session's runs merged and clipped to ``[start_ms, end_ms)``, as closed intervals."""
    by_session: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for first, last, session in spans:
        a, b = max(first, start_ms), min(last, end_ms - 1)
        if a <= b:
            by_session[session].append((a, b))
    out: list[tuple[int, int]] = []
    for runs in by_session.values():
        runs.sort()
        cur_a, cur_b = runs[0]
        for a, b in runs[1:]:
            if a <= cur_b:
                cur_b = max(cur_b, b)
            else:
                out.append((cur_a, cur_b))
                cur_a, cur_b = a, b
        out.append((cur_a, cur_b))
    return out


def _changes(intervals: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """(instant, +1/-1) sorted so that at one instant arrivals come before departures.

    Intervals are closed: a session leaving at t and another joining at t overlap at t.
    """
    points = [(a, 0, 1) for a, _ in intervals] + [(b, 1, -1) for _, b in intervals]
    points.sort()
    return [(t, d) for t, _, d in points]


def peak(spans: Iterable[tuple[int, int, str]], start_ms: int, end_ms: int) -> Peak:
    best, at, now = 0, None, 0
    for t, d in _changes(_session_intervals(spans, start_ms, end_ms)):
        now += d
        if now > best:
            best, at = now, t
    return Peak(best, at)


def series(
    spans: Iterable[tuple[int, int, str]], start_ms: int, end_ms: int, step_ms: int
) -> tuple[list[tuple[int, int]], Peak]:
    """Per-bucket peaks ``[(bucket start ms, viewers), …]`` covering the period, and the overall peak."""
    n = max(0, -(-(end_ms - start_ms) // step_ms))
    values = [0] * n
    best, at, now = 0, None, 0
    changes = _changes(_session_intervals(spans, start_ms, end_ms))
    i = 0
    for k in range(n):
        b_end = min(end_ms, start_ms + (k + 1) * step_ms)
        value = now  # sessions still watching from earlier buckets
        while i < len(changes) and changes[i][0] < b_end:
            t, d = changes[i]
            now += d
            i += 1
            value = max(value, now)
            if now > best:
                best, at = now, t
        values[k] = value
    return [(start_ms + k * step_ms, v) for k, v in enumerate(values)], Peak(best, at)


def peaks(store: Store, content_ids: Sequence[str], start_ms: int, end_ms: int) -> Peak:
    """The peak over all runs of these contents (a stream: its id and its broadcast events' ids)."""
    return peak(store.run_spans(content_ids, start_ms, end_ms), start_ms, end_ms)


def peaks_many(store: Store, groups: Mapping[str, Sequence[str]], start_ms: int, end_ms: int) -> dict[str, Peak]:
    """``peaks`` of many rows in one store query: row key -> the content ids it covers."""
    wanted = sorted({c for ids in groups.values() for c in ids})
    spans = store.run_spans_by_content(wanted, start_ms, end_ms) if wanted else {}
    return {key: peak([s for c in ids for s in spans.get(c, ())], start_ms, end_ms) for key, ids in groups.items()}
