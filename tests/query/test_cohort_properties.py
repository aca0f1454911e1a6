"""Watch depth over random traffic (docs/metrics.md §4–5): it lies in [0, 100] and is the mean of the
retention curve, for any period, because both read the same cohort (the pairs whose unique
impression falls in the period) and the same whole watched sets.

Depth is summed from the credits as the stores sum them (cohort watch time by impression time,
Σ duration over the cohort's pairs: tests/store/test_cohort.py checks the stores against such
sums); retention is ``query.analytics.retention`` over the pairs' watched sets. Positions are
whole seconds and the duration too, so the two agree exactly before rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sessionize.helpers import DAY, HOUR, SECOND, T0, Player
from watchdepth.query import analytics, metrics
from watchdepth.query.periods import Period
from watchdepth.sessionize import Credit, Sessionizer, collect_order

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["play", "progress", "progress", "pause", "seek", "ended"]),
        st.integers(0, 70),
        st.integers(0, 70),
    ),
    min_size=1,
    max_size=12,
)
LOADS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3 * DAY // HOUR), ACTIONS), min_size=1, max_size=8)


@dataclass
class Info:
    duration: float


class Credits:
    """What ``retention`` asks a store, answered from credits."""

    def __init__(self, credits: list[Credit]) -> None:
        self.credits = credits

    def watched_sets(self, content_id: str, start_ms: int, end_ms: int) -> list[list[tuple[float, float]]]:
        pairs = {
            c.session_id
            for c in self.credits
            if c.content_id == content_id and c.impressions and start_ms <= c.t < end_ms
        }
        return [
            [
                (c.seg_start, c.seg_end)
                for c in self.credits  # type: ignore[misc]
                if c.session_id == s and c.content_id == content_id and c.seg_start is not None
            ]
            for s in sorted(pairs)
        ]


def traffic(
    loads: list[tuple[int, int, list[tuple[str, int, int]]]], duration: int, content: str = "v"
) -> list[Credit]:
    """The credits of these loads: (session number, hour after T0, [(type, position, seek target)])."""
    s = Sessionizer()
    credits: list[Credit] = []
    for i, (session, hour, actions) in enumerate(loads):
        # a session's loads may lie hours apart: its pair's watch time then comes after its impression's day
        p = Player(f"S{session}", f"L{i}", content, duration=float(duration), t=T0 + hour * HOUR, step_ms=7 * SECOND)
        events = [p.seek(a, b) if kind == "seek" else p.event(kind, a) for kind, a, b in actions]
        credits += s.apply(events, collect_order(events)).credits
    return credits


@settings(max_examples=80, deadline=None, database=None)
@given(LOADS, st.sampled_from([10, 37, 60]), st.integers(0, 3 * 24), st.integers(1, 3 * 24))
def test_depth_is_within_0_100_and_the_mean_of_retention(loads: Any, duration: int, start_h: int, hours: int) -> None:
    credits = traffic(loads, duration)
    start, end = T0 + start_h * HOUR, T0 + (start_h + hours) * HOUR
    pairs = sum(c.impressions for c in credits if start <= c.t < end)
    depth_wt = sum(c.cohort_wt for c in credits if c.imp_t is not None and start <= c.imp_t < end)
    depth = metrics.watch_depth(depth_wt, pairs * duration)
    assert 0 <= depth <= 100

    class Catalog:
        content = {"v": Info(float(duration))}

    curve = analytics.retention(Credits(credits), Catalog(), "v", Period(start, end, "UTC"))  # type: ignore[arg-type]
    assert curve["unique_views"] == pairs
    if not pairs:
        assert depth == 0
        return
    mean = sum(pt["viewers"] for pt in curve["points"]) / (pairs * duration) * 100
    assert abs(mean - depth_wt * 100 / (pairs * duration)) < 1e-9
    assert depth == metrics.round_half_up(mean)
