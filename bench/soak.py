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

The server runs with a probe thread (this script, ``--serve-probed``) that every 5 s writes
its RSS (all, anonymous, mapped files) and DuckDB's own account of its memory
(``duckdb_memory()``: rows not yet checkpointed, the cache of the file, the rest). Every
minute the script prints RSS, DuckDB's memory, the rows not yet checkpointed, the requests and
errors so far, and p50/p99 latency of the minute. At the end, for the minutes after warm-up
(``--warmup``): each figure as the median of the first minute against the median of the last
and the least-squares slope; RSS just after each checkpoint (on a long run, by window);
errors (any non-2xx, timeout or dropped connection); and the exact-count check: every
acknowledged event applied, none lost.

Why the parts: DuckDB keeps the rows it has not checkpointed in memory until a checkpoint
writes them to the file and frees them: the store's ``maintain`` (every 30 s) checkpoints once
the WAL holds 8 MB, DuckDB itself at 128 MB, so RSS saws up and down by ~15-25 MB at 1,500
events/s (by ~140 MB before ``maintain`` checkpointed); two minutes picked at random compare
different points of that cycle. RSS just after each checkpoint, and RSS less what DuckDB
reports, are comparable from one cycle to the next.

    python bench/soak.py [--minutes 10] [--rate 16000] [--viewers 400] [--batch 20] [--warmup 2] [--heap]
    python bench/soak.py --report DATA_DIR [--warmup 2]

The probe's lines stay in the data dir (its path is printed at the end): ``--report`` reads
them again, with another warm-up say, without running anything. The end of each report
also gives every figure's median by 10-minute window, which shows on a long run whether a
figure levels off.

``--heap`` also runs the server under ``tracemalloc`` (slower) and prints, every minute, the
allocation sites whose live Python memory grew most since its first minute.

The load generator is Python (httpx, asyncio) and shares the 2 cores with the server: if the
achieved rate printed falls short of ``--rate``, the generator is the limit, not the server.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.ingest_bench import start  # noqa: E402  (one way to start a server and wait for it)

#: Where the probe in the server writes a line of JSON every PROBE_EVERY seconds.
PROBE_FILE = "soak-probe.jsonl"
#: When the traffic began (epoch seconds), for ``--report``: minutes are counted from it.
BEGAN_FILE = "soak-began"
#: The windows of the report's last table, minutes.
WINDOW_MINUTES = 10
PROBE_EVERY = 5.0
MB = 1 << 20
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
                    ev = {
                        "type": typ,
                        "video_id": f"soak-video-{no % 20}",
                        "session_id": sid,
                        "load_id": sid + "-l",
                        "seq": seq,
                    }
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
        paths = [
            "/v1/analytics/overview?period=today&group_time=hour",
            "/v1/analytics?period=today&group_by=video_id&order=views.desc",
            "/v1/analytics/realtime",
        ]
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
                async with (
                    httpx.AsyncClient(timeout=10) as client,  # a new connection each time
                    client.stream("GET", self.base + "/v1/analytics/realtime/stream", headers=h) as r,
                ):
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


# -- the probe: runs in the server's process ------------------------------------------------


def serve_probed(argv: list[str]) -> None:
    """``watchdepth serve argv...`` with a probe thread started once its store is open.
    ``--heap`` (first): under tracemalloc, one frame per allocation."""
    heap = argv[:1] == ["--heap"]
    argv = argv[1:] if heap else argv
    if heap:
        tracemalloc.start(1)
    from watchdepth import cli
    from watchdepth.serve import services

    build = services.build

    def build_then_probe(settings: Any, *args: Any, **kwargs: Any) -> Any:
        built = build(settings, *args, **kwargs)
        threading.Thread(
            target=probe, args=(settings.db_path, settings.data_dir / PROBE_FILE, heap), daemon=True, name="soak-probe"
        ).start()
        return built

    services.build = build_then_probe  # type: ignore[assignment]
    sys.exit(cli.main(["serve", *argv]))


def probe(db: Path, out: Path, heap: bool) -> None:
    """Every PROBE_EVERY s, a line: the process's RSS (all, anonymous, mapped files), DuckDB's
    buffer manager by tag (through a second connection to the same database instance), and
    under ``--heap`` the Python heap with, every minute, the 12 allocation sites that grew
    most since the first minute's snapshot."""
    import duckdb

    con = duckdb.connect(str(db))
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]
    first: tracemalloc.Snapshot | None = None
    grew: list[str] = []
    with out.open("a") as f:
        for n in itertools.count(1):
            time.sleep(PROBE_EVERY)
            tags = dict(con.execute("SELECT tag, memory_usage_bytes FROM duckdb_memory()").fetchall())
            row: dict[str, Any] = {
                "t": time.time(),
                **{k: status_mb(os.getpid(), field) for k, field in RSS.items()},
                "duckdb_mb": sum(tags.values()) / MB,
                "duckdb_limit": limit,
                "unflushed_mb": tags.get("IN_MEMORY_TABLE", 0) / MB,
                "cached_mb": tags.get("BASE_TABLE", 0) / MB,
                **malloc_mb(),
            }
            if heap:
                row["python_mb"] = tracemalloc.get_traced_memory()[0] / MB
                if n % round(60 / PROBE_EVERY) == 0:
                    snap = tracemalloc.take_snapshot()
                    first = first or snap
                    grew = [
                        f"{d.size_diff / 1024:+.0f} KiB {d.count_diff:+d} blocks {d.traceback[0]}"
                        for d in snap.compare_to(first, "lineno")[:12]
                    ]
                row["grew"] = grew
            f.write(json.dumps(row) + "\n")
            f.flush()


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def malloc_mb() -> dict[str, float]:
    """glibc malloc (DuckDB allocates through it too), over all its arenas: what is handed out
    (``malloc_used_mb``) and what is free but kept in the arenas (``malloc_kept_mb``: memory a
    leak does not explain, fragmentation does). {} without glibc 2.33+."""
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return {}
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return {"malloc_used_mb": (info.uordblks + info.hblkhd) / MB, "malloc_kept_mb": info.fordblks / MB}


def probed(data: Path) -> list[dict[str, Any]]:
    """The probe's lines so far."""
    try:
        return [json.loads(line) for line in (data / PROBE_FILE).read_text().splitlines()]
    except FileNotFoundError:
        return []


#: What the probe reads of /proc/PID/status: all resident memory, the anonymous part (heaps,
#: stacks: what a leak grows) and the mapped files (libraries: constant).
RSS = {"rss_mb": "VmRSS", "anon_mb": "RssAnon", "file_mb": "RssFile"}


def status_mb(pid: int, field: str) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(field + r":\s+(\d+) kB", text).group(1)) / 1024  # type: ignore[union-attr]


def applied(base: str) -> int:
    text = httpx.get(base + "/metrics").text
    return int(re.search(r'watchdepth_events_total\{outcome="applied"\} (\d+)', text).group(1))  # type: ignore[union-attr]


def setup(base: str, data: Path) -> str:
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
    httpx.post(base + "/v1/projects", json={"id": "soak", "name": "soak"}, headers=h).raise_for_status()
    for i in range(20):
        httpx.post(
            base + "/v1/videos",
            json={"id": f"soak-video-{i}", "project_id": "soak", "title": f"v{i}", "duration": 3600},
            headers=h,
        ).raise_for_status()
    return token


async def run(soak: Soak, data: Path, minutes: float) -> None:
    """The soak itself, a line a minute (memory from the probe's latest line)."""
    stop = time.monotonic() + minutes * 60
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        tasks = [asyncio.create_task(soak.viewer(client, n, stop)) for n in range(soak.viewers)]
        tasks += [asyncio.create_task(soak.reader(client, stop)), asyncio.create_task(soak.sse_clients(stop))]
        print(
            f"{'min':>4} {'RSS MB':>7} {'duckdb':>7} {'unflsh':>7} {'cache':>7} {'python':>7} {'events':>9} {'ev/s':>7} "
            f"{'trk p50':>7} {'p99':>7} {'api p50':>7} {'p99':>7} {'sse p50':>7} {'p99':>7} {'errors':>6} {'load':>5}"
        )
        last_ack, last_t, minute = 0, time.monotonic(), 0
        while time.monotonic() < stop:
            await asyncio.sleep(min(60.0, max(0.0, stop - time.monotonic())))
            minute += 1
            now = time.monotonic()
            errors = soak.tracker.errors + soak.api.errors + soak.sse.errors
            p = (probed(data) or [{}])[-1]
            print(
                f"{minute:4d} {p.get('rss_mb', NAN):7.1f} {p.get('duckdb_mb', NAN):7.1f} {p.get('unflushed_mb', NAN):7.1f} "
                f"{p.get('cached_mb', NAN):7.1f} {p.get('python_mb', NAN):7.1f} {soak.acknowledged:9d} {(soak.acknowledged - last_ack) / (now - last_t):7.0f} "
                f"{soak.tracker.minute()} {soak.api.minute()} {soak.sse.minute()} {errors:6d} "
                f"{os.getloadavg()[0]:5.1f}",
                flush=True,
            )
            for line in p.get("grew", []):
                print("       grew since minute 1:", line)
            last_ack, last_t = soak.acknowledged, now
        await asyncio.gather(*tasks)


NAN = float("nan")


def growth(rows: list[dict[str, Any]], key: str) -> str:
    """One figure: the median of the first minute of ``rows`` -> of the last, the range, the slope."""
    points = [(r["min"], r[key]) for r in rows if key in r]
    if len(points) < 2:
        return f"{key}: -"
    first = statistics.median(v for t, v in points if t < points[0][0] + 1)
    last = statistics.median(v for t, v in points if t > points[-1][0] - 1)
    slope = statistics.linear_regression([t for t, _ in points], [v for _, v in points]).slope
    return (
        f"{key:>14} {first:6.1f} -> {last:6.1f} MB ({(last - first) / (first or 1) * 100:+5.1f} %); "
        f"range {min(v for _, v in points):.1f}-{max(v for _, v in points):.1f}; slope {slope:+.2f} MB/min"
    )


def report_memory(rows: list[dict[str, Any]], began: float, warmup: float) -> None:
    """RSS after warm-up, then its parts; and RSS just after each DuckDB checkpoint, when the
    rows not yet checkpointed (which DuckDB holds in memory, up to the store's checkpoint
    threshold) are back near zero: the same point of each cycle, so comparable."""
    for r in rows:
        r["min"] = (r["t"] - began) / 60
        r["rss_less_duckdb_mb"] = r["rss_mb"] - r["duckdb_mb"]
    after = [r for r in rows if r["min"] >= warmup] or rows
    print(f"after warm-up ({warmup:g} min), median of its first minute -> of the last:")
    for key in (
        "rss_mb",
        "anon_mb",
        "file_mb",
        "duckdb_mb",
        "unflushed_mb",
        "cached_mb",
        "rss_less_duckdb_mb",
        "malloc_used_mb",
        "malloc_kept_mb",
        "python_mb",
    ):
        print("  " + growth(after, key))
    checkpoints = after_checkpoints(rows)
    for r in checkpoints:
        r["rss_after_checkpoint_mb"] = r["rss_mb"]
    print(
        "just after each checkpoint (min: RSS, RSS less DuckDB's, DuckDB's cache of the file):",
        "; ".join(
            f"{r['min']:.1f}: {r['rss_mb']:.0f}, {r['rss_less_duckdb_mb']:.0f}, {r['cached_mb']:.0f} MB"
            for r in checkpoints
        )
        if len(checkpoints) <= MAX_LISTED_CHECKPOINTS
        else f"{len(checkpoints)} of them, their RSS by window below",
    )
    print(f"DuckDB memory_limit {rows[-1]['duckdb_limit']}")
    print(f"median by {WINDOW_MINUTES}-minute window, MB:")
    print(f"  {'minutes':>9} " + " ".join(f"{k.removesuffix('_mb'):>16}" for k in WINDOWED))
    for first in range(0, int(rows[-1]["min"]) + 1, WINDOW_MINUTES):
        window = [r for r in rows if first <= r["min"] < first + WINDOW_MINUTES]
        if window:
            cells = [statistics.median([r[k] for r in window if k in r] or [NAN]) for k in WINDOWED]
            print(f"  {first:>4}-{first + WINDOW_MINUTES:<4} " + " ".join(f"{c:16.1f}" for c in cells))


#: The figures of the report's table by window (RSS after a checkpoint: of the checkpoints in it).
WINDOWED = (
    "rss_mb",
    "rss_after_checkpoint_mb",
    "rss_less_duckdb_mb",
    "cached_mb",
    "malloc_used_mb",
    "malloc_kept_mb",
    "python_mb",
)
#: A longer run's checkpoints are not listed one by one.
MAX_LISTED_CHECKPOINTS = 24


def after_checkpoints(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each checkpoint (the rows not yet checkpointed fell by more than half), the line of
    least RSS in the 30 s after it (the allocator hands freed memory back within seconds)."""
    ends = [i for i in range(1, len(rows)) if rows[i]["unflushed_mb"] < rows[i - 1]["unflushed_mb"] / 2 - 8]
    return [min((r for r in rows[i:] if r["t"] - rows[i]["t"] <= 30), key=lambda r: r["rss_mb"]) for i in ends]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=16000, help="tracker events/s offered")
    ap.add_argument("--viewers", type=int, default=400)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--load-seconds", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=2, help="minutes before RSS is expected to be flat")
    ap.add_argument("--heap", action="store_true", help="the server under tracemalloc: Python heap and its growth")
    ap.add_argument("--report", type=Path, metavar="DATA_DIR", help="report again on an earlier run's probe lines")
    args = ap.parse_args()
    if args.report:
        rows = probed(args.report)
        if not rows:
            sys.exit(f"no probe lines in {args.report / PROBE_FILE}")
        began = args.report / BEGAN_FILE
        report_memory(rows, float(began.read_text()) if began.exists() else rows[0]["t"], args.warmup)
        return
    base = f"http://127.0.0.1:{PORT}"
    data = Path(tempfile.mkdtemp())
    server = start(
        [
            sys.executable,
            __file__,
            "--serve-probed",
            *(["--heap"] if args.heap else []),
            "--data",
            str(data),
            "--port",
            str(PORT),
        ],
        base + "/healthz",
    )
    try:
        soak = Soak(base, setup(base, data), args.rate, args.viewers, args.batch, args.load_seconds)
        began = time.time()
        (data / BEGAN_FILE).write_text(repr(began))
        asyncio.run(run(soak, data, args.minutes))
        stored = applied(base)
    finally:
        server.terminate()
        server.wait()
    print(
        f"\noffered {args.rate:.0f} events/s for {args.minutes:g} min; achieved "
        f"{soak.acknowledged / (args.minutes * 60):.0f} events/s"
    )
    report_memory(probed(data), began, args.warmup)
    print(
        f"requests: tracker {soak.tracker.requests}, api {soak.api.requests}, sse {soak.sse.requests}; "
        f"errors {len(soak.failures)}" + (f" {dict(Counter(soak.failures))}" if soak.failures else "")
    )
    print(
        f"acknowledged {soak.acknowledged} events, applied {stored}: "
        + ("exact" if stored == soak.acknowledged else f"MISMATCH ({stored - soak.acknowledged:+d})")
    )
    print(f"probe lines kept in {data} (report again: --report {data})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-probed"]:
        serve_probed(sys.argv[2:])
    else:
        main()
