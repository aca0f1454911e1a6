"""Every derived figure, defined once: view rate, average watch time, watch depth, rounding.

Input: the additive sums of a group (``store.base.SUMS``: player loads, unique
impressions, views, watch time, Σ views × duration, the cohort's watch time and, for depth,
its watch time and Σ duration over content with a duration, event counts). Output: the
API's metric fields (METRICS.md §4, API.md). The API, the dashboard and the exports all
call ``derive``. Average watch time and watch depth are cohort numbers (METRICS.md §5):
over the pairs whose unique impression falls in the group's period, their whole watched sets.
It does not count anything: counts are credited in ``sessionize``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from watchdepth.store.base import EVENT_COUNTS as EVENT_COUNT_SUMS

#: The metric fields of an analytics row, in API order.
METRIC_FIELDS = ("views", "unique_views", "player_loads", "watch_time", "view_rate", "avg_watch_time", "watch_depth")
#: Event counts (METRICS.md §4), plain sums: ``derive`` passes them through (ask for them by name).
EVENT_COUNTS = EVENT_COUNT_SUMS
#: Fields a store can sort by itself (plain sums); the rest sort after ``derive``.
SUM_FIELDS = {"views": "views", "unique_views": "unique_views", "player_loads": "player_loads", "watch_time": "watch_time",
              **{c: c for c in EVENT_COUNTS}}


def round_half_up(x: float) -> int:
    """Rounded half up to an integer, as METRICS.md §4 asks (Python's round() is half-even).

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
    inside [0, duration]."""
    if depth_duration <= 0:
        return 0
    return round_half_up(depth_watch_time * 100 / depth_duration)


def derive(sums: Mapping[str, float]) -> dict[str, int]:
    """All metric fields of one group from its sums, and its event counts. ``watch_time`` is
    rounded after summing."""
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
    }


def duration_total(sums: Mapping[str, float]) -> int:
    """The overview's ``duration``: Σ views × content duration, whole seconds."""
    return round_half_up(float(sums["view_duration"]))
