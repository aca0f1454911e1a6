"""Watching now summed across collectors, for API nodes (``serve --role api``).

Input: the collectors' base URLs (``--collectors`` / ``WATCHDEPTH_COLLECTORS``). Output:
``watching_now()``, content id -> sessions watching now, the sum of every collector's
``GET /internal/watching-now`` snapshot, polled every ``every`` seconds in the background
so a reader never waits on the network. A collector that has not answered for
``stale_after`` seconds drops out of the sum (its sessions move to another collector
and are counted there once they send their next event) and is listed by ``missing()``.
It does not count anything itself: each collector's sessionizer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

import httpx

log = logging.getLogger("watchdepth.live_sum")

#: Poll period: the realtime stream pushes every 2 s, so a snapshot is at most ~1 s older.
POLL_SECONDS = 1.0
#: A collector silent this long is left out of the sum.
STALE_SECONDS = 5.0


class CollectorFanout:
    """The latest per-collector snapshots and their sum."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        every: float = POLL_SECONDS,
        stale_after: float = STALE_SECONDS,
        timeout: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.urls = tuple(dict.fromkeys(u.rstrip("/") for u in urls if u.strip()))  # each once
        self.every = every
        self.stale_after = stale_after
        self.timeout = timeout
        self.clock = clock
        self._snapshots: dict[str, tuple[float, Counter[str]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    # -- reading (any thread) -------------------------------------------------------------

    def watching_now(self) -> Counter[str]:
        now = self.clock()
        total: Counter[str] = Counter()
        for at, counts in list(self._snapshots.values()):
            if now - at <= self.stale_after:
                total.update(counts)
        return +total

    def missing(self) -> list[str]:
        """Collectors whose snapshot is missing or stale."""
        now = self.clock()
        return [u for u in self.urls if u not in self._snapshots or now - self._snapshots[u][0] > self.stale_after]

    # -- polling --------------------------------------------------------------------------

    def start(self) -> None:
        if self.urls and self._task is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, trust_env=False)
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def poll_once(self) -> None:
        """Ask every collector at once; keep each answer with the time it came."""
        assert self._client is not None
        answers = await asyncio.gather(*(self._fetch(u) for u in self.urls), return_exceptions=True)
        for url, got in zip(self.urls, answers):
            if isinstance(got, Counter):
                self._snapshots[url] = (self.clock(), got)
            else:
                log.warning("collector %s did not answer: %s", url, got)

    async def _fetch(self, url: str) -> Counter[str]:
        assert self._client is not None
        r = await self._client.get(url + "/internal/watching-now")
        r.raise_for_status()
        return Counter({str(k): int(v) for k, v in r.json()["watching_now"].items()})

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("polling collectors failed")
            await asyncio.sleep(self.every)
