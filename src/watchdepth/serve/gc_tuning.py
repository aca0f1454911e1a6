"""The cyclic garbage collector, tuned for a server that holds much long-lived, acyclic state.

Input: nothing. Output: ``tune()`` for the process, and a task that freezes, once, what is
alive after warm-up.
The sessionizer keeps a few objects per active session for 90 minutes. Python's full
collections walk every one of them, over and over: at 20k events/s that measured 13 pauses
of ~100 ms in 12 s, the whole process stopped, the p99 of /collect with it (commit 0a0d2bf; history of ``docs/benchmarks.md``).
A larger young generation makes collections rarer. Freezing moves the objects alive after
warm-up (modules, catalog, the sessions rebuilt at start) out of the collector's sight for
good, after one collection so that no garbage is frozen with them. It happens once: freezing
again and again also froze every reference cycle not yet collected, which then stayed in
memory forever (a leak: 1,200 objects in one repro).
"""

from __future__ import annotations

import asyncio
import gc

#: Allocations between young collections (Python's default 700 made them 30× as frequent).
GEN0_THRESHOLD = 20_000
#: Seconds after start before the one freeze: start-up (store open, session rebuild) is done.
WARM_UP = 30.0


def tune() -> None:
    gc.set_threshold(GEN0_THRESHOLD, 10, 10)


async def freeze_after_warm_up(warm_up: float = WARM_UP) -> None:
    """After ``warm_up`` seconds, collect the garbage, then freeze what is alive; once."""
    await asyncio.sleep(warm_up)
    gc.collect()
    gc.freeze()
