"""Soak: a real ``watchdepth serve`` under steady mixed traffic for minutes; does it stay flat?

One fresh data dir, one server on loopback, and for ``--minutes``:

- **tracker traffic** at ``--rate`` events/s (default 16,000: half the 32k events/s that
  ``bench/ingest_bench.py`` measured at 20 events per request): ``--viewers`` concurrent
  players, each a load that sends ``load`` + ``play`` and then ``progress`` heartbeats in
  batches of ``--batch`` events, lives ``--load-seconds`` and is replaced by a new viewer
  (a new session), so sessions turn over as on a real site;
- **API reads**: an overview, a grouped table and a realtime read, one of them every 100 ms;
- **one SSE client per second**: opens ``/v1/analytics/realtime/stream``, reads its first
  event, closes.

RSS (``/proc/PID/status`` VmRSS) is sampled every 5 s; every minute it prints the last
sample, the requests and errors of each kind so far, and p50/p99 latency of the minute. At
the end: RSS after warm-up (the first ``--warmup`` minutes) as the median of the first
minute after it against the median of the last minute, and the least-squares slope of all
samples after it (a leak grows steadily; DuckDB's and Arrow's buffers swing by tens of MB
either way, so one sample against another says little), errors (any non-2xx, timeout or
dropped connection), and the exact-count check: every acknowledged event applied, none lost.

    python bench/soak.py [--minutes 10] [--rate 16000] [--viewers 400] [--batch 20] [--warmup 2]

The load generator is Python (httpx, asyncio) and shares the 2 cores with the server: if the
achieved rate printed falls short of ``--rate``, the generator is the limit, not the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.ingest_bench import start  # noqa: E402  (one way to start a server and wait for it)

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
PORT = 8911


@dataclass
class Kind:
    """Counters and this minute's latencies of one kind of request."""

    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    def record(self, seconds: float, ok: bool) -> None:
        self.requests += 1
        self.errors += 0 if ok else 1
        self.latencies.append(seconds * 1000)

    def minute(self) -> str:
        lat, self.latencies = sorted(self.latencies), []
        if not lat:
            return "      -       -"
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return f"{statistics.median(lat):7.1f} {p99:7.1f}"


@dataclass
class Soak:
    base: str
    token: str
    rate: float
    viewers: int
    batch: int
    load_seconds: float
    tracker: Kind = field(default_factory=Kind)
    api: Kind = field(default_factory=Kind)
    sse: Kind = field(default_factory=Kind)
    acknowledged: int = 0
    failures: list[str] = field(default_factory=list)

    async def viewer(self, client: httpx.AsyncClient, no: int, stop: float) -> None:
        """One player slot: a load after another, each sending its events at its share of the rate."""
        per_viewer = self.rate / self.viewers  # events/s of one player
        generation = 0
        while time.monotonic() < stop:
            sid = f"soak-{no}-{generation}"
            generation += 1
            born, seq = time.monotonic(), 0
            while time.monotonic() < stop and time.monotonic() - born < self.load_seconds:
                events = []
                for _ in range(self.batch):
                    typ = "load" if seq == 0 else "play" if seq == 1 else "progress"
                    ev = {"type": typ, "video_id": f"soak-video-{no % 20}", "session_id": sid,
                          "load_id": sid + "-l", "seq": seq}
                    if seq:
                        ev["position"] = (seq - 1) * 0.25
                    events.append(ev)
                    seq += 1
                t0 = time.monotonic()
                ok = await self._post(client, events)
                self.tracker.record(time.monotonic() - t0, ok)
                await asyncio.sleep(max(0.0, self.batch / per_viewer - (time.monotonic() - t0)))

    async def _post(self, client: httpx.AsyncClient, events: list[dict[str, object]]) -> bool:
        try:
            r = await client.post(self.base + "/collect", json=events, headers={"User-Agent": UA})
        except httpx.HTTPError as exc:
            self.failures.append(f"collect: {type(exc).__name__}")
            return False
        if r.status_code != 202:
            self.failures.append(f"collect: {r.status_code} {r.text[:120]}")
            return False
        self.acknowledged += r.json()["accepted"]
        return True

    async def reader(self, client: httpx.AsyncClient, stop: float) -> None:
        paths = ["/v1/analytics/overview?period=today&group_time=hour",
                 "/v1/analytics?period=today&group_by=video_id&order=views.desc",
                 "/v1/analytics/realtime"]
        h = {"Authorization": f"Bearer {self.token}"}
        i = 0
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                r = await client.get(self.base + paths[i % len(paths)], headers=h)
                ok = r.status_code == 200
                if not ok:
                    self.failures.append(f"api: {r.status_code} {r.text[:120]}")
            except httpx.HTTPError as exc:
                ok = False
                self.failures.append(f"api: {type(exc).__name__}")
            self.api.record(time.monotonic() - t0, ok)
            i += 1
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))

    async def sse_clients(self, stop: float) -> None:
        h = {"Authorization": f"Bearer {self.token}"}
        while time.monotonic() < stop:
            t0 = time.monotonic()
            ok = False
            try:
                async with httpx.AsyncClient(timeout=10) as client:  # a new connection each time
                    async with client.stream("GET", self.base + "/v1/analytics/realtime/stream", headers=h) as r:
                        if r.status_code == 200:
                            async for line in r.aiter_lines():
                                if line.startswith("data:"):
                                    ok = True
                                    break
                        else:
                            self.failures.append(f"sse: {r.status_code}")
            except httpx.HTTPError as exc:
                self.failures.append(f"sse: {type(exc).__name__}")
            self.sse.record(time.monotonic() - t0, ok)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) / 1024  # type: ignore[union-attr]


def applied(base: str) -> int:
    text = httpx.get(base + "/metrics").text
    return int(re.search(r'watchdepth_events_total\{outcome="applied"\} (\d+)', text).group(1))  # type: ignore[union-attr]


def setup(base: str, data: Path) -> str:
    token = subprocess.run([sys.executable, "-m", "watchdepth.cli", "token", "create", "--data", str(data)],
                           capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    h = {"Authorization": f"Bearer {token}"}
    httpx.post(base + "/v1/projects", json={"id": "soak", "name": "soak"}, headers=h).raise_for_status()
    for i in range(20):
        httpx.post(base + "/v1/videos", json={"id": f"soak-video-{i}", "project_id": "soak", "title": f"v{i}",
                                              "duration": 3600}, headers=h).raise_for_status()
    return token


async def sample_rss(pid: int, stop: float, out: list[tuple[float, float]]) -> None:
    start = time.monotonic()
    while time.monotonic() < stop:
        out.append(((time.monotonic() - start) / 60, rss_mb(pid)))
        await asyncio.sleep(5)


async def run(soak: Soak, pid: int, minutes: float) -> list[tuple[float, float]]:
    """The soak itself; returns the RSS samples as (minute, MB)."""
    stop = time.monotonic() + minutes * 60
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    rss: list[tuple[float, float]] = []
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        tasks = [asyncio.create_task(soak.viewer(client, n, stop)) for n in range(soak.viewers)]
        tasks += [asyncio.create_task(soak.reader(client, stop)), asyncio.create_task(soak.sse_clients(stop)),
                  asyncio.create_task(sample_rss(pid, stop, rss))]
        print(f"{'min':>4} {'RSS MB':>7} {'events':>9} {'ev/s':>7} {'trk p50':>7} {'p99':>7} "
              f"{'api p50':>7} {'p99':>7} {'sse p50':>7} {'p99':>7} {'errors':>6} {'load':>5}")
        last_ack, last_t, minute = 0, time.monotonic(), 0
        while time.monotonic() < stop:
            await asyncio.sleep(min(60.0, max(0.0, stop - time.monotonic())))
            minute += 1
            now = time.monotonic()
            errors = soak.tracker.errors + soak.api.errors + soak.sse.errors
            print(f"{minute:4d} {rss_mb(pid):7.1f} {soak.acknowledged:9d} {(soak.acknowledged - last_ack) / (now - last_t):7.0f} "
                  f"{soak.tracker.minute()} {soak.api.minute()} {soak.sse.minute()} {errors:6d} "
                  f"{os.getloadavg()[0]:5.1f}", flush=True)
            last_ack, last_t = soak.acknowledged, now
        await asyncio.gather(*tasks)
    return rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=16000, help="tracker events/s offered")
    ap.add_argument("--viewers", type=int, default=400)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--load-seconds", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=2, help="minutes before RSS is expected to be flat")
    args = ap.parse_args()
    base = f"http://127.0.0.1:{PORT}"
    data = Path(tempfile.mkdtemp())
    server = start([sys.executable, "-m", "watchdepth.cli", "serve", "--data", str(data), "--port", str(PORT)],
                   base + "/healthz")
    try:
        soak = Soak(base, setup(base, data), args.rate, args.viewers, args.batch, args.load_seconds)
        rss = asyncio.run(run(soak, server.pid, args.minutes))
        stored = applied(base)
    finally:
        server.terminate()
        server.wait()
    after = [(t, mb) for t, mb in rss if t >= args.warmup] or rss
    first = statistics.median(mb for t, mb in after if t < after[0][0] + 1)
    last = statistics.median(mb for t, mb in after if t > after[-1][0] - 1)
    slope = statistics.linear_regression([t for t, _ in after], [mb for _, mb in after]).slope if len(after) > 1 else 0.0
    print(f"\noffered {args.rate:.0f} events/s for {args.minutes:g} min; achieved "
          f"{soak.acknowledged / (args.minutes * 60):.0f} events/s")
    print(f"RSS after warm-up ({args.warmup:g} min), median of its first minute -> of the last: {first:.1f} -> "
          f"{last:.1f} MB ({(last - first) / first * 100:+.1f} %); range {min(mb for _, mb in after):.1f}-"
          f"{max(mb for _, mb in after):.1f} MB; slope {slope:+.2f} MB/min")
    print(f"requests: tracker {soak.tracker.requests}, api {soak.api.requests}, sse {soak.sse.requests}; "
          f"errors {len(soak.failures)}" + (f" (first: {soak.failures[0]})" if soak.failures else ""))
    print(f"acknowledged {soak.acknowledged} events, applied {stored}: "
          + ("exact" if stored == soak.acknowledged else f"MISMATCH ({stored - soak.acknowledged:+d})"))


if __name__ == "__main__":
    main()
