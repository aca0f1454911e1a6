"""Every derived figure, defined once: view rate, average watch time, watch depth, rounding.

Input: the additive sums of a group (``store.base.SUMS``: player loads, unique
impressions, views, watch time, Σ views × duration, the cohort's watch time and, for depth,
its watch time and Σ duration over content with a duration, event counts). Output: the
API's metric fields (docs/metrics.md §4, docs/api.md). The API, the dashboard and the exports all
call ``derive``. Average watch time and watch depth are cohort numbers (docs/metrics.md §5):
over the pairs whose unique impression falls in the group's period, their whole watched sets.
Quality of experience (docs/metrics.md §7, ``quality``): startup time median and p90 from the
startup counts per 10 ms bin (``startup_bin``), rebuffering count, time and ratio, playback
failures and their rate, exits before start.
It does not count anything: counts are credited in ``sessionize``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from watchdepth.store.base import EVENT_COUNTS as EVENT_COUNT_SUMS

#: The metric fields of an analytics row, in API order.
METRIC_FIELDS = ("views", "unique_views", "player_loads", "watch_time", "view_rate", "avg_watch_time", "watch_depth")
#: Event counts (docs/metrics.md §4), plain sums: ``derive`` passes them through (ask for them by name).
EVENT_COUNTS = EVENT_COUNT_SUMS
#: Quality-of-experience fields (docs/metrics.md §7), asked by name in ``fields`` (the overview has them all).
QUALITY_FIELDS = (
    "startup_time",
    "startup_time_p90",
    "buffering_count",
    "buffering_time",
    "rebuffer_ratio",
    "playback_failures",
    "failure_rate",
    "exits_before_start",
)
#: Quality fields that need the startup histogram (a second store query per answer).
STARTUP_FIELDS = ("startup_time", "startup_time_p90")
#: Fields a store can sort by itself (plain sums); the rest sort after ``derive``.
SUM_FIELDS = {
    "views": "views",
    "unique_views": "unique_views",
    "player_loads": "player_loads",
    "watch_time": "watch_time",
    **{c: c for c in EVENT_COUNTS},
}


def round_half_up(x: float) -> int:
    """Rounded half up to an integer, as docs/metrics.md §4 asks (Python's round() is half-even).

    ``x`` is first taken to the microsecond: sums of float seconds differ in their last bits
    with the order an engine adds them (a day's 1,976,646.5 s summed as ...6.5000000068 by
    DuckDB and ...6.4999999995 by ClickHouse), and both stores must give the same integer.
    """
    return int(math.floor(round(x, 6) + 0.5))


def view_rate(views: int, player_loads: int) -> int:
    """views / player_loads × 100, rounded half up; 0 without loads."""
    return round_half_up(views * 100 / player_loads) if player_loads else 0


def avg_watch_time(cohort_watch_time: float, pairs: int) -> int:
    """Σ watched-set length of the cohort's pairs ÷ their number (its unique impressions), in
    seconds, rounded half up; 0 without pairs."""
    return round_half_up(cohort_watch_time / pairs) if pairs else 0


def watch_depth(depth_watch_time: float, depth_duration: float) -> int:
    """Σ watched-set length ÷ Σ duration × 100 over the cohort's pairs of content with a
    duration, rounded half up; 0 without such pairs. Within [0, 100]: a watched set lies
    inside [0, duration] of the duration its events were clipped to; if the catalog's duration
    was lowered since (or first set after the watching), the share is capped at 100."""
    if depth_duration <= 0:
        return 0
    return min(100, round_half_up(depth_watch_time * 100 / depth_duration))


def derive(sums: Mapping[str, float], bins: Mapping[int, int] | None = None) -> dict[str, Any]:
    """All metric fields of one group from its sums, its event counts and its quality fields
    (startup times from ``bins``, see ``quality``). ``watch_time`` is rounded after summing."""
    views = int(sums["views"])
    loads = int(sums["player_loads"])
    pairs = int(sums["unique_views"])
    return {
        "views": views,
        "unique_views": pairs,
        "player_loads": loads,
        "watch_time": round_half_up(float(sums["watch_time"])),
        "view_rate": view_rate(views, loads),
        "avg_watch_time": avg_watch_time(float(sums["cohort_watch_time"]), pairs),
        "watch_depth": watch_depth(float(sums["depth_watch_time"]), float(sums["depth_duration"])),
        **{c: int(sums[c]) for c in EVENT_COUNTS},
        **quality(sums, bins),
    }


def round_half_up_1(x: float) -> float:
    """Rounded half up to one decimal."""
    return math.floor(round(x * 10, 6) + 0.5) / 10


def percentile_ms(bins: Mapping[int, int], p: float) -> int | None:
    """The nearest-rank ``p`` percentile (the ⌈p·n⌉-th smallest) of startup times counted per bin
    (bin lower bound in ms -> count), as its bin's lower bound; None without startups."""
    return percentiles_ms(bins, (p,))[0]


def percentiles_ms(bins: Mapping[int, int], ps: tuple[float, ...]) -> tuple[int | None, ...]:
    """``percentile_ms`` of each of ``ps`` (ascending), in one pass over the sorted bins."""
    counts = [(lower, c) for lower, c in bins.items() if c > 0]
    n = sum(c for _, c in counts)
    if n <= 0:
        return (None,) * len(ps)
    ranks = [max(1, math.ceil(round(p * n, 9))) for p in ps]
    out: list[int | None] = []
    seen, want = 0, ranks[0]
    for lower, c in sorted(counts):
        seen += c
        while seen >= want:
            out.append(lower)
            if len(out) == len(ranks):
                return tuple(out)
            want = ranks[len(out)]
    return tuple(out) + (None,) * (len(ps) - len(out))  # not reached: the last rank is at most n


def startup_bins(rows: Iterable[tuple[str | None, float]]) -> dict[int, int]:
    """(startup_bin, startups) rows -> {bin lower bound ms: count}; rows without a bin skipped."""
    out: dict[int, int] = {}
    for b, n in rows:
        if b is not None and n:
            out[int(b)] = out.get(int(b), 0) + int(n)
    return out


def quality(sums: Mapping[str, float], bins: Mapping[int, int] | None = None) -> dict[str, float | int | None]:
    """The §7 fields of one group: startup time median and p90 in seconds with 2 decimals
    (None without startups, or when ``bins`` were not read), buffering_count, buffering_time
    (Σ stall ms ÷ 1000, exact), rebuffer_ratio (÷ (it + watch time) × 100, one decimal, 0 without
    either), playback_failures, failure_rate (÷ player loads × 100, one decimal, 0 without loads),
    exits_before_start."""
    stall_s = int(sums["stall_ms"]) / 1000
    played = stall_s + float(sums["watch_time"])
    loads = int(sums["player_loads"])
    failures = int(sums["failures"])
    p50, p90 = percentiles_ms(bins, (0.5, 0.9)) if bins is not None else (None, None)
    return {
        "startup_time": None if p50 is None else round(p50 / 1000, 2),
        "startup_time_p90": None if p90 is None else round(p90 / 1000, 2),
        "buffering_count": int(sums["stalls"]),
        "buffering_time": stall_s,
        "rebuffer_ratio": round_half_up_1(stall_s * 100 / played) if played > 0 else 0.0,
        "playback_failures": failures,
        "failure_rate": round_half_up_1(failures * 100 / loads) if loads else 0.0,
        "exits_before_start": int(sums["exits"]),
    }


def duration_total(sums: Mapping[str, float]) -> int:
    """The overview's ``duration``: Σ views × content duration, whole seconds."""
    return round_half_up(float(sums["view_duration"]))
