"""Where ingest CPU goes, per event, without HTTP: decode+enrich, sessionize, journal, loading DuckDB.

Builds the real parts (``services.build`` on a fresh data dir, one video in the catalog) and
pushes /collect bodies shaped like ``bench/collect.lua`` (every request a new load of N events)
through the calls the server makes (``Collector.from_request``, then ``Ingest._process`` on a
group of G requests, one group commit, which ends in the journal's append and fsync). Every
L groups the loader moves the journal into DuckDB (Arrow, insert, commit) while this
script waits for it, as a reader would. Each stage is timed in CPU time of the whole process
(``time.process_time``: DuckDB's own threads included, time spent waiting for the disk or
for other processes not), which on a shared machine moves far less than wall time. Prints
µs of CPU per event for each stage, median over the commits.

    python bench/ingest_stages.py [--events 20] [--group 32] [--rounds 150] [--load-every 30]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from watchdepth import ingest as ingest_module
from watchdepth import services as svc
from watchdepth.config import Settings
from watchdepth.store import duckdb as duckdb_store

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


def body(n: int, sid: str) -> bytes:
    events = []
    for i in range(n):
        e: dict[str, object] = {"type": "load" if i == 0 else ("play" if i == 1 else "progress"),
                                "video_id": "bench-video", "session_id": sid, "load_id": sid + "-l", "seq": i}
        if i:
            e["position"] = (i - 1) * 5
        events.append(e)
    return msgspec.json.encode(events)


class Clock:
    """CPU seconds per stage name, for the current commit."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[name] += time.process_time() - start
        return timed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20, help="events per request")
    ap.add_argument("--group", type=int, default=32, help="requests per group commit")
    ap.add_argument("--rounds", type=int, default=150, help="group commits measured")
    ap.add_argument("--load-every", type=int, default=30, help="group commits per DuckDB load (the server: 20,000 events)")
    args = ap.parse_args()
    duckdb_store.LOAD_MIN_EVENTS = 10**9  # the loader goes only when this script waits for it
    duckdb_store.LOAD_LINGER_SECONDS = 3600.0
    s = svc.build(Settings(data_dir=Path(tempfile.mkdtemp())))
    s.catalog.create("projects", {"id": "bench", "name": "bench"})
    s.catalog.create("videos", {"id": "bench-video", "project_id": "bench", "title": "b", "duration": 3600})
    ing = s.ingest
    ing.rebuild()
    clock = Clock()
    ing.sessionizer.apply = clock.wrap("sessionize (apply)", ing.sessionizer.apply)  # type: ignore[method-assign]
    ing._hydrate = clock.wrap("session look-up (hydrate)", ing._hydrate)  # type: ignore[method-assign]
    ingest_module.collect_order = clock.wrap("processing order", ingest_module.collect_order)
    write = s.store.write_batch
    per: dict[str, list[float]] = defaultdict(list)
    counter = 0
    since_load = 0
    for round_no in range(args.rounds + 3):
        bodies = []
        for _ in range(args.group):
            counter += 1
            bodies.append(body(args.events, f"s{counter}"))
        clock.spent.clear()
        start = time.process_time()
        jobs = [(s.collector.from_request(b, peer_ip="127.0.0.1", x_forwarded_for=None, user_agent=UA,
                                          referer=None, received_at=int(time.time() * 1000)), "collect")
                for b in bodies]
        clock.spent["decode + validate + enrich"] = time.process_time() - start
        start = time.process_time()
        s.store.write_batch = clock.wrap("journal: encode + write + fsync", write)  # type: ignore[method-assign]
        ing._process(jobs)
        clock.spent["_process total"] = time.process_time() - start
        since_load += args.events * args.group
        if round_no == 2:  # warm-up: the first load costs ~0.4 s more (DuckDB's first Arrow scan)
            s.store.wait_loaded()  # type: ignore[attr-defined]
            since_load = 0
        elif round_no > 2 and (round_no - 2) % args.load_every == 0:
            start = time.process_time()
            s.store.wait_loaded()  # type: ignore[attr-defined]
            per["loader: Arrow + DuckDB insert + commit"].append((time.process_time() - start) / since_load * 1e6)
            since_load = 0
        if round_no < 3:
            continue  # warm-up
        n = args.events * args.group
        inside = sum(v for k, v in clock.spent.items() if k not in ("_process total", "decode + validate + enrich"))
        clock.spent["rest of _process"] = clock.spent["_process total"] - inside
        for name, sec in clock.spent.items():
            per[name].append(sec / n * 1e6)
    print(f"{args.events} events/request, {args.group} requests/commit ({args.events * args.group} events), "
          f"{args.rounds} commits, a DuckDB load every {args.load_every}; CPU µs/event, median")
    order = ["decode + validate + enrich", "session look-up (hydrate)", "processing order", "sessionize (apply)",
             "journal: encode + write + fsync", "rest of _process", "loader: Arrow + DuckDB insert + commit"]
    total = 0.0
    for name in order:
        value = statistics.median(per[name])
        total += value
        print(f"  {name:30} {value:8.2f}")
    print(f"  {'total (no HTTP)':30} {total:8.2f}  -> {1e6 / total:,.0f} events/s per core")
    s.close()


if __name__ == "__main__":
    main()
