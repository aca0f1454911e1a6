"""Ingest through nginx into 1 and into 2 collector processes sharing one ClickHouse (the chhttp fixture).

Everything runs on this machine: ``tests/scale/chhttp.py`` (ClickHouse's HTTP interface over
one chDB session, a process of its own), Debian's nginx with the shipped
``deploy/nginx/watchdepth.conf`` (``hash $arg_s consistent``), N ``watchdepth serve --role
collector`` processes, and wrk as the load generator. Each request is one new session of
``--events`` tracker events posted to ``/collect?s=<session>``, so every event is validated,
sessionized and stored (events, facts, rollups by materialized view).

Prints, per setup: requests/s, events/s, latency p50/p99, the CPU seconds each process used
(collectors, chhttp, nginx, wrk) and events per collector CPU-second (the sizing figure:
events/s one collector core sustains); then bytes per stored event on disk (events table
alone, and everything: events + facts + rollups), from ``system.parts``.

    python bench/scale_bench.py [--seconds 15] [--connections 32] [--events 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest_bench import wrk_figures  # noqa: E402 - after the path set-up above
from tests.conftest import free_port  # noqa: E402
from tests.scale.conftest import start_chhttp  # noqa: E402
from tests.scale.topology import Nginx, Node  # noqa: E402

#: Every request a new load, with the tracker's ?s= so that nginx routes by session.
LUA = ROOT / "bench" / "collect.lua"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children (nginx: master + worker via the group)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def nginx_cpu(master: int) -> float:
    total = cpu_seconds(master)
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    total += cpu_seconds(int(d.name))
            except (OSError, ValueError):
                pass
    return total


def wrk(url: str, events: int, seconds: int, conns: int, tag: str) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    proc = subprocess.run(
        ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(LUA), url],
        capture_output=True,
        text=True,
        env={**os.environ, "EVENTS": str(events), "TAG": tag, "SESSION_PARAM": "1"},
        check=True,
    )
    return wrk_figures(proc.stdout, events), time.perf_counter() - started


def migrate(dsn: str) -> None:
    subprocess.run([sys.executable, "-m", "watchdepth.cli", "migrate", "--store", dsn], check=True, capture_output=True)


def seed_catalog(dsn: str) -> None:
    from watchdepth.catalog.service import Catalog
    from watchdepth.store.clickhouse import ClickHouseStore

    store = ClickHouseStore.from_dsn(dsn)
    cat = Catalog(store)
    cat.create("projects", {"id": "bench", "name": "bench"})
    cat.create("videos", {"id": "bench-video", "project_id": "bench", "title": "b", "duration": 3600})
    store.close()


def disk(port: int, db: str) -> dict[str, float]:
    import clickhouse_connect

    c = clickhouse_connect.get_client(host="127.0.0.1", port=port)
    rows = dict(
        c.query(
            f"SELECT table, sum(rows) FROM system.parts WHERE database = '{db}' AND active GROUP BY table"
        ).result_rows
    )
    size = dict(
        c.query(
            f"SELECT table, sum(bytes_on_disk) FROM system.parts WHERE database = '{db}' AND active GROUP BY table"
        ).result_rows
    )
    c.close()
    events = int(rows.get("events", 0))
    return {
        "events": events,
        "events_bytes": int(size.get("events", 0)),
        "all_bytes": sum(int(v) for v in size.values()),
        "facts": int(rows.get("facts", 0)),
    }


def run_setup(n: int, port: int, root: Path, args: argparse.Namespace, chpid: int) -> dict[str, object]:
    db = f"bench{n}_{int(time.time())}"
    dsn = f"clickhouse://default:@127.0.0.1:{port}/{db}"
    migrate(dsn)
    seed_catalog(dsn)
    nodes = [Node(root / f"{db}-c{i}", "collector", dsn).start() for i in range(n)]
    nginx = Nginx(root / f"{db}-nginx", [c.port for c in nodes], [free_port()]).start()
    try:
        before = {
            "collectors": [cpu_seconds(c.proc.pid) for c in nodes],
            "ch": cpu_seconds(chpid),  # type: ignore[union-attr]
            "nginx": nginx_cpu(nginx.proc.pid),
        }  # type: ignore[union-attr]
        w, wall = wrk(nginx.url, args.events, args.seconds, args.connections, db)
        after = {
            "collectors": [cpu_seconds(c.proc.pid) for c in nodes],
            "ch": cpu_seconds(chpid),  # type: ignore[union-attr]
            "nginx": nginx_cpu(nginx.proc.pid),
        }  # type: ignore[union-attr]
        time.sleep(1)
        d = disk(port, db)
    finally:
        nginx.stop()
        for c in nodes:
            c.stop()
    coll = [a - b for a, b in zip(after["collectors"], before["collectors"])]  # type: ignore[arg-type]
    stored = d["events"]
    return {
        "n": n,
        **w,
        "wall": wall,
        "collector_cpu": coll,
        "ch_cpu": after["ch"] - before["ch"],  # type: ignore[operator]
        "nginx_cpu": after["nginx"] - before["nginx"],
        "stored": stored,  # type: ignore[operator]
        "per_core": stored / sum(coll) if sum(coll) else 0.0,
        **d,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--events", type=int, default=20)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    ch, port = start_chhttp(root / "chdb")
    rows = []
    try:
        for n in (1, 2):
            rows.append(run_setup(n, port, root, args, ch.pid))
    finally:
        ch.terminate()
        ch.wait()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(
        f"load average at the end: {' '.join(load)}; {args.events} events/request, {args.connections} connections, "
        f"{args.seconds} s"
    )
    print(
        f"{'collectors':>10} {'req/s':>7} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} "
        f"{'collector CPU s':>16} {'chhttp CPU s':>12} {'nginx CPU s':>11} {'ev/collector-CPU-s':>18}"
    )
    for r in rows:
        cpu = "+".join(f"{x:.1f}" for x in r["collector_cpu"])  # type: ignore[attr-defined]
        print(
            f"{r['n']:>10} {r['req_s']:7.0f} {r['events_s']:9.0f} {r['p50']:7.1f} {r['p99']:7.1f} {r['errors']:7d} "
            f"{cpu:>16} {r['ch_cpu']:12.1f} {r['nginx_cpu']:11.1f} {r['per_core']:18.0f}"
        )
    for r in rows:
        ev = max(int(r["events"]), 1)  # type: ignore[call-overload]
        print(
            f"{r['n']} collector(s): {r['events']} events stored ({r['facts']} facts); on disk "
            f"{r['events_bytes'] / ev:.1f} B/event for the events table, {r['all_bytes'] / ev:.1f} B/event in all"
        )


if __name__ == "__main__":
    main()
