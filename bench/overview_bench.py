"""The workspace overview alone, p50 over October 2026 (UTC and Europe/Berlin), per data dir.

Input: data dirs made by ``bench/datagen.py``. Output: one printed line per dir and period:
which code ran ("new": overview with ``parts``, else "old"), p50 ms of 11 runs after one
warm-up of ``analytics.overview(store, scope, "day", 0)`` (all parts), the load average.
To compare with an older commit in one sitting, run it alternately with that commit's
sources first on the path (it changes no data; the dirs must not be open in a ``serve``):

    git archive c595422 src | tar -x -C /tmp/oldsrc
    PYTHONPATH=/tmp/oldsrc/src python bench/overview_bench.py /work/benchdata/10M /work/benchdata/100M
    python bench/overview_bench.py /work/benchdata/10M /work/benchdata/100M
"""

from __future__ import annotations

import inspect
import os
import statistics
import sys
import time
from datetime import datetime, timezone

from watchdepth.query import analytics
from watchdepth.query.periods import Period
from watchdepth.store.duckdb import DuckDBStore

START = int(datetime(2026, 10, 1, tzinfo=timezone.utc).timestamp() * 1000)
END = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp() * 1000)
BERLIN_START, BERLIN_END = START - 2 * 3_600_000, END - 3_600_000  # Oct 2026 in Europe/Berlin


def main() -> None:
    label = "new" if "parts" in inspect.signature(analytics.overview).parameters else "old"
    for d in sys.argv[1:]:
        store = DuckDBStore(os.path.join(d, "watchdepth.duckdb"))
        for name, scope in (("month", analytics.Scope(Period(START, END, "UTC"))),
                            ("berlin", analytics.Scope(Period(BERLIN_START, BERLIN_END, "Europe/Berlin")))):
            analytics.overview(store, scope, "day", 0)
            times = []
            for _ in range(11):
                t = time.perf_counter()
                analytics.overview(store, scope, "day", 0)
                times.append((time.perf_counter() - t) * 1000)
            print(f"{label} {os.path.basename(d.rstrip('/'))} {name} p50 {statistics.median(times):.1f} ms "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
        store.close()


if __name__ == "__main__":
    main()
