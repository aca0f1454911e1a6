"""What the commit marker of the ClickHouse store costs: write_batch, session_log, recover.

Input: ``--events N --batch SIZE...`` (batches from ``bench/clickhouse_bench.py``'s generator).
For each size, rounds alternate between the store as shipped (events, facts, rollups, then the
marker row of ``batches``) and the same store with the marker insert skipped (the write path
before schema version 2), each round in a fresh chDB database of one directory, so both see
the same machine load. Then ``session_log`` of 200 stored sessions with and without the
marker check (one extra look-up in ``batches``), and one ``maintain()`` (``recover`` over the
recent window), and 50 marker inserts alone. Output: a markdown table of medians on stdout.

    python bench/clickhouse_marker_bench.py --events 20000 --batch 100 --batch 1000
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyarrow as pa  # noqa: E402

from bench.clickhouse_bench import batches  # noqa: E402
from watchdepth.store.clickhouse import ClickHouseStore, Target  # noqa: E402

_ids = itertools.count()


def load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def fresh(chdb_dir: Path, marker: bool) -> ClickHouseStore:
    store = ClickHouseStore(Target("chdb", f"mk{os.getpid()}_{next(_ids)}", path=str(chdb_dir)))
    if not marker:
        real = store.insert_arrow
        store.insert_arrow = lambda table, data: None if table == "batches" else real(table, data)  # type: ignore[method-assign]
    return store


def timed_writes(store: ClickHouseStore, wbs: list[Any]) -> float:
    """ms per write_batch (after one warm-up batch)."""
    store.write_batch(wbs[0])
    t = time.perf_counter()
    for b in wbs[1:]:
        store.write_batch(b)
    return (time.perf_counter() - t) / (len(wbs) - 1) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--batch", type=int, action="append")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    chdb_dir = Path(tempfile.mkdtemp(prefix="markerbench"))
    print(f"marker, {load()}")
    print("| events per write_batch | batches timed | ms per batch, no marker | ms per batch, with marker | ratio |")
    print("|---:|---:|---:|---:|---:|")
    last = None
    for size in args.batch or [100, 1000]:
        wbs = batches(args.events, size)
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for marker in (False, True):
                store = fresh(chdb_dir, marker)
                times[marker].append(timed_writes(store, wbs))
                if marker:
                    last, sessions = store, sorted({e.session_id for b in wbs for e in b.events})
                else:
                    store.close()
        a, b = statistics.median(times[False]), statistics.median(times[True])
        print(f"| {size} | {len(wbs) - 1} | {a:.1f} | {b:.1f} | {b / a:.2f} |", flush=True)
    assert last is not None
    ids = sessions[:200]
    plain = {True: [], False: []}  # type: dict[bool, list[float]]
    real = last._committed
    for _ in range(args.rounds * 2):
        for check in (False, True):
            last._committed = real if check else (lambda got: got)  # type: ignore[method-assign]
            t = time.perf_counter()
            n = sum(1 for _ in last.session_log(ids))
            plain[check].append((time.perf_counter() - t) * 1000)
    last._committed = real  # type: ignore[method-assign]
    a, b = statistics.median(plain[False]), statistics.median(plain[True])
    print(
        f"\nsession_log of {len(ids)} sessions ({n} events): {a:.1f} ms without the marker check, "
        f"{b:.1f} ms with it ({b / a:.2f}x)"
    )
    one = []
    for _ in range(50):  # the marker alone: one row into ``batches``, as write_batch inserts it
        t = time.perf_counter()
        last.insert_arrow("batches", pa.table({"ingest_batch": pa.array([1], pa.uint64())}))
        one.append((time.perf_counter() - t) * 1000)
    print(f"one marker insert: median {statistics.median(one):.1f} ms of 50")
    t = time.perf_counter()
    last.maintain()
    print(f"maintain() (recover over the last 2 h window): {(time.perf_counter() - t) * 1000:.1f} ms")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
