"""The workspace overview alone, p50 over October 2026 (UTC and Europe/Berlin), per data dir.

Input: data dirs made by ``bench/datagen.py``. Output: one printed line per dir and period:
the ``--label`` (default: the ``src`` dir on the path), p50 wall ms and p50 process CPU ms
(all threads: the work, steadier than wall time on a busy machine) of ``--runs`` runs after
one warm-up of ``analytics.overview(store, scope, "day", 0)`` (all parts), the load average.
To compare with an older commit in one sitting, run it alternately with that commit's
sources first on the path (it changes no data; the dirs must not be open in a ``serve``):

    git archive c595422 src | tar -x -C /tmp/oldsrc
    PYTHONPATH=/tmp/oldsrc/src python bench/overview_bench.py /work/benchdata/10M /work/benchdata/100M --label old
    PYTHONPATH=src python bench/overview_bench.py /work/benchdata/10M /work/benchdata/100M --label new
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime

from watchdepth.query import analytics
from watchdepth.query.periods import Period
from watchdepth.store.duckdb import DuckDBStore

START = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
END = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
BERLIN_START, BERLIN_END = START - 2 * 3_600_000, END - 3_600_000  # Oct 2026 in Europe/Berlin


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", help="data dirs from bench/datagen.py")
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--label", default=os.path.dirname(os.path.dirname(analytics.__file__)))
    args = ap.parse_args()
    for d in args.dirs:
        store = DuckDBStore(os.path.join(d, "watchdepth.duckdb"))
        for name, scope in (
            ("month", analytics.Scope(Period(START, END, "UTC"))),
            ("berlin", analytics.Scope(Period(BERLIN_START, BERLIN_END, "Europe/Berlin"))),
        ):
            analytics.overview(store, scope, "day", 0)
            times, cpu = [], []
            for _ in range(args.runs):
                t, c = time.perf_counter(), time.process_time()
                analytics.overview(store, scope, "day", 0)
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
            print(
                f"{args.label} {os.path.basename(d.rstrip('/'))} {name} p50 {statistics.median(times):.1f} ms "
                f"cpu {statistics.median(cpu):.1f} ms load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        store.close()


if __name__ == "__main__":
    main()
