"""Ingest end to end (HTTP, validate, enrich, sessionize, durable write) against the parse-only ceiling.

Runs wrk (Debian's package) on loopback against: a bare parse-only Starlette app, and a real
``watchdepth serve`` on a fresh data dir, at 20 events/request and at 1 event/request.
Prints events/s and latency p50/p99 for each, side by side, from one run.

    python bench/ingest_bench.py [--seconds 15] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).parent


def wait(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def wrk(url: str, events: int, seconds: int, conns: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(HERE / "collect.lua"), url],
        capture_output=True, text=True, env={**os.environ, "EVENTS": str(events)}, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    return {"req_s": rps, "events_s": rps * events, "p50": _ms(lat["50"]), "p99": _ms(lat["99"]),
            "errors": int(non2xx.group(1)) if non2xx else 0}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def start(cmd: list[str], url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait(url)
    return proc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    rows = []
    ceiling = start([sys.executable, "-m", "uvicorn", "bench.parse_only_app:app", "--port", "8901", "--log-level", "warning",
                     "--no-access-log"], "http://127.0.0.1:8901/collect")
    try:
        for n in (20, 1):
            rows.append(("parse-only ceiling", n, wrk("http://127.0.0.1:8901", n, args.seconds, args.connections)))
    finally:
        ceiling.terminate()
    data = Path(tempfile.mkdtemp())
    server = start([sys.executable, "-m", "watchdepth.cli", "serve", "--data", str(data), "--port", "8902"],
                   "http://127.0.0.1:8902/healthz")
    try:
        token = subprocess.run([sys.executable, "-m", "watchdepth.cli", "token", "create", "--data", str(data)],
                               capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        h = {"Authorization": f"Bearer {token}"}
        httpx.post("http://127.0.0.1:8902/v1/projects", json={"id": "bench", "name": "bench"}, headers=h).raise_for_status()
        httpx.post("http://127.0.0.1:8902/v1/videos", json={"id": "bench-video", "project_id": "bench", "title": "b",
                                                             "duration": 3600}, headers=h).raise_for_status()
        for n in (20, 1):
            rows.append(("watchdepth end to end", n, wrk("http://127.0.0.1:8902", n, args.seconds, args.connections)))
    finally:
        server.terminate()
        server.wait()
    print(f"{'endpoint':24} {'ev/req':>6} {'req/s':>9} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, n, r in rows:
        print(f"{name:24} {n:6d} {r['req_s']:9.0f} {r['events_s']:10.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['errors']:8d}")


if __name__ == "__main__":
    main()
