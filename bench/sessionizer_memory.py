"""Sessionizer memory per active session: 20,000 sessions, each one load of 20 tracker events.

python bench/sessionizer_memory.py
"""

from __future__ import annotations

import gc
import tracemalloc

from watchdepth.collect.event import Event
from watchdepth.sessionize import Sessionizer, collect_order

N = 20_000


def load(n: int) -> list[Event]:
    sid = f"session-{n:012d}-0123456789abcdef"  # ids as long as the tracker's
    out = []
    for seq in range(20):
        typ = "load" if seq == 0 else ("play" if seq == 1 else "progress")
        out.append(
            Event(
                type=typ,
                content_id="video-1",
                kind="video",
                project_id="p",
                session_id=sid,
                load_id=sid + "-load",
                seq=seq,
                t=1_700_000_000_000 + seq * 5000,
                received_at=0,
                position=None if seq == 0 else (seq - 1) * 5.0,
                content_duration=3600.0,
                country="DE",
                platform="desktop",
                os="Windows",
                browser="Chrome",
                domain="example.com",
                page="example.com/watch",
                id=f"{sid}-load:{seq}",
            )
        )
    return out


def main() -> None:
    s = Sessionizer()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(N):
        events = load(n)
        s.apply(events, collect_order(events))
        del events
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    print(
        f"{N} active sessions: {(after - before) / N:.0f} bytes per session (tracemalloc, after the events are freed)"
    )


if __name__ == "__main__":
    main()
