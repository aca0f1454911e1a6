"""Where ingest time goes, per event, without HTTP: decode+enrich, sessionize, Arrow, DuckDB commit.

Builds the real parts (``services.build`` on a fresh data dir, one video in the catalog) and
pushes /collect bodies shaped like ``bench/collect.lua`` (every request a new load of N events)
through the same calls the server makes, in group commits of G requests. Prints µs/event for
each stage, median of the rounds.

    python bench/ingest_stages.py [--events 20] [--group 50] [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import msgspec

from watchdepth import services as svc
from watchdepth.config import Settings
from watchdepth.sessionize import collect_order

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--group", type=int, default=50, help="requests per group commit")
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    s = svc.build(Settings(data_dir=Path(tempfile.mkdtemp())))
    s.catalog.create("projects", {"id": "bench", "name": "bench"})
    s.catalog.create("videos", {"id": "bench-video", "project_id": "bench", "title": "b", "duration": 3600})
    ing = s.ingest
    ing.rebuild()
    per: dict[str, list[float]] = defaultdict(list)
    counter = 0
    for _ in range(args.rounds):
        bodies = []
        for _ in range(args.group):
            counter += 1
            bodies.append(body(args.events, f"s{counter}"))
        n = args.events * args.group
        t0 = time.perf_counter()
        jobs = [(s.collector.from_request(b, peer_ip="127.0.0.1", x_forwarded_for=None, user_agent=UA,
                                          referer=None, received_at=int(time.time() * 1000)), "collect")
                for b in bodies]
        t1 = time.perf_counter()
        ing._process(jobs)  # sessionize + write_batch (timed inside through step_seconds)
        t2 = time.perf_counter()
        per["collect (decode+enrich)"].append((t1 - t0) / n * 1e6)
        per["ingest._process total"].append((t2 - t1) / n * 1e6)
        for name, sec in ing.last_timings.items() if hasattr(ing, "last_timings") else ():
            per["  " + name].append(sec / n * 1e6)
    print(f"{args.events} events/request, {args.group} requests/commit, {args.rounds} commits; µs/event (median)")
    for name, values in per.items():
        print(f"{name:32} {statistics.median(values):8.2f}")
    total = statistics.median(per["collect (decode+enrich)"]) + statistics.median(per["ingest._process total"])
    print(f"{'total':32} {total:8.2f}  -> {1e6 / total:,.0f} events/s on one core")
    s.close()


if __name__ == "__main__":
    main()
