"""Live analytics under load: 100k concurrent viewers, a heartbeat each every 10 s (10k events/s).

Two parts, printed side by side from one run:

1. In process (no HTTP, no database): the sessionizer's capacity for heartbeats of 100k
   active sessions (events/s through ``Sessionizer.apply``, watching-now included), the
   cost of a watching-now read with 100k sessions playing, and memory per viewer
   (tracemalloc: sessionizer state + the watching-now index).
2. Against a real ``watchdepth serve`` on loopback (fresh data dir): 100k viewers join
   (load + play), then send heartbeats at the target rate for ``--seconds``, batched
   ``--batch`` events per ``/collect`` request (the Python load generator cannot make
   10k requests/s; one tracker request per event is measured by ``bench/ingest_bench.py``).
   Meanwhile ``GET /v1/analytics/realtime`` is timed every 50 ms. Reports accepted
   events/s against the target, batch acknowledgement latency, realtime p50/p99, the
   watching-now count at the end (must equal the viewers), and server RSS per viewer.

    python bench/live_bench.py [--viewers 100000] [--seconds 30] [--heartbeat 10] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx
import msgspec

from watchdepth.collect.event import Event
from watchdepth.sessionize import Sessionizer, collect_order

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
CONTENTS = 100  # viewers spread over this many videos
T0 = 1_767_225_600_000


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def uptime() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


# -- part 1: in process -----------------------------------------------------------------------------


def _event(i: int, seq: int, typ: str, t: int, position: float | None) -> Event:
    sid = f"session-{i:012d}-0123456789abcdef"
    return Event(
        type=typ,
        content_id=f"video-{i % CONTENTS}",
        kind="video",
        project_id="p",
        session_id=sid,
        load_id=sid + "-load",
        seq=seq,
        t=t,
        received_at=t,
        position=position,
        content_duration=3600.0,
        country="DE",
        platform="desktop",
        os="Windows",
        browser="Chrome",
        domain="example.com",
        page="example.com/watch",
    )


def in_process(viewers: int, batch: int) -> dict[str, float]:
    s = Sessionizer()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for lo in range(0, viewers, batch):
        evs = [
            e
            for i in range(lo, min(viewers, lo + batch))
            for e in (_event(i, 0, "load", T0, None), _event(i, 1, "play", T0, 0.0))
        ]
        s.apply(evs, collect_order(evs))
    del evs
    gc.collect()
    per_viewer = (tracemalloc.get_traced_memory()[0] - base) / viewers
    live_bytes = _watching_index_bytes(s)
    tracemalloc.stop()
    # heartbeats: 3 rounds of one progress per viewer, in collect batches, timed around apply only
    rounds, spent = 3, 0.0
    for r in range(rounds):
        t = T0 + (r + 1) * 10_000
        batches = [
            [_event(i, 2 + r, "progress", t, 10.0 * (r + 1)) for i in range(lo, min(viewers, lo + batch))]
            for lo in range(0, viewers, batch)
        ]
        started = time.perf_counter()
        for evs in batches:
            s.apply(evs, collect_order(evs))
        spent += time.perf_counter() - started
    now = T0 + rounds * 10_000 + 5_000
    reads = []
    for k in range(1000):
        started = time.perf_counter()
        got = s.watching_now(now + k)
        reads.append((time.perf_counter() - started) * 1000)
    assert sum(got.values()) == viewers, sum(got.values())
    handler = asyncio.run(_handler_latency(s, now))
    return {
        **handler,
        "apply_eps": rounds * viewers / spent,
        "read_p50_ms": pct(reads, 50),
        "read_p99_ms": pct(reads, 99),
        "bytes_per_viewer": per_viewer,
        "index_bytes_per_viewer": live_bytes / viewers,
    }


async def _handler_latency(s: Sessionizer, now: int) -> dict[str, float]:
    """``GET /v1/analytics/realtime`` through the whole ASGI app in process (no socket), this state."""
    from watchdepth import config
    from watchdepth.serve import services
    from watchdepth.serve.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        svc = services.build(config.load(data_dir=Path(tmp)))
        svc.ingest.sessionizer = s
        svc.ingest.clock = lambda: now / 1000
        svc.catalog.create("projects", {"id": "p", "name": "Bench"})
        for k in range(CONTENTS):
            svc.catalog.create(
                "videos", {"id": f"video-{k}", "project_id": "p", "title": f"Video {k}", "duration": 3600}
            )
        secret, _ = svc.tokens.create("bench")
        transport = httpx.ASGITransport(app=create_app(svc))
        times = []
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers={"Authorization": f"Bearer {secret}"}
        ) as c:
            for _ in range(1000):
                started = time.perf_counter()
                r = await c.get("/v1/analytics/realtime")
                times.append((time.perf_counter() - started) * 1000)
        svc.close()
    assert r.json()["data"]["online"] == s.live.counts(now).total()
    return {"handler_p50_ms": pct(times, 50), "handler_p99_ms": pct(times, 99)}


def _watching_index_bytes(s: Sessionizer) -> int:
    """Bytes held by the watching-now index alone (its records, dict, heap, counter)."""
    live = s.live
    total = sys.getsizeof(live._latest) + sys.getsizeof(live._heap) + sys.getsizeof(live._by_content)
    for rec in live._latest.values():
        total += sys.getsizeof(rec)
    total += sum(sys.getsizeof(entry) for entry in live._heap)
    return total


# -- part 2: the real server ------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return int(so.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Viewers:
    """The load generator's view of the viewers: each one's next seq and position."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seq = [0] * n
        self.pos = [0.0] * n

    def events(self, ids: range, typ: str, step: float = 0.0) -> list[dict[str, object]]:
        out = []
        for i in ids:
            self.pos[i] += step
            e: dict[str, object] = {
                "type": typ,
                "video_id": f"v{i % CONTENTS}",
                "session_id": f"bench-{i}",
                "load_id": f"bench-{i}-l",
                "seq": self.seq[i],
            }
            if typ != "load":
                e["position"] = self.pos[i]
            self.seq[i] += 1
            out.append(e)
        return out


async def _post(c: httpx.AsyncClient, events: list[dict[str, object]], acks: list[float]) -> int:
    started = time.perf_counter()
    r = await c.post(
        "/collect", content=msgspec.json.encode(events), headers={"content-type": "text/plain", "user-agent": UA}
    )
    acks.append((time.perf_counter() - started) * 1000)
    if r.status_code != 202:
        raise SystemExit(f"/collect answered {r.status_code}: {r.text[:300]}")
    return int(r.json()["accepted"])


async def drive(url: str, token: str, viewers: int, seconds: float, heartbeat: float, batch: int) -> dict[str, float]:
    v = Viewers(viewers)
    limits = httpx.Limits(max_connections=16)
    out: dict[str, float] = {}
    async with (
        httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as c,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api,
    ):
        # join: load + play of every viewer, a few requests in flight
        acks: list[float] = []
        started = time.perf_counter()
        sem = asyncio.Semaphore(4)

        async def join(lo: int) -> int:
            async with sem:
                ids = range(lo, min(viewers, lo + batch // 2))
                evs = [e for pair in zip(v.events(ids, "load"), v.events(ids, "play")) for e in pair]
                return await _post(c, evs, acks)

        accepted = sum(await asyncio.gather(*(join(lo) for lo in range(0, viewers, batch // 2))))
        out["join_eps"] = accepted / (time.perf_counter() - started)
        # steady heartbeats: every 100 ms a tenth of a second's worth, while realtime is timed
        per_tick = viewers / heartbeat / 10
        latencies: list[float] = []
        acks = []
        stop = asyncio.Event()

        async def probe() -> None:
            while not stop.is_set():
                t = time.perf_counter()
                r = await api.get("/v1/analytics/realtime")
                latencies.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
                await asyncio.sleep(0.05)

        prober = asyncio.create_task(probe())
        queue: asyncio.Queue[list[dict[str, object]]] = asyncio.Queue()
        accepted_hb = 0

        async def sender() -> None:  # a few requests in flight, as a pool of tracker clients would keep
            nonlocal accepted_hb
            while True:
                evs = await queue.get()
                got = await _post(c, evs, acks)  # (not `x += await …`: that adds to a stale x)
                accepted_hb += got
                queue.task_done()

        senders = [asyncio.create_task(sender()) for _ in range(8)]
        sent, next_viewer, owed, tick = 0, 0, 0.0, 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:  # heartbeats fall due on schedule
            owed += per_tick
            n, owed = int(owed), owed - int(owed)
            while n > 0:
                k = min(n, batch)
                ids = [(next_viewer + j) % viewers for j in range(k)]
                next_viewer = (next_viewer + k) % viewers
                queue.put_nowait([e for i in ids for e in v.events(range(i, i + 1), "progress", heartbeat)])
                sent += k
                n -= k
            tick += 1
            await asyncio.sleep(max(0.0, started + tick * 0.1 - time.perf_counter()))
        elapsed = time.perf_counter() - started
        in_window = accepted_hb
        backlog = queue.qsize() * batch
        await queue.join()  # let the backlog through, so the end state is complete
        drain = time.perf_counter() - started - elapsed
        assert accepted_hb == sent, (accepted_hb, sent)  # every heartbeat stored, none a duplicate
        for t in senders:
            t.cancel()
        stop.set()
        await prober
        out.update(
            target_eps=viewers / heartbeat,
            sent_eps=sent / elapsed,
            accepted_eps=in_window / elapsed,
            drain_s=drain,
            backlog=backlog,
            ack_p50_ms=pct(acks, 50),
            ack_p99_ms=pct(acks, 99),
            rt_p50_ms=pct(latencies, 50),
            rt_p99_ms=pct(latencies, 99),
            rt_samples=len(latencies),
        )
        # quiet: realtime with every viewer still active and no ingest running
        quiet = []
        for _ in range(200):
            t = time.perf_counter()
            r = await api.get("/v1/analytics/realtime")
            quiet.append((time.perf_counter() - t) * 1000)
        out.update(rt_quiet_p50_ms=pct(quiet, 50), rt_quiet_p99_ms=pct(quiet, 99), online=r.json()["data"]["online"])
    return out


def server_part(viewers: int, seconds: float, heartbeat: float, batch: int) -> dict[str, float]:
    data = Path(tempfile.mkdtemp(prefix="live-bench-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(data / "server.log", "wb")  # noqa: SIM115 - the server writes it until killed
    cmd = [sys.executable, "-m", "watchdepth.cli", "serve", "--data", str(data), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = subprocess.run(
            [sys.executable, "-m", "watchdepth.cli", "token", "create", "--name", "bench", "--data", str(data)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        h = {"Authorization": f"Bearer {token}"}
        httpx.post(url + "/v1/projects", json={"id": "p1", "name": "Bench"}, headers=h).raise_for_status()
        for k in range(CONTENTS):
            httpx.post(
                url + "/v1/videos",
                json={"id": f"v{k}", "project_id": "p1", "title": f"Video {k}", "duration": 3600},
                headers=h,
            ).raise_for_status()
        base = rss_kb(proc.pid)
        out = asyncio.run(drive(url, token, viewers, seconds, heartbeat, batch))
        out["rss_base_mb"] = base / 1024
        out["rss_after_mb"] = rss_kb(proc.pid) / 1024
        out["rss_bytes_per_viewer"] = (rss_kb(proc.pid) - base) * 1024 / viewers
        return out
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--viewers", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--heartbeat", type=float, default=10.0)
    ap.add_argument("--batch", type=int, default=500, help="events per /collect request (at most 500)")
    ap.add_argument("--skip-server", action="store_true")
    a = ap.parse_args()
    print(f"load average before: {uptime()}  (cpus: {os.cpu_count()})")
    ip = in_process(a.viewers, a.batch)
    print(f"in process, {a.viewers} active sessions:")
    print(f"  sessionizer heartbeats        {ip['apply_eps']:>10,.0f} events/s (target {a.viewers / a.heartbeat:,.0f})")
    print(f"  watching_now read             p50 {ip['read_p50_ms']:.3f} ms  p99 {ip['read_p99_ms']:.3f} ms")
    print(f"  /v1/analytics/realtime (ASGI) p50 {ip['handler_p50_ms']:.3f} ms  p99 {ip['handler_p99_ms']:.3f} ms")
    print(
        f"  memory per viewer             {ip['bytes_per_viewer']:.0f} B (sessionizer + index; index alone "
        f"{ip['index_bytes_per_viewer']:.0f} B)"
    )
    if a.skip_server:
        return
    sv = server_part(a.viewers, a.seconds, a.heartbeat, a.batch)
    print(
        f"real server, {a.viewers} viewers, heartbeat {a.heartbeat:g} s, {a.batch} events per request, {a.seconds:g} s:"
    )
    print(f"  join (load + play)            {sv['join_eps']:>10,.0f} events/s")
    print(
        f"  heartbeats accepted           {sv['accepted_eps']:>10,.0f} events/s (sent {sv['sent_eps']:,.0f}, "
        f"target {sv['target_eps']:,.0f}); backlog at the end {sv['backlog']:,.0f} events, drained in {sv['drain_s']:.1f} s"
    )
    print(f"  /collect ack                  p50 {sv['ack_p50_ms']:.1f} ms  p99 {sv['ack_p99_ms']:.1f} ms")
    print(
        f"  /v1/analytics/realtime busy   p50 {sv['rt_p50_ms']:.1f} ms  p99 {sv['rt_p99_ms']:.1f} ms ({sv['rt_samples']:.0f} samples)"
    )
    print(f"  /v1/analytics/realtime quiet  p50 {sv['rt_quiet_p50_ms']:.1f} ms  p99 {sv['rt_quiet_p99_ms']:.1f} ms")
    print(f"  watching now at the end       {sv['online']:.0f} (viewers {a.viewers})")
    print(
        f"  server RSS                    {sv['rss_base_mb']:.0f} MB -> {sv['rss_after_mb']:.0f} MB: "
        f"{sv['rss_bytes_per_viewer']:.0f} B per viewer (all of it: sessionizer, DuckDB buffers)"
    )
    print(f"load average after: {uptime()}")


if __name__ == "__main__":
    main()
