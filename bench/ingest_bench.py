"""Ingest end to end (HTTP, validate, enrich, sessionize, durable write) against the parse-only ceiling.

Runs wrk (Debian's package) on loopback, side by side in one run, against bare parse-only
endpoints (``bench/parse_only_app.py``: uvicorn + msgspec, through Starlette's routing as the
API is served, and as a raw ASGI callable as ``serve`` answers /collect) and a real
``watchdepth serve`` on a fresh data dir, at 20 and at 1 event/request.
Every request is a new load (``bench/collect.lua``), so every event is validated, enriched,
sessionized and durably stored before its 202; the script checks on ``/metrics`` that none
was taken for a duplicate. Each end-to-end run at saturation (every connection sends its
next request as soon as the last is answered) is followed by a paced one at about half its
rate (``--pace``; each connection pauses between requests), whose latency is the service's
own rather than that of a queue of 32 connections.

Besides wall-clock figures (requests/s, events/s, p50/p99 from wrk) it prints the server
process's CPU time per event (user + system, from /proc): on a shared, noisy machine that
figure moves much less than throughput does, and 1e6 / (µs per event) is what one core
could sustain. wrk's own CPU per event is printed beside it (wrk shares the 2 cores), and
"2-core max" = 2e6 / (server + wrk µs per event): the events/s that this work per event would
allow if both cores did nothing else and the server used both perfectly, an upper bound. The
load average is printed next to every row.

    python bench/ingest_bench.py [--seconds 10] [--connections 32] [--events 20,1] [--pace 0.5]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

HERE = Path(__file__).parent
TICK = os.sysconf("SC_CLK_TCK")


def wait(url: str) -> None:
    for _ in range(600):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children_cpu() -> float:
    """User + system CPU time of this script's finished children: wrk's, after each run."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(url: str, events: int, seconds: int, conns: int, pid: int, delay_ms: int = 0) -> dict[str, Any]:
    cpu0, wrk0 = cpu_seconds(pid), children_cpu()
    out = subprocess.run(
        ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(HERE / "collect.lua"), url],
        capture_output=True,
        text=True,
        env={**os.environ, "EVENTS": str(events), "DELAY_MS": str(delay_ms)},
        check=True,
    ).stdout
    cpu, wrk_cpu = cpu_seconds(pid) - cpu0, children_cpu() - wrk0
    r = wrk_figures(out, events)
    n = max(r["requests"] * events, 1)
    return {**r, "cpu_us_event": cpu / n * 1e6, "wrk_us_event": wrk_cpu / n * 1e6, "load": os.getloadavg()[0]}


def wrk_figures(out: str, events: int) -> dict[str, Any]:
    """What ``wrk --latency`` printed: requests/s, events/s, requests, p50/p99 ms, non-2xx answers."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    return {
        "req_s": rps,
        "events_s": rps * events,
        "p50": _ms(lat["50"]),
        "p99": _ms(lat["99"]),
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "requests": total,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def start(cmd: list[str], url: str) -> subprocess.Popen[bytes]:
    port = urlsplit(url).port
    with socket.socket() as probe:  # a server left on the port would answer in place of this one
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is already taken: stop what listens there first")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait(url)
    return proc


def applied(base: str) -> int:
    text = httpx.get(base + "/metrics").text
    return int(re.search(r'watchdepth_events_total\{outcome="applied"\} (\d+)', text).group(1))  # type: ignore[union-attr]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--events", default="20,1", help="events per request, comma-separated")
    ap.add_argument("--pace", type=float, default=0.5, help="the paced run's rate, as a share of the saturated one")
    args = ap.parse_args()
    sizes = [int(n) for n in args.events.split(",")]
    ceiling_url, wd_url = "http://127.0.0.1:8901", "http://127.0.0.1:8902"
    ceiling = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.parse_only_app:app",
            "--port",
            "8901",
            "--log-level",
            "warning",
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ],
        ceiling_url + "/collect",
    )
    raw_url = "http://127.0.0.1:8903"
    raw = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.parse_only_app:raw_app",
            "--port",
            "8903",
            "--log-level",
            "warning",
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ],
        raw_url + "/collect",
    )
    data = Path(tempfile.mkdtemp())
    server = start(
        [sys.executable, "-m", "watchdepth.cli", "serve", "--data", str(data), "--port", "8902"], wd_url + "/healthz"
    )
    rows = []
    try:
        token = (
            subprocess.run(
                [sys.executable, "-m", "watchdepth.cli", "token", "create", "--data", str(data)],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        h = {"Authorization": f"Bearer {token}"}
        httpx.post(wd_url + "/v1/projects", json={"id": "bench", "name": "bench"}, headers=h).raise_for_status()
        httpx.post(
            wd_url + "/v1/videos",
            json={"id": "bench-video", "project_id": "bench", "title": "b", "duration": 3600},
            headers=h,
        ).raise_for_status()
        for n in sizes:  # ceiling then end to end, for each size: side by side in time
            rows.append(("parse-only ceiling", n, wrk(ceiling_url, n, args.seconds, args.connections, ceiling.pid)))
            rows.append(("parse-only, raw ASGI", n, wrk(raw_url, n, args.seconds, args.connections, raw.pid)))
            before = applied(wd_url)
            r = wrk(wd_url, n, args.seconds, args.connections, server.pid)
            stored = applied(wd_url) - before
            if stored < r["requests"] * n - n * args.connections:  # wrk counts only answered requests
                print(f"warning: {r['requests'] * n} events answered but {stored} applied", file=sys.stderr)
            rows.append(("watchdepth end to end", n, r))
            # Then paced at about half that rate: latency below saturation, not the queue's.
            delay = max(1, round(args.connections * 1000 / (r["req_s"] * args.pace) - r["p50"]))
            rows.append(
                (
                    f"watchdepth paced ~{args.pace:.0%}",
                    n,
                    wrk(wd_url, n, args.seconds, args.connections, server.pid, delay_ms=delay),
                )
            )
    finally:
        for proc in (ceiling, raw, server):
            proc.terminate()
            proc.wait()
    print(
        f"{'endpoint':24} {'ev/req':>6} {'req/s':>8} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>8} "
        f"{'non-2xx':>7} {'CPU µs/ev':>9} {'wrk µs/ev':>9} {'2-core max':>10} {'load':>5}"
    )
    for name, n, r in rows:
        print(
            f"{name:24} {n:6d} {r['req_s']:8.0f} {r['events_s']:9.0f} {r['p50']:7.1f} {r['p99']:8.1f} "
            f"{r['errors']:7d} {r['cpu_us_event']:9.1f} {r['wrk_us_event']:9.1f} "
            f"{2e6 / (r['cpu_us_event'] + r['wrk_us_event']):10.0f} {r['load']:5.1f}"
        )


if __name__ == "__main__":
    main()
