"""Where ingest CPU goes, per event, without HTTP: decode+enrich, sessionize, journal, loading DuckDB.

Builds the real parts (``services.build`` on a fresh data dir, one video in the catalog) and
pushes /collect bodies shaped like ``bench/collect.lua`` (every request a new load of N events)
through the calls the server makes (``Collector.from_request``, then ``Ingest._process`` on a
group of G requests, one group commit, which ends in the journal's append and fsync). The
store's loader thread meanwhile does what it does in ``serve``: it converts each journaled
batch to Arrow and loads DuckDB in large transactions.

The stages on this thread are timed in this thread's CPU time (``time.thread_time``); the
loader's share is the rest of the process's CPU time over the run (the loader thread and
DuckDB's own threads), after a warm-up load. CPU time moves far less than wall time on a
shared machine. Prints µs of CPU per event: the median over commits for the stages, the
whole run's figure for the loader.

    python bench/ingest_stages.py [--events 20] [--group 32] [--rounds 300]
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

from watchdepth.config import Settings
from watchdepth.serve import ingest as ingest_module
from watchdepth.serve import services as svc

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


def body(n: int, sid: str) -> bytes:
    events = []
    for i in range(n):
        e: dict[str, object] = {
            "type": "load" if i == 0 else ("play" if i == 1 else "progress"),
            "video_id": "bench-video",
            "session_id": sid,
            "load_id": sid + "-l",
            "seq": i,
        }
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
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[name] += time.thread_time() - start

        return timed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20, help="events per request")
    ap.add_argument("--group", type=int, default=32, help="requests per group commit")
    ap.add_argument("--rounds", type=int, default=300, help="group commits measured")
    args = ap.parse_args()
    s = svc.build(Settings(data_dir=Path(tempfile.mkdtemp())))
    s.catalog.create("projects", {"id": "bench", "name": "bench"})
    s.catalog.create("videos", {"id": "bench-video", "project_id": "bench", "title": "b", "duration": 3600})
    ing = s.ingest
    ing.rebuild()
    clock = Clock()
    ing.sessionizer.apply = clock.wrap("sessionize (apply)", ing.sessionizer.apply)  # type: ignore[method-assign]
    ing._hydrate = clock.wrap("session look-up (hydrate)", ing._hydrate)  # type: ignore[method-assign]
    ingest_module.collect_order = clock.wrap("processing order", ingest_module.collect_order)
    s.store.write_batch = clock.wrap("journal: encode + write + fsync", s.store.write_batch)  # type: ignore[method-assign]
    per: dict[str, list[float]] = defaultdict(list)
    counter = 0
    n = args.events * args.group
    process0 = thread0 = 0.0
    for round_no in range(args.rounds + 3):
        if round_no == 3:  # after a warm-up load (the first costs ~0.4 s more: DuckDB's first Arrow scan)
            s.store.wait_loaded()  # type: ignore[attr-defined]
            process0, thread0 = time.process_time(), time.thread_time()
        bodies = []
        for _ in range(args.group):
            counter += 1
            bodies.append(body(args.events, f"s{counter}"))
        clock.spent.clear()
        start = time.thread_time()
        jobs = [
            (
                s.collector.from_request(
                    b,
                    peer_ip="127.0.0.1",
                    x_forwarded_for=None,
                    user_agent=UA,
                    referer=None,
                    received_at=int(time.time() * 1000),
                ),
                "collect",
            )
            for b in bodies
        ]
        clock.spent["decode + validate + enrich"] = time.thread_time() - start
        start = time.thread_time()
        ing._process(jobs)
        clock.spent["rest of _process"] = (
            time.thread_time() - start - sum(clock.spent.values()) + clock.spent["decode + validate + enrich"]
        )
        if round_no < 3:
            continue
        for name, sec in clock.spent.items():
            per[name].append(sec / n * 1e6)
    s.store.wait_loaded()  # type: ignore[attr-defined]
    loader = (time.process_time() - process0) - (time.thread_time() - thread0)
    print(
        f"{args.events} events/request, {args.group} requests/commit ({n} events), {args.rounds} commits; "
        f"CPU µs/event (median over commits; the loader: the whole run)"
    )
    order = [
        "decode + validate + enrich",
        "session look-up (hydrate)",
        "processing order",
        "sessionize (apply)",
        "journal: encode + write + fsync",
        "rest of _process",
    ]
    total = 0.0
    for name in order:
        value = statistics.median(per[name])
        total += value
        print(f"  {name:40} {value:8.2f}")
    value = loader / (n * args.rounds) * 1e6
    total += value
    print(f"  {'loader: Arrow + DuckDB (other threads)':40} {value:8.2f}")
    print(f"  {'total (no HTTP)':40} {total:8.2f}  -> {1e6 / total:,.0f} events/s per core")
    s.close()


if __name__ == "__main__":
    main()
