"""Demo workspace: a catalog and a few weeks of synthetic viewing, fed through the import path.

Input: a random seed and "now". Output: catalog entities and NDJSON import lines
(``ts``, ``ip``, ``user_agent`` per event) that look like real tracker traffic: loads,
plays, heartbeats, pauses, seeks back, early leavers, and the quality events of docs/metrics.md §7
(a ``startup`` per load that shows a frame, ``stall``s, a few fatal ``error``s and people who
leave before the first frame), slower and stalling more on some browsers and countries. It stores nothing itself
(``cli`` sends the lines through the same code as ``POST /v1/events/import``), bar the
demo's token in ``DATA/demo-token`` (owner-only), which the README's curl reads.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

PROJECTS: list[dict[str, Any]] = [
    {"id": "demo-academy", "name": "Demo Academy"},
    {"id": "demo-media", "name": "Demo Media"},
]
FOLDERS: list[dict[str, Any]] = [
    {"id": "courses", "project_id": "demo-academy", "parent_id": None, "name": "Courses"},
    {"id": "python", "project_id": "demo-academy", "parent_id": "courses", "name": "Python"},
    {"id": "python-basics", "project_id": "demo-academy", "parent_id": "python", "name": "Basics"},
    {"id": "marketing", "project_id": "demo-media", "parent_id": None, "name": "Marketing"},
]
VIDEOS: list[dict[str, Any]] = [
    {
        "id": "demo-video",
        "project_id": "demo-academy",
        "folder_id": None,
        "title": "Welcome to watchdepth",
        "duration": 60.0,
    },
    {
        "id": "py-01",
        "project_id": "demo-academy",
        "folder_id": "python-basics",
        "title": "Python 1: variables",
        "duration": 420.0,
    },
    {
        "id": "py-02",
        "project_id": "demo-academy",
        "folder_id": "python-basics",
        "title": "Python 2: loops",
        "duration": 515.0,
    },
    {
        "id": "py-03",
        "project_id": "demo-academy",
        "folder_id": "python",
        "title": "Python 3: modules",
        "duration": 630.0,
    },
    {"id": "intro", "project_id": "demo-academy", "folder_id": "courses", "title": "Курс: введение", "duration": 185.0},
    {
        "id": "promo-spring",
        "project_id": "demo-media",
        "folder_id": "marketing",
        "title": "Spring promo",
        "duration": 30.0,
    },
    {
        "id": "promo-summer",
        "project_id": "demo-media",
        "folder_id": "marketing",
        "title": "Summer promo",
        "duration": 45.0,
    },
    {"id": "interview", "project_id": "demo-media", "folder_id": None, "title": "CEO interview", "duration": 1260.0},
]
STREAMS: list[dict[str, Any]] = [
    {"id": "weekly-live", "project_id": "demo-media", "folder_id": None, "title": "Weekly live"}
]
EVENTS: list[dict[str, Any]] = [{"id": "weekly-live-1", "stream_id": "weekly-live", "title": "Episode 1"}]

IPS = [
    "77.88.55.88",
    "8.8.8.8",
    "81.2.69.142",
    "195.46.39.39",
    "1.1.1.1",
    "185.60.216.35",
    "2.16.20.1",
    "133.11.0.1",
    "200.160.2.3",
    "41.203.64.1",
    "5.255.255.5",
    "46.4.0.1",
]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
]
PAGES = [
    "https://learn.example.com/python/lesson-1",
    "https://learn.example.com/python/lesson-2",
    "https://www.example.com/",
    "https://blog.example.org/posts/launch",
    "https://news.example.net/video?id=7",
]


TOKEN_FILE = "demo-token"


def write_token(data_dir: Path, secret: str) -> Path:
    """Save the demo's token as ``DATA/demo-token`` (mode 0600), for ``TOKEN=$(cat …)``."""
    path = Path(data_dir) / TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    os.chmod(path, 0o600)
    return path


def history(now_ms: int, days: int = 21, sessions_per_day: int = 120, seed: int = 7) -> Iterator[bytes]:
    """NDJSON lines of ``days`` of viewing up to ``now_ms``."""
    rnd = random.Random(seed)
    content = [(v["id"], "video_id", v["duration"]) for v in VIDEOS] + [("weekly-live", "stream_id", None)]
    for day in range(days, 0, -1):
        for n in range(sessions_per_day):
            start = now_ms - day * 86_400_000 + rnd.randrange(86_400_000)
            yield from _session(rnd, f"demo-s{day}-{n}", start, rnd.choice(content), n)


#: Countries (by the demo IPs) and browsers whose viewers wait longer for the first frame
#: and stall more: factors on the startup time and on the chance of a stall.
SLOW_IPS = {"185.60.216.35": (1.8, 3.0), "200.160.2.3": (1.8, 3.0), "41.203.64.1": (2.5, 4.0)}  # BR, BR, NG
SLOW_AGENTS = {
    AGENTS[2]: (2.0, 4.0),
    AGENTS[7]: (1.5, 2.5),
    AGENTS[3]: (1.3, 1.5),
}  # Safari on iPhone, iPad; Chrome on Android
STARTUP_MS = 600  # median time from the first play to the first frame, on a good connection
STALL_P = 0.008  # chance of a stall at each heartbeat, on a good connection
FAIL_BEFORE_START = 0.008  # fatal error between the play and the first frame
FAIL_WHILE_PLAYING = 0.004  # fatal error after the first frame (once per load)
LEAVE_BEFORE_START = 0.015  # people who close the page before the first frame (more when it is slow)
FATAL_CODES = ["MEDIA_ERR_SRC_NOT_SUPPORTED", "MEDIA_ERR_NETWORK", "manifestLoadError", "MEDIA_ERR_DECODE"]


class Quality:
    """How well the video plays for one viewer: startup and stall factors of their country and browser."""

    def __init__(self, ip: str, ua: str) -> None:
        ip_s, ip_p = SLOW_IPS.get(ip, (1.0, 1.0))
        ua_s, ua_p = SLOW_AGENTS.get(ua, (1.0, 1.0))
        self.startup_median = STARTUP_MS * ip_s * ua_s
        self.stall_p = STALL_P * ip_p * ua_p

    def startup_ms(self, rnd: random.Random) -> int:
        """Log-normal around the median (a long right tail, as measured startup times have)."""
        return min(60_000, int(rnd.lognormvariate(math.log(self.startup_median), 0.5)))

    def stall_ms(self, rnd: random.Random) -> int:
        return min(120_000, int(rnd.lognormvariate(math.log(1200), 0.8)))


def _session(rnd: random.Random, sid: str, t: int, item: tuple[str, str, float | None], n: int) -> Iterator[bytes]:
    cid, field, duration = item
    ip, ua, url = rnd.choice(IPS), rnd.choice(AGENTS), rnd.choice(PAGES)
    quality = Quality(ip, ua)
    external = f"student-{n % 40}@example.edu" if cid.startswith("py-") else None
    for load_no in range(1 if rnd.random() < 0.85 else 2):
        lid = f"{sid}-l{load_no}"
        base: dict[str, Any] = {field: cid, "session_id": sid, "load_id": lid, "url": url, "ip": ip, "user_agent": ua}
        if field == "stream_id":
            base["event_id"] = "weekly-live-1"
        if external:
            base["external_id"] = external
        for seq, (typ, ts, extra) in enumerate(_playback(rnd, t, duration or 1800.0, quality)):
            yield msgspec.json.encode({"type": typ, "seq": seq, "ts": ts, "id": f"{lid}:{seq}", **base, **extra})
        t += rnd.randrange(60_000, 900_000)


def _playback(rnd: random.Random, t: int, duration: float, q: Quality) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """One load's events in the tracker's order (``seq``): wall time moves with the startup and the stalls."""
    yield "load", t, {}
    if rnd.random() < 0.25:  # loaded the page, never pressed play
        return
    pos, t = 0.0, t + rnd.randrange(500, 8000)
    yield "play", t, {"position": pos}
    startup = q.startup_ms(rnd)
    if rnd.random() < FAIL_BEFORE_START:  # the source does not play: an error and no first frame
        yield "error", t + min(startup, 3000), {"position": pos, "code": rnd.choice(FATAL_CODES), "fatal": True}
        return
    if rnd.random() < LEAVE_BEFORE_START * startup / STARTUP_MS:  # gave up waiting for the first frame
        return
    t += startup
    yield "startup", t, {"ms": startup}
    target = duration * rnd.choice([0.02, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0])
    breaks_at = target * rnd.random() if rnd.random() < FAIL_WHILE_PLAYING else None
    while pos < target:
        step = min(rnd.uniform(4, 10), target - pos)
        pos, t = pos + step, t + int(step * 1000)
        yield "progress", t, {"position": round(pos, 3)}
        if rnd.random() < q.stall_p:  # rebuffering: sent when playback resumes, at the position it stopped
            ms = q.stall_ms(rnd)
            t += ms
            yield "stall", t, {"position": round(pos, 3), "ms": ms}
        if breaks_at is not None and pos >= breaks_at:  # the stream breaks for good: no pause, the page stops
            yield "error", t + 300, {"position": round(pos, 3), "code": "MEDIA_ERR_NETWORK", "fatal": True}
            return
        if rnd.random() < 0.04:
            back = max(0.0, pos - rnd.uniform(5, 30))
            yield "seek", t + 200, {"from": round(pos, 3), "position": round(back, 3)}
            pos, t = back, t + 400
            yield "play", t, {"position": round(pos, 3)}
    end = "ended" if pos >= duration - 0.5 else "pause"
    yield end, t + 100, {"position": round(min(pos, duration), 3)}
