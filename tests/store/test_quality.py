"""The quality numbers of docs/metrics.md §7 stored and summed alike on both backends.

Events go through the real sessionizer into the real store (``store`` is DuckDB and
ClickHouse), and are asked before ``maintain`` (facts), after it (rollups), and over a
period off the day grid (rollups and facts edges). Worked by hand; ``T0`` is Monday
2024-01-01 00:00 UTC; v1 is a video of 100 s.
"""

from __future__ import annotations

from typing import Any

from tests.sessionize.helpers import DAY, HOUR, SECOND, T0, Player
from tests.store.test_cohort import catalog, store_events
from watchdepth.query import metrics
from watchdepth.store.base import SUMS, Aggregate

D1, D2 = T0, T0 + DAY


def quality(store: Any, start: int, end: int, dims: tuple[str, ...] = (), bucket: str | None = None) -> dict:
    """Group key -> the §7 fields, startup percentiles from the stored bins."""
    q: dict[str, Any] = {"start_ms": start, "end_ms": end, "dims": dims, "bucket": bucket}
    got = store.aggregate(Aggregate(**q))
    keys = len(got.columns) - len(SUMS)
    bins_got = store.aggregate(Aggregate(**{**q, "dims": (*dims, "startup_bin"), "sums": ("startups",)}))
    at = keys + 1 + SUMS.index("startups")
    bins: dict[tuple, dict[int, int]] = {}
    for r in bins_got.rows:
        if r[keys] is not None and r[at]:
            bins.setdefault(tuple(r[:keys]), {})[int(r[keys])] = int(r[at])
    out = {}
    for r in got.rows:
        k = tuple(r[:keys])
        m = metrics.derive(dict(zip(SUMS, r[keys:])), bins.get(k, {}))
        out[k] = {f: m[f] for f in metrics.QUALITY_FIELDS}
    return out


def events(store: Any) -> None:
    catalog(store)
    # Day 1, Brazil: A starts in 1.23 s, stalls 1.5 s and 0.5 s (the second sent when the page closed)
    a = Player("A", "A1", "v1", duration=100.0, t=D1 + 10 * HOUR, country="BR")
    # Day 1, Germany: B starts in 0.4 s, watches 20 s without a stall
    b = Player("B", "B1", "v1", duration=100.0, t=D1 + 11 * HOUR, country="DE")
    # Day 1, Germany: C plays, a fatal error before the first frame: a failure and an exit
    c = Player("C", "C1", "v1", duration=100.0, t=D1 + 12 * HOUR, country="DE")
    # Day 1 23:59:59, Brazil: D plays; its startup (2.0 s) comes on day 2: no exit on day 1
    d = Player("D", "D1", "v1", duration=100.0, t=D2 - SECOND, country="BR")
    store_events(
        store,
        [
            a.load(),
            a.play(0),
            a.event("startup", ms=1234),
            a.progress(10),
            a.event("stall", ms=1500, position=10.0),
            a.progress(20),
            a.event("stall", ms=500, position=20.0),
        ],
        [b.load(), b.play(0), b.event("startup", ms=400), b.progress(20)],
        [c.load(), c.play(0), c.event("error", code="MEDIA_ERR_SRC_NOT_SUPPORTED", fatal=True)],
        [d.play(0, t=D2 - SECOND), d.event("startup", ms=2000, t=D2 + SECOND), d.progress(9, t=D2 + 10 * SECOND)],
    )


# Day 1: loads A, B, C (D has no load event): 3; watch time A 20 + B 20 = 40 s; stalls 2 s;
# startups A 1.23, B 0.40: median (nearest rank, 1st of 2) 0.40, p90 (2nd) 1.23;
# rebuffer 2 / (2 + 40) = 4.76 % -> 4.8; failures 1 (C) of 3 loads = 33.3 %;
# exits: A +1-1, B +1-1, C +1, D +1-1 (its startup on day 2 still closes day 1's cohort) = 1.
DAY1 = {
    "startup_time": 0.4,
    "startup_time_p90": 1.23,
    "buffering_count": 2,
    "buffering_time": 2.0,
    "rebuffer_ratio": 4.8,
    "playback_failures": 1,
    "failure_rate": 33.3,
    "exits_before_start": 1,
}
# Day 2: D's startup 2.0 s and 9 s of watch time; no load event, no cohort of its own.
DAY2 = {
    "startup_time": 2.0,
    "startup_time_p90": 2.0,
    "buffering_count": 0,
    "buffering_time": 0.0,
    "rebuffer_ratio": 0.0,
    "playback_failures": 0,
    "failure_rate": 0.0,
    "exits_before_start": 0,
}


def test_quality_by_day_total_and_country_from_facts_and_rollups(store: Any) -> None:
    events(store)

    def check() -> None:
        by_day = quality(store, D1, D2 + DAY, bucket="day")
        assert by_day == {(D1,): DAY1, (D2,): DAY2}
        (total,) = quality(store, D1, D2 + DAY).values()
        assert total["startup_time"] == 1.23 and total["startup_time_p90"] == 2.0  # 0.4, 1.23, 2.0
        assert total["buffering_count"] == 2 and total["exits_before_start"] == 1
        assert total["rebuffer_ratio"] == 3.9  # 2 / (2 + 40 + 9) = 3.92 %
        by_country = quality(store, D1, D2, dims=("country",))
        assert by_country[("BR",)]["buffering_count"] == 2 and by_country[("DE",)]["buffering_count"] == 0
        assert by_country[("DE",)]["playback_failures"] == 1 and by_country[("DE",)]["failure_rate"] == 50.0
        assert by_country[("BR",)]["startup_time"] == 1.23 and by_country[("DE",)]["startup_time"] == 0.4
        assert by_country[("DE",)]["exits_before_start"] == 1 and by_country[("BR",)]["exits_before_start"] == 0
        # off the day grid: day 1 09:00 to day 2 12:00 (rollups for whole units, facts for the edges)
        (edge,) = quality(store, D1 + 9 * HOUR, D2 + 12 * HOUR).values()
        assert edge["buffering_count"] == 2 and edge["startup_time_p90"] == 2.0 and edge["exits_before_start"] == 1

    check()
    store.maintain()
    check()
