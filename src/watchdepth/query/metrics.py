"""Every derived figure, defined once: view rate, average watch time, watch depth, rounding.

Input: the additive sums of a group (``store.base.SUMS``: player loads, unique
impressions, views, watch time, Σ views × duration). Output: the API's metric fields
(METRICS.md §4, API.md). The API, the dashboard and the exports all call ``derive``.
It does not count anything: counts are credited in ``sessionize``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: The metric fields of an analytics row, in API order.
METRIC_FIELDS = ("views", "unique_views", "player_loads", "watch_time", "view_rate", "avg_watch_time", "watch_depth")
#: Fields a store can sort by itself (plain sums); the rest sort after ``derive``.
SUM_FIELDS = {"views": "views", "unique_views": "unique_views", "player_loads": "player_loads", "watch_time": "watch_time"}


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


def avg_watch_time(watch_time: float, views: int) -> int:
    """watch_time / views in seconds, rounded half up; 0 without views."""
    return round_half_up(watch_time / views) if views else 0


def watch_depth(watch_time: float, views: int, view_duration: float) -> int:
    """Σ watch time / Σ (views × duration) × 100, rounded half up; 0 without views."""
    if not views or view_duration <= 0:
        return 0
    return round_half_up(watch_time * 100 / view_duration)


def derive(sums: Mapping[str, float]) -> dict[str, int]:
    """All metric fields of one group from its sums. ``watch_time`` is rounded after summing."""
    views = int(sums["views"])
    loads = int(sums["player_loads"])
    wt = float(sums["watch_time"])
    return {
        "views": views,
        "unique_views": int(sums["unique_views"]),
        "player_loads": loads,
        "watch_time": round_half_up(wt),
        "view_rate": view_rate(views, loads),
        "avg_watch_time": avg_watch_time(wt, views),
        "watch_depth": watch_depth(wt, views, float(sums["view_duration"])),
    }


def duration_total(sums: Mapping[str, float]) -> int:
    """The overview's ``duration``: Σ views × content duration, whole seconds."""
    return round_half_up(float(sums["view_duration"]))
