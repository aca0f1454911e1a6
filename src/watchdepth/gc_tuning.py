"""The cyclic garbage collector, tuned for a server that holds much long-lived, acyclic state.

Input: nothing. Output: ``tune()`` for the process, and a task that freezes survivors.
The sessionizer keeps a few objects per active session for 90 minutes. Python's full
collections walk every one of them, over and over: at 20k events/s that measured 13 pauses
of ~100 ms in 12 s, the whole process stopped, the p99 of /collect with it (``docs/benchmarks.md``).
Freezing moves the objects alive now out of the collector's sight (refcounting still frees
them), so a collection walks only what arrived since. Cyclic garbage among frozen objects
would stay; measured after 20 s of load and after 2,000 closed connections: 22 objects.
"""

from __future__ import annotations

import asyncio
import gc

#: Allocations between young collections (Python's default 700 made them 30× as frequent).
GEN0_THRESHOLD = 20_000
#: Seconds between freezes.
FREEZE_EVERY = 1.0


def tune() -> None:
    gc.set_threshold(GEN0_THRESHOLD, 10, 10)


async def freeze_survivors(every: float = FREEZE_EVERY) -> None:
    """Freeze what is alive, every ``every`` seconds, until cancelled."""
    while True:
        await asyncio.sleep(every)
        gc.freeze()
