"""Rounding of derived metrics (docs/metrics.md §4: half up), the same whichever engine summed."""

from __future__ import annotations

import pytest

from watchdepth.query import metrics
from watchdepth.query.metrics import (
    avg_watch_time,
    round_half_up,
    view_rate,
    watch_depth,
)


@pytest.mark.parametrize(("x", "expected"), [(0.0, 0), (0.5, 1), (1.5, 2), (2.5, 3), (2.4999, 2), (66.6667, 67)])
def test_half_up_not_half_even(x: float, expected: int) -> None:
    assert round_half_up(x) == expected


def test_a_sum_a_hair_either_side_of_a_half_rounds_the_same() -> None:
    # one day's watch time summed by DuckDB and by ClickHouse in another order (bench at 100M)
    assert round_half_up(1_976_646.5000000068) == round_half_up(1_976_646.4999999995) == 1_976_647
    assert round_half_up(0.1 + 0.2 + 0.2) == 1  # 0.5000000000000001 and 0.49999999999999994 alike
    assert round_half_up(0.2 + 0.2 + 0.1 - 1e-12) == 1


def test_derived_metrics() -> None:
    assert view_rate(1, 3) == 33 and view_rate(2, 3) == 67 and view_rate(1, 0) == 0
    assert avg_watch_time(25, 2) == 13 and avg_watch_time(5, 0) == 0
    # cohort watch time of content with a duration ÷ Σ its pairs' durations (docs/metrics.md §4)
    assert watch_depth(150, 200) == 75 and watch_depth(1, 200) == 1 and watch_depth(9, 0) == 0


def test_depth_is_capped_at_100_when_a_duration_was_lowered_after_the_watching() -> None:
    # two pairs watched a 600 s video whole (1,200 s), then its catalog duration became 300 s
    assert watch_depth(1200, 2 * 300) == 100
    assert watch_depth(599.4, 600) == 100 and watch_depth(594, 600) == 99  # rounding is still half up


def test_startup_percentiles_are_the_nearest_rank_of_the_expanded_times() -> None:
    """``percentiles_ms`` (one pass, both ranks) gives the ⌈p·n⌉-th smallest time's bin, as the
    startups listed one by one would; empty and zero bins count for nothing."""
    import math
    import random

    rng = random.Random(7)
    assert metrics.percentiles_ms({}, (0.5, 0.9)) == (None, None)
    assert metrics.percentiles_ms({100: 0}, (0.5,)) == (None,)
    assert metrics.percentiles_ms({30: 1, 10: 1}, (0.5, 0.9)) == (10, 30)
    for _ in range(300):
        bins = {rng.randrange(0, 3000, 10): rng.choice([0, 1, 1, 2, 5, 40]) for _ in range(rng.randint(1, 30))}
        times = sorted(b for b, c in bins.items() for _ in range(c))
        want = tuple(times[max(1, math.ceil(round(p * len(times), 9))) - 1] if times else None for p in (0.5, 0.9))
        assert metrics.percentiles_ms(bins, (0.5, 0.9)) == want
        assert (metrics.percentile_ms(bins, 0.5), metrics.percentile_ms(bins, 0.9)) == want
