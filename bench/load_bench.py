"""What the loader costs DuckDB per event, by DuckDB checkpoint threshold.

The embedded store's loader thread (``store.loader``) moves journaled batches into DuckDB,
LOAD_MIN_EVENTS at a time. This script does the same loads into a fresh store for each
threshold asked: ``bench.datagen``'s events and facts (decoded to plain strings, with an
``id`` per event, as the loader's Arrow tables have them), ``--load`` events per transaction,
through ``DuckDBStore.bulk_load`` (the loader's SQL). DuckDB checkpoints inside the commit
that passes the threshold, so a checkpoint's cost lands in the load that triggers it.

Prints the process's CPU time per event (all threads: DuckDB's own too) for each
``--every`` events loaded and for the whole run, the slowest load, and the file's size.
CPU time moves far less than wall time on a shared machine.

    python bench/load_bench.py [--events 3000000] [--load 20000] [--thresholds 16MB,128MB]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench import datagen
from watchdepth.store.duckdb import DuckDBStore


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded: the loader's tables hold plain strings."""
    return pa.table(
        {
            name: col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col
            for name, col in zip(table.column_names, table.columns)
        }
    )


def workload(n_events: int, seed: int = 1) -> tuple[pa.Table, pa.Table]:
    cat = datagen.catalog(seed)
    world = datagen.World(seed, cat["content"])
    rng = np.random.default_rng(seed)
    n_loads = int(n_events / datagen.MEAN_K * 1.05) + 10
    t0 = datagen.END_MS - 30 * datagen.DAY_MS
    events, facts = datagen.chunk(world, rng, 0, n_loads, t0, datagen.END_MS, 1)
    events = plain(events.slice(0, n_events))
    ids = pc.binary_join_element_wise(events["load_id"], pc.cast(events["seq"], pa.string()), ":")
    events = events.set_column(events.column_names.index("id"), "id", ids)
    return events, plain(facts)


def run(events: pa.Table, facts: pa.Table, threshold: str, load: int, every: int) -> None:
    with tempfile.TemporaryDirectory(prefix="wd-load-") as tmp:
        store = DuckDBStore(Path(tmp) / "watchdepth.duckdb", journal=False, checkpoint_threshold=threshold)
        fact_t = facts["t"]
        start_cpu = mark_cpu = cpu_seconds()
        start_wall = time.perf_counter()
        slowest = 0.0
        f_from = 0
        print(f"checkpoint_threshold {threshold}")
        for i in range(0, events.num_rows, load):
            ev = events.slice(i, load)
            # facts up to this slice's last event time (both tables are in time order)
            f_to = int(pc.sum(pc.less_equal(fact_t, ev["t"][-1])).as_py() or 0)
            fa = facts.slice(f_from, f_to - f_from)
            f_from = f_to
            t = time.perf_counter()
            store.bulk_load(ev, fa)
            slowest = max(slowest, time.perf_counter() - t)
            done = i + ev.num_rows
            if done % every == 0:
                now = cpu_seconds()
                print(f"  {done:>10,} events: {(now - mark_cpu) / every * 1e6:5.1f} µs CPU/event", flush=True)
                mark_cpu = now
        total_cpu = cpu_seconds() - start_cpu
        wall = time.perf_counter() - start_wall
        size = (Path(tmp) / "watchdepth.duckdb").stat().st_size
        store.close()
    n = events.num_rows
    print(
        f"  all {n:,}: {total_cpu / n * 1e6:.1f} µs CPU/event, {wall / n * 1e6:.1f} µs wall/event, "
        f"slowest load {slowest * 1000:.0f} ms, file {size / 1e6:.0f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=3_000_000)
    ap.add_argument("--load", type=int, default=20_000, help="events per load (transaction)")
    ap.add_argument("--every", type=int, default=600_000, help="print a figure every this many events")
    ap.add_argument("--thresholds", default="16MB,128MB", help="DuckDB checkpoint_threshold values, comma-separated")
    args = ap.parse_args(argv)
    events, facts = workload(args.events)
    print(f"{events.num_rows:,} events, {facts.num_rows:,} facts, {args.load:,} events per load")
    for threshold in args.thresholds.split(","):
        run(events, facts, threshold, args.load, args.every)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
