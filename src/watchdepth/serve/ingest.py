"""The ingest loop: enriched events -> sessionizer -> one durable group commit -> acknowledgement.

Input: batches of ``Event`` from /collect or an import, each awaiting its answer.
Output: per batch, how many events were accepted and how many were duplicates, once
the batch is durable in the store (that is what a 202 means). The sessionizer and the
store's writes run on one worker thread, in order; batches waiting meanwhile are
written together. On start the sessionizer's state is rebuilt from the stored log, in
the background (``Ingest.start``): a session that events touch before its turn is
rebuilt first, so serving begins at once and every count is as if it had waited.
It does not validate (``collect``) nor define any metric (``sessionize``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

from watchdepth.collect.event import Event
from watchdepth.errors import ServiceError, Unavailable
from watchdepth.sessionize import (
    DUPLICATE,
    Credit,
    Sessionizer,
    collect_order,
    import_order,
)
from watchdepth.sessionize.sessionizer import RECENT_IDS, SESSION_TTL_MS
from watchdepth.store.base import Store, WriteBatch

log = logging.getLogger("watchdepth.serve.ingest")

#: Most events written in one group commit (an import larger than this is one commit alone).
MAX_GROUP_EVENTS = 20_000
#: Milliseconds the writer waits, at most, for more requests before a commit (while they come).
LINGER_STEPS = 1
#: Sessions replayed per step of the background rebuild: one step holds up the writer once
#: (about 0.2 s at ~18 events per session here), then waiting batches go first.
REBUILD_STEP_SESSIONS = 500
#: Seconds between attempts while the store cannot say which sessions to rebuild.
REBUILD_RETRY_SECONDS = 1.0


class Accepted(NamedTuple):
    accepted: int
    duplicates: int


@dataclass
class _Job:
    events: Sequence[Event]
    kind: str  # "collect" | "import"
    future: asyncio.Future[Accepted]


@dataclass
class IngestStats:
    """Counters for /metrics."""

    status: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    batches: int = 0
    write_seconds: float = 0.0
    write_buckets: Counter[float] = field(default_factory=Counter)

    def observe_write(self, seconds: float) -> None:
        self.batches += 1
        self.write_seconds += seconds
        for le in WRITE_BUCKETS:
            if seconds <= le:
                self.write_buckets[le] += 1


WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, float("inf"))


class Ingest:
    """Owns the sessionizer and the write path of one store."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.sessionizer = Sessionizer(clock)
        self.stats = IngestStats()
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watchdepth-writer")
        #: The store's maintenance (rollup folds) runs beside the writer, never in its way.
        self._maintenance = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watchdepth-maintain")
        self._queue: asyncio.Queue[_Job] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._log_seq = 0
        #: A collector among several (``serve --role collector``): its sessions come back
        #: from the log on first sight, never eagerly (the others' sessions are not its own).
        self.lazy_rebuild = False
        #: The rebuild (writer thread only): begun once ``_log_seq`` and the sessions to
        #: rebuild are known; ``_unbuilt``: the recent sessions not replayed yet.
        self._begun = False
        self._unbuilt: set[str] = set()
        self._unbuilt_order: list[str] = []

    # -- lifecycle ----------------------------------------------------------------------------

    def rebuild(self) -> int:
        """Rebuild the state of recently active sessions from the log, all of it now (the CLI,
        benchmarks); ``start`` does it in the background. How many sessions."""
        n = self._begin_rebuild()
        while self._unbuilt_order:
            self._rebuild_step()
        return n

    def _begin_rebuild(self) -> int:
        """Number the log on from the store, and list the sessions active in the last 90
        minutes (one query: their events are replayed later). Writer thread."""
        if self._begun:
            return len(self._unbuilt)
        self._log_seq = self.store.next_log_seq()
        if not self.lazy_rebuild:
            since = int(self.clock() * 1000) - SESSION_TTL_MS
            self._unbuilt_order = self.store.recent_sessions(since)
            self._unbuilt = set(self._unbuilt_order)
        self._begun = True
        return len(self._unbuilt)

    def _rebuild_step(self) -> None:
        """Replay the next REBUILD_STEP_SESSIONS unbuilt sessions (writer thread)."""
        step: list[str] = []
        while self._unbuilt_order and len(step) < REBUILD_STEP_SESSIONS:
            sid = self._unbuilt_order.pop()
            if sid in self._unbuilt:
                step.append(sid)
        self._rebuild_sessions(step)

    def _rebuild_sessions(self, session_ids: list[str]) -> None:
        """Replay these unbuilt sessions from the log, each exactly once (writer thread)."""
        if not session_ids:
            return
        self._unbuilt.difference_update(session_ids)
        try:
            self.sessionizer.replay(self.store.session_log(session_ids))
        except BaseException:
            self.sessionizer.forget(session_ids)  # half replayed: start again next time
            self._unbuilt.update(session_ids)
            self._unbuilt_order.extend(session_ids)
            raise

    async def start(self, maintain_every: float = 30.0) -> None:
        """Serve at once: the rebuild runs on the writer thread step by step, between batches
        (``_rebuilder``); a batch touching a session not rebuilt yet replays that one first."""
        self._queue = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._rebuilder()),
            asyncio.create_task(self._writer()),
            asyncio.create_task(self._maintainer(maintain_every)),
        ]

    async def _rebuilder(self) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        while True:
            try:
                n = await loop.run_in_executor(self._pool, self._begin_rebuild)
                break
            except Exception:  # the store may be failing: writes wait for it too
                log.exception("listing the sessions to rebuild failed (will retry)")
                await asyncio.sleep(REBUILD_RETRY_SECONDS)
        while self._unbuilt_order:
            try:
                await loop.run_in_executor(self._pool, self._rebuild_step)
            except Exception:  # those sessions are rebuilt when touched, or next step
                log.exception("rebuilding sessions from the log failed (will retry)")
                await asyncio.sleep(REBUILD_RETRY_SECONDS)
        if n:
            log.info("rebuilt %d recent sessions from the log in %.1f s", n, time.perf_counter() - started)

    async def stop(self) -> None:
        if self._queue is not None:
            await self._queue.join()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await asyncio.get_running_loop().run_in_executor(self._maintenance, self.store.maintain)
        self._pool.shutdown(wait=True)
        self._maintenance.shutdown(wait=True)

    # -- submitting ---------------------------------------------------------------------------

    async def submit(self, events: Sequence[Event], kind: str = "collect") -> Accepted:
        """Queue a validated batch; returns once it is durable (or raises ``ServiceError``)."""
        if self._queue is None:
            raise ServiceError("the ingest loop is not running")
        fut: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(events, kind, fut))
        return await fut

    async def active_sessions(self, since_ms: int) -> list[str]:
        """The sessions with an event at ``since_ms`` or later, read on the writer thread
        (the only one that changes the sessionizer)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.sessionizer.active_since, since_ms)

    def run_sync(self, events: Sequence[Event], kind: str = "import") -> Accepted:
        """The same path without an event loop (the CLI when no server holds the data dir)."""
        if not self._begun:
            self.rebuild()
        return self._process([(events, kind)])[0]

    def watching_now(self) -> Counter[str]:
        """Content id -> sessions watching now (docs/metrics.md §4), at ``clock()``; no database read."""
        return self.sessionizer.watching_now(int(self.clock() * 1000))

    # -- the worker ---------------------------------------------------------------------------

    async def _writer(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        queue = self._queue
        while True:
            jobs = [await queue.get()]
            size = len(jobs[0].events)
            # Linger while the queue still grows (a loop turn, then up to LINGER_STEPS ms): a
            # commit has a fixed cost (an fsync of the journal, ~0.3 ms; a ClickHouse insert,
            # more), so requests arriving meanwhile join this one instead of paying their own.
            # Alone, a request waits one turn and 1 ms at most.
            for step in range(LINGER_STEPS + 1):
                before = queue.qsize()
                await asyncio.sleep(0.001 if step else 0)
                if queue.qsize() == before and step:
                    break
            while not queue.empty() and size < MAX_GROUP_EVENTS:
                jobs.append(queue.get_nowait())
                size += len(jobs[-1].events)
            try:
                results = await loop.run_in_executor(self._pool, self._process, [(j.events, j.kind) for j in jobs])
            except Unavailable as exc:  # not now (disk under its reserve, ...): logged where found
                for j in jobs:
                    if not j.future.done():
                        j.future.set_exception(exc)
            except Exception as exc:  # noqa: BLE001 - every waiting request must get an answer
                log.exception("write failed")
                for j in jobs:
                    if not j.future.done():
                        j.future.set_exception(ServiceError(f"events were not stored: {exc}"))
            else:
                for j, r in zip(jobs, results):
                    if not j.future.done():
                        j.future.set_result(r)
            finally:
                for _ in jobs:
                    self._queue.task_done()

    async def _maintainer(self, every: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every)
            try:
                await loop.run_in_executor(self._maintenance, self.store.maintain)
                await loop.run_in_executor(self._pool, self._evict_idle)
            except Exception:  # noqa: BLE001 - maintenance retries on the next round
                log.exception("maintenance failed")

    def _evict_idle(self) -> None:
        self.sessionizer.evict_idle(int(self.clock() * 1000))

    def _process(self, jobs: list[tuple[Sequence[Event], str]]) -> list[Accepted]:
        """Sessionize every job, then write them all in one transaction (worker thread only)."""
        all_events: list[Event] = []
        status: list[str] = []
        runs: list[int | None] = []
        log_seq: list[int | None] = []
        credits: list[Credit] = []
        results = []
        writable = getattr(self.store, "writable", None)  # the embedded store's disk reserve
        if writable is not None:
            writable()  # refused before the sessionizer sees anything: nothing to forget
        self._begin_rebuild()  # a no-op once begun (normally by ``_rebuilder``, before any batch)
        try:
            if self._unbuilt:  # rebuilding: the group's sessions not replayed yet go first
                touched = self._unbuilt.intersection([e.session_id for events, _ in jobs for e in events])
                self._rebuild_sessions(sorted(touched))
            if self.lazy_rebuild:  # one look-up for all the sessions of the group it does not hold
                self._hydrate([e for events, _ in jobs for e in events], "import")
            for events, kind in jobs:
                if not self.lazy_rebuild:
                    self._hydrate(events, kind)
                self._known_ids(events)
                order = import_order(events) if kind == "import" else collect_order(events)
                out = self.sessionizer.apply(events, order, live=kind == "collect")
                numbers: list[int | None] = [None] * len(events)
                for i in out.order:
                    if out.status[i] != DUPLICATE:
                        numbers[i] = self._log_seq
                        self._log_seq += 1
                all_events += events
                status += out.status
                runs += out.run
                log_seq += numbers
                credits += out.credits
                dup = out.status.count(DUPLICATE)
                results.append(Accepted(len(events) - dup, dup))
            started = time.perf_counter()
            self.store.write_batch(WriteBatch(all_events, status, runs, log_seq, credits))
            self.stats.observe_write(time.perf_counter() - started)
        except BaseException:
            # rebuilt from the log when they come back
            self.sessionizer.forget({e.session_id for events, _ in jobs for e in events})
            self._log_seq = self.store.next_log_seq()
            raise
        self.stats.status.update(status)
        return results

    def _known_ids(self, events: Sequence[Event]) -> None:
        """Ids the sessionizer does not hold (not the tracker's "load:seq" form, not seen lately)
        are looked up in the log: an event whose id is stored is a duplicate, workspace-wide.

        The first time one is needed, a sole writer reads every stored such id (one scan): if
        there are at most RECENT_IDS, the sessionizer then holds them all and never asks again."""
        s = self.sessionizer
        unknown = s.unknown_ids(events)
        if unknown and s.ids_complete is None and not self.lazy_rebuild:
            stored = self.store.foreign_ids(RECENT_IDS + 1)
            s.know_ids(stored)
            s.ids_complete = len(stored) <= RECENT_IDS
            unknown = s.unknown_ids(events)
        if unknown:
            s.know_ids(self.store.ids_stored(unknown))

    def _hydrate(self, events: Sequence[Event], kind: str) -> None:
        """Bring back forgotten sessions from the log before applying their events.

        An import may touch any past session. On /collect a session we do not hold is
        new unless one of its loads arrives past its first event (seq > 0).
        """
        s = self.sessionizer
        if kind == "import":  # (a lazy collector hydrates every group like this)
            wanted = {e.session_id for e in events if not s.knows(e.session_id)}
        else:
            held = s.sessions  # hot path: one dict probe per event, nothing more for held sessions
            first_seq: dict[tuple[str, str], int] = {}
            for e in events:
                if e.session_id not in held:
                    key = (e.session_id, e.load_id)
                    seen = first_seq.get(key)
                    if seen is None or e.seq < seen:
                        first_seq[key] = e.seq
            wanted = {sid for (sid, _), seq in first_seq.items() if seq > 0}
        if wanted:
            s.replay(self.store.session_log(sorted(wanted)))
