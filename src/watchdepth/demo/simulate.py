"""``watchdepth simulate``: play N synthetic viewers against a running server's ``/collect``.

Input: the server's URL, the content to watch (videos, or a stream and optionally one of
its broadcast events), the number of viewers, how long, the heartbeat and the ramp-up.
Output: tracker events sent as the tracker sends them (one load per viewer: ``load``,
``play``, a ``startup`` at the first frame, a ``progress`` every ``--heartbeat`` seconds,
now and then a ``pause`` and a resume, a ``seek`` or a ``stall`` (sent on resume), and a
leave: ``ended`` at the end of a video, else a last ``pause``; about one viewer in a hundred
gets a fatal ``error`` instead of a first frame, and leaves), and a progress line each second; exit 0 when every request was accepted.
Viewers join spread over ``--ramp-up`` seconds and some leave early, so "watching now"
rises, holds and falls. Each viewer has a realistic User-Agent; client IPs go in
``X-Forwarded-For`` only with ``--forwarded-for`` (the server must list this machine in
``trusted_proxies``, or it ignores the header). It does not read the server's database
and does not create the content: ids must exist in the server's catalog.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from watchdepth.config import Settings
from watchdepth.demo.workspace import AGENTS, FAIL_BEFORE_START, FATAL_CODES, STALL_P, STARTUP_MS

#: Real browsers' user agents (desktop, phone, tablet), the demo history's.
USER_AGENTS = tuple(AGENTS)
#: First octets of public address blocks, so a country lookup has something to find.
IP_BLOCKS = (5, 31, 46, 62, 77, 81, 85, 91, 93, 95, 109, 176, 178, 185, 188, 212, 213, 217)


@dataclass
class Plan:
    """What to simulate (from the command line)."""

    url: str
    viewers: int
    duration: float
    heartbeat: float
    ramp_up: float
    contents: list[
        dict[str, str]
    ]  # wire id fields of each choice: {"video_id": …} or {"stream_id": …[, "event_id": …]}
    forwarded_for: bool = False
    seed: int | None = None
    connections: int = 100
    quiet: bool = False


@dataclass
class Tally:
    sent: int = 0
    requests: int = 0
    failed: int = 0
    joined: int = 0
    left: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def fail(self, why: str) -> None:
        self.failed += 1
        self.errors[why] = self.errors.get(why, 0) + 1


class Viewer:
    """One synthetic viewer: one session, one load, one content."""

    def __init__(self, plan: Plan, rnd: random.Random, client: httpx.AsyncClient, tally: Tally) -> None:
        self.plan, self.rnd, self.client, self.tally = plan, rnd, client, tally
        self.session = uuid.UUID(int=rnd.getrandbits(128)).hex
        self.load = uuid.UUID(int=rnd.getrandbits(128)).hex
        self.content = rnd.choice(plan.contents)
        self.seq = 0
        self.pos = 0.0
        self.headers = {"content-type": "text/plain", "user-agent": rnd.choice(USER_AGENTS)}
        if plan.forwarded_for:
            ip = f"{rnd.choice(IP_BLOCKS)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            self.headers["x-forwarded-for"] = ip

    async def send(self, type: str, **extra: Any) -> None:
        event = {"type": type, "session_id": self.session, "load_id": self.load, "seq": self.seq, **self.content}
        if type not in ("load", "startup"):  # the tracker's startup has no position
            event["position"] = round(self.pos, 3)
        event.update(extra)
        self.seq += 1
        self.tally.requests += 1
        try:
            r = await self.client.post("/collect", content=msgspec.json.encode(event), headers=self.headers)
        except httpx.HTTPError as exc:
            self.tally.fail(exc.__class__.__name__)
            return
        if r.status_code == 202:
            self.tally.sent += 1
        else:
            self.tally.fail(f"HTTP {r.status_code}: {r.text[:200]}")

    async def watch(self, until: float) -> None:
        """Join, play with heartbeats (pausing and seeking now and then), leave by ``until``."""
        p, rnd = self.plan, self.rnd
        stay = until - time.monotonic()
        if rnd.random() < 0.3:  # some leave early
            stay *= rnd.uniform(0.2, 0.9)
        leave_at = time.monotonic() + stay
        self.tally.joined += 1
        await self.send("load")
        await self.send("play")
        startup = min(10_000, int(rnd.lognormvariate(math.log(STARTUP_MS), 0.5)))
        await asyncio.sleep(min(startup / 1000, max(0.0, leave_at - time.monotonic())))
        if rnd.random() < FAIL_BEFORE_START:  # no first frame: the player reports it, the viewer leaves
            await self.send("error", code=rnd.choice(FATAL_CODES), fatal=True)
            self.tally.left += 1
            return
        await self.send("startup", ms=startup)
        await asyncio.sleep(rnd.uniform(0, p.heartbeat))  # spread the heartbeats
        while time.monotonic() + p.heartbeat <= leave_at:
            await asyncio.sleep(p.heartbeat)
            self.pos += p.heartbeat
            roll = rnd.random()
            if roll < STALL_P * 3:  # rebuffering, sent on resume (its time is not played: pos stays)
                stall = min(p.heartbeat, rnd.lognormvariate(math.log(1.2), 0.8))
                await asyncio.sleep(stall)
                await self.send("stall", ms=int(stall * 1000))
            elif roll < 0.04:  # pause a little, then play on from there
                await self.send("pause")
                await asyncio.sleep(min(rnd.uniform(1, 2 * p.heartbeat), max(0.0, leave_at - time.monotonic())))
                await self.send("play")
            elif roll < 0.07:  # jump ahead
                before = self.pos
                self.pos += rnd.uniform(5, 60)
                await self.send("seek", **{"from": round(before, 3)})
            else:
                await self.send("progress")
        await self.send("ended" if "video_id" in self.content and rnd.random() < 0.5 else "pause")
        self.tally.left += 1


async def simulate(plan: Plan, out: Any = sys.stderr) -> Tally:
    """Run the plan; print a progress line each second unless ``plan.quiet``."""
    rnd = random.Random(plan.seed)
    tally = Tally()
    limits = httpx.Limits(max_connections=plan.connections, max_keepalive_connections=plan.connections)
    async with httpx.AsyncClient(base_url=plan.url, limits=limits, timeout=30) as client:
        start = time.monotonic()
        until = start + plan.duration
        viewers = [Viewer(plan, random.Random(rnd.getrandbits(64)), client, tally) for _ in range(plan.viewers)]

        async def join(i: int, v: Viewer) -> None:
            await asyncio.sleep(plan.ramp_up * i / max(1, plan.viewers))
            await v.watch(until)

        tasks = [asyncio.create_task(join(i, v)) for i, v in enumerate(viewers)]
        reporter = None if plan.quiet else asyncio.create_task(_report(tally, start, plan, out))
        try:
            await asyncio.gather(*tasks)
        finally:
            if reporter is not None:
                reporter.cancel()
                await asyncio.gather(reporter, return_exceptions=True)
                _line(tally, start, plan, out, final=True)
    return tally


async def _report(tally: Tally, start: float, plan: Plan, out: Any) -> None:
    while True:
        await asyncio.sleep(1)
        _line(tally, start, plan, out)


def _line(tally: Tally, start: float, plan: Plan, out: Any, final: bool = False) -> None:
    elapsed = time.monotonic() - start
    rate = tally.sent / elapsed if elapsed > 0 else 0.0
    text = (
        f"{elapsed:6.1f}/{plan.duration:.0f} s  viewers {tally.joined - tally.left}/{plan.viewers} playing"
        f"  events {tally.sent} ({rate:.0f}/s)  failed {tally.failed}"
    )
    out.write("\r" + text + ("\n" if final else ""))
    out.flush()


# -- command line ---------------------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="play synthetic viewers against a running server",
        description="Play N synthetic viewers against a running server's /collect (for demos and benchmarks).",
    )
    p.add_argument("--url", help="the server's base URL (default http://HOST:PORT from the settings)")
    p.add_argument("--viewers", "-n", type=int, default=20, help="how many viewers (default 20)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds to run (default 60)")
    p.add_argument("--heartbeat", type=float, default=10.0, help="seconds between progress events (default 10)")
    p.add_argument("--ramp-up", type=float, default=None, help="seconds over which viewers join (default duration/4)")
    p.add_argument("--video", action="append", default=[], help="video id to watch (repeat or comma-separate)")
    p.add_argument("--stream", help="stream id to watch")
    p.add_argument("--event", help="broadcast event id of --stream")
    p.add_argument(
        "--forwarded-for",
        action="store_true",
        help="send client IPs in X-Forwarded-For (only if the server trusts this machine as a proxy)",
    )
    p.add_argument("--connections", type=int, default=100, help="HTTP connection pool size (default 100)")
    p.add_argument("--seed", type=int, help="random seed, for a repeatable run")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--data", dest="data_dir", help=argparse.SUPPRESS)


def plan_from(args: argparse.Namespace, settings: Settings) -> Plan:
    """The plan, or ``ValueError`` with a message for the user."""
    videos = [v.strip() for raw in args.video for v in raw.split(",") if v.strip()]
    if bool(videos) == bool(args.stream):
        raise ValueError("give --video ID[,ID…] or --stream ID (with an optional --event ID)")
    if args.event and not args.stream:
        raise ValueError("--event needs --stream")
    contents = (
        [{"video_id": v} for v in videos]
        if videos
        else [{"stream_id": args.stream, **({"event_id": args.event} if args.event else {})}]
    )
    for name, value, low in (
        ("--viewers", args.viewers, 1),
        ("--duration", args.duration, 0.1),
        ("--heartbeat", args.heartbeat, 0.1),
        ("--connections", args.connections, 1),
    ):
        if value < low:
            raise ValueError(f"{name} must be at least {low}")
    ramp = args.duration / 4 if args.ramp_up is None else args.ramp_up
    if not 0 <= ramp <= args.duration:
        raise ValueError("--ramp-up must be between 0 and --duration")
    url = (args.url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return Plan(
        url,
        args.viewers,
        args.duration,
        args.heartbeat,
        ramp,
        contents,
        args.forwarded_for,
        args.seed,
        args.connections,
        args.quiet,
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        plan = plan_from(args, settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        httpx.get(plan.url + "/healthz", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        print(
            f"error: no watchdepth server answers at {plan.url} ({exc}); start one with `watchdepth serve`",
            file=sys.stderr,
        )
        return 1
    tally = asyncio.run(simulate(plan))
    print(f"{tally.joined} viewers, {tally.sent} events accepted, {tally.failed} failed", flush=True)
    for why, n in sorted(tally.errors.items()):
        print(f"  {n} × {why}", file=sys.stderr)
    return 0 if tally.failed == 0 else 1
