"""ClickHouse (chDB) next to DuckDB: ingest through ``write_batch``, bytes per event, dashboard queries.

Input: ``insert`` builds realistic write batches (events and facts from ``bench/datagen.py``'s
generator) and times ``Store.write_batch`` into a fresh chDB database and a fresh DuckDB file,
at a given group-commit size (after one untimed warm-up batch). ``query DIR...`` takes data dirs made by ``bench/datagen.py``,
copies each into chDB with ``watchdepth copy`` (timed; skipped when already there), then asks
the dashboard questions of ``bench/query_bench.py`` through ``query.analytics`` on both stores
(p50 / p95 of ``--runs`` after one warm-up) and prints bytes on disk per event for both.
Output: markdown tables on stdout. chDB hosts one engine per process: every size lives in
its own database of one chDB directory (``--chdb``).

    python bench/clickhouse_bench.py insert --events 200000 --batch 100 --batch 1000
    python bench/clickhouse_bench.py query /work/benchdata/1M /work/benchdata/10M --chdb /work/benchdata/chdb
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from bench import datagen, query_bench  # noqa: E402
from watchdepth.catalog.service import Catalog  # noqa: E402
from watchdepth.collect.event import Event  # noqa: E402
from watchdepth.sessionize import Credit  # noqa: E402
from watchdepth.store import rows  # noqa: E402
from watchdepth.store.base import WriteBatch  # noqa: E402
from watchdepth.store.clickhouse import ClickHouseStore, Target  # noqa: E402
from watchdepth.store.duckdb import DuckDBStore  # noqa: E402


def load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


# -- insert ---------------------------------------------------------------------------------


def batches(n_events: int, size: int) -> list[WriteBatch]:
    """``n_events`` generated events and their facts, cut into write batches of ``size`` events."""
    cat = datagen.catalog(1)
    world = datagen._World(1, cat["content"])
    rng = np.random.default_rng(1)
    n_loads = int(n_events / datagen.MEAN_K * 1.02) + 10
    ev, fa = datagen.chunk(world, rng, 0, n_loads, datagen.START_MS, datagen.START_MS + 30 * datagen.DAY_MS, 1)
    ev = ev.slice(0, n_events)
    evs = ev.to_pydict()
    for c in ("t", "received_at"):
        evs[c] = ev.column(c).cast(pa.int64()).to_pylist()
    events = [Event(**{attr: evs[col][i] for attr, col, _ in rows.EVENT_COLUMNS}) for i in range(ev.num_rows)]
    fas = fa.to_pydict()
    fas["t"] = fa.column("t").cast(pa.int64()).to_pylist()
    credits = [Credit(fas["t"][i], fas["content_id"][i], fas["session_id"][i], fas["load_id"][i], fas["player_loads"][i],
                      fas["unique_views"][i], fas["views"][i], fas["watch_time"][i], fas["seg_start"][i], fas["seg_end"][i],
                      tuple(fas[d][i] for d in rows.FACT_DIMS)) for i in range(fa.num_rows)]
    out = []
    n_batches = max(1, len(events) // size)
    per_fact = len(credits) / len(events)
    for b in range(n_batches):
        lo, hi = b * size, min(len(events), (b + 1) * size)
        flo, fhi = int(lo * per_fact), int(hi * per_fact)
        out.append(WriteBatch(events[lo:hi], evs["status"][lo:hi], evs["run"][lo:hi], evs["log_seq"][lo:hi],
                              credits[flo:fhi]))
    return out


def bench_insert(n_events: int, sizes: list[int], chdb_dir: Path) -> None:
    print(f"insert, {load()}")
    print("| store | events per write_batch | batches timed | events/s (median of 3 rounds) | ms per batch |")
    print("|---|---:|---:|---:|---:|")
    for size in sizes:
        wbs = batches(n_events, size)
        n = sum(len(b.events) for b in wbs)
        for name in ("chDB", "DuckDB"):
            rates = []
            for r in range(3):
                tmp = Path(tempfile.mkdtemp())
                store: Any = (ClickHouseStore(Target("chdb", f"ins{size}_{r}", path=str(chdb_dir))) if name == "chDB"
                              else DuckDBStore(tmp / "w.duckdb"))
                store.write_batch(wbs[0])  # warm-up: the first insert creates parts and partitions
                t = time.perf_counter()
                for b in wbs[1:]:
                    store.write_batch(b)
                rates.append((n - len(wbs[0].events)) / (time.perf_counter() - t))
                store.close()
                shutil.rmtree(tmp)
            rate = sorted(rates)[1]
            print(f"| {name} | {size} | {len(wbs) - 1} | {rate:,.0f} | {size / rate * 1000:.1f} |", flush=True)
    print(f"after: {load()}")


# -- query ----------------------------------------------------------------------------------


def chdb_bytes(store: ClickHouseStore) -> dict[str, int]:
    got = store._run("SELECT table, sum(bytes_on_disk) FROM system.parts WHERE database = {d:String} AND active "
                     "GROUP BY table", {"d": store.database})
    return {t: int(b) for t, b in got}


def bench_query(dirs: list[Path], chdb_dir: Path, runs: int) -> None:
    from watchdepth.store.copy import copy

    print(f"query, before: {load()}")
    results = []
    for d in dirs:
        db = "e" + d.name.replace("-", "_")
        dsn = f"chdb://{chdb_dir}?database={db}"
        ch = ClickHouseStore.from_dsn(dsn)
        have = ch.count("events")
        ch.close()
        copy_s = None
        if not have:
            t = time.perf_counter()
            copy(d, dsn, progress=True)
            copy_s = time.perf_counter() - t
        ch = ClickHouseStore.from_dsn(dsn)
        duck = DuckDBStore(d / "watchdepth.duckdb")
        info = {"events": ch.count("events"), "facts": ch.count("facts"), "copy_s": copy_s,
                "duck_bytes": (d / "watchdepth.duckdb").stat().st_size, "ch_bytes": chdb_bytes(ch)}
        res = {}
        for name, store in (("chDB", ch), ("DuckDB", duck)):
            for q, fn in query_bench.questions(store, Catalog(store)).items():  # type: ignore[arg-type]
                res[(name, q)] = query_bench.timed(fn, runs)
        duck.close()
        ch.close()
        results.append((d, info, res))
        cb = info["ch_bytes"]
        print(f"{d}: {info['events']:,} events, {info['facts']:,} facts"
              + (f"; copied in {copy_s:.0f} s ({(info['events'] + info['facts']) / copy_s:,.0f} rows/s)" if copy_s else ""),
              flush=True)
        print(f"  bytes per event: DuckDB file {info['duck_bytes'] / info['events']:.1f}; chDB "
              f"{sum(cb.values()) / info['events']:.1f} (events {cb.get('events', 0) / info['events']:.1f}, "
              f"facts {cb.get('facts', 0) / info['events']:.1f}, rollups "
              f"{(cb.get('agg_hour', 0) + cb.get('agg_day', 0)) / info['events']:.1f})", flush=True)
    print(f"after: {load()}")
    print()
    print("| question | events | chDB p50 | chDB p95 | DuckDB p50 | DuckDB p95 | chDB / DuckDB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for q in query_bench.RAW:
        for _, info, res in results:
            c50, c95 = res[("chDB", q)]
            d50, d95 = res[("DuckDB", q)]
            print(f"| {q} | {info['events'] / 1e6:,.0f}M | {c50:.1f} | {c95:.1f} | {d50:.1f} | {d95:.1f} | {c50 / d50:.2f} |")
    print("(milliseconds, query.analytics over each store: what the API serves)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ins = sub.add_parser("insert")
    ins.add_argument("--events", type=int, default=200_000)
    ins.add_argument("--batch", type=int, action="append", default=[])
    ins.add_argument("--chdb", type=Path, default=None, help="chDB directory (default: a temporary one)")
    qry = sub.add_parser("query")
    qry.add_argument("dirs", nargs="+", type=Path)
    qry.add_argument("--chdb", type=Path, required=True, help="chDB directory holding one database per size")
    qry.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    if args.cmd == "insert":
        chdb_dir = args.chdb or Path(tempfile.mkdtemp())
        bench_insert(args.events, args.batch or [100, 1000], chdb_dir)
    else:
        bench_query(args.dirs, args.chdb.resolve(), args.runs)


if __name__ == "__main__":
    main()
