"""The embedded store's loader: journaled batches into the database, behind the acknowledgements.

Input: ``WriteBatch``es (``write``: into the journal, durable when it returns), and a
``load(events, facts)`` callable that stores two Arrow tables in one transaction.
Output: those calls, from one thread, many batches at a time; ``wait_loaded`` for readers.
A batch is encoded once, as JSON lines (``rows.encode``), for the journal; the thread keeps
those bytes and, once LOAD_MIN_EVENTS are pending, or LOAD_LINGER_SECONDS passed, or a reader waits (a database
commit has a fixed cost worth sharing), turns them into Arrow with pyarrow's JSON reader
(``rows.journal_tables``: the parse lets go of the GIL, so it runs beside the event loop
rather than taking turns with it) and loads them. A failed load is retried; the batches stay in the
journal and in memory meanwhile. It knows no SQL (``store.duckdb`` gives ``load``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

import pyarrow as pa

from watchdepth.errors import StoreError
from watchdepth.store import rows
from watchdepth.store.base import WriteBatch
from watchdepth.store.journal import Journal
from watchdepth.store.rows import JournalBatch

log = logging.getLogger("watchdepth.store")

#: Most events in one load (one batch larger than this is loaded alone).
LOAD_EVENTS = 100_000
#: The loader waits for this many events, or LOAD_LINGER_SECONDS, or a reader, before a load.
LOAD_MIN_EVENTS = 20_000
LOAD_LINGER_SECONDS = 0.5
#: Journaled events not yet loaded beyond which ``write`` waits for the loader.
MAX_PENDING_EVENTS = 500_000
#: Seconds a reader (or a ``write`` over MAX_PENDING_EVENTS) waits for the loader before failing.
FRESH_SECONDS = 60.0
#: Seconds between attempts while the database refuses a load.
RETRY_SECONDS = 1.0

Load = Callable[[pa.Table, pa.Table], None]


class JournalStats(NamedTuple):
    pending_events: int  # acknowledged, not yet in the database
    loads: int
    load_seconds: float
    error: str | None  # why loading fails, while it does


class JournalLoader:
    """Owns the journal's writes and the loader thread. ``write`` is called from one thread."""

    def __init__(self, journal: Journal, load: Load) -> None:
        self.journal = journal
        self._load = load
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._append_lock = threading.Lock()
        self._pending: deque[JournalBatch] = deque()
        self._pending_events = 0
        self._journaled = 0  # batches appended to the journal so far
        self.last_log_seq = 0  # the highest log_seq among them
        self._loaded = 0  # ... and loaded
        self._error: str | None = None
        self._readers_waiting = 0  # reads waiting: the loader goes at once for them
        self._linger_until: float | None = None  # when the loader goes without more events
        self._loads = 0  # loads committed, and their time
        self._load_seconds = 0.0
        self._closing = False

    # -- lifecycle --------------------------------------------------------------------------

    def recover(self, stored_log_seq: int) -> None:
        """Load the journal's batches past ``stored_log_seq`` (what a crash left), then empty it.
        Call before ``start``; a load is one transaction, so a batch is wholly in or out."""
        chunk: list[JournalBatch] = []
        size = 0
        for batch in self.journal.replay():
            if batch.last_log_seq <= stored_log_seq:
                continue
            chunk.append(batch)
            size += len(batch.log_seq)
            if size >= LOAD_EVENTS:
                self._load(*rows.journal_tables(chunk))
                chunk, size = [], 0
        if chunk:
            self._load(*rows.journal_tables(chunk))
        self.journal.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="watchdepth-loader", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Load what is pending, stop; the journal is emptied if all of it went in."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        if not self._pending:
            self.journal.clear()
        self.journal.close()

    # -- writers and readers ----------------------------------------------------------------

    def write(self, batch: WriteBatch) -> None:
        """Journal a stored batch (no duplicates, at least one event): durable on return."""
        with self._cond:
            if self._closing:
                raise StoreError("the store is closing")
            if not self._cond.wait_for(lambda: self._pending_events < MAX_PENDING_EVENTS or self._closing,
                                       FRESH_SECONDS):
                raise StoreError(f"the database is {self._pending_events} events behind its journal: "
                                 f"{self._error or 'still loading'}")
        encoded = rows.encode(batch)
        with self._append_lock:
            self.journal.append(encoded)
            with self._cond:
                self._pending.append(encoded)
                self._pending_events += len(encoded.log_seq)
                self._journaled += 1
                self.last_log_seq = encoded.last_log_seq
                self._cond.notify_all()

    def wait_loaded(self, timeout: float | None = None) -> None:
        """Return once every batch journaled before this call is loaded."""
        with self._cond:
            target = self._journaled
            if self._loaded >= target:
                return
            self._readers_waiting += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: self._loaded >= target or not self._alive(),
                                    FRESH_SECONDS if timeout is None else timeout)
            finally:
                self._readers_waiting -= 1
            if self._loaded < target:
                raise StoreError(f"the database is behind its journal: {self._error or 'still loading'}")

    def stats(self) -> JournalStats:
        with self._cond:
            error = self._error or (None if self._alive() else "the loader has stopped")
            return JournalStats(self._pending_events, self._loads, self._load_seconds, error)

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closing)
                if not self._pending:
                    return
                if self._linger_until is None:
                    self._linger_until = time.monotonic() + LOAD_LINGER_SECONDS
                due = (self._pending_events >= LOAD_MIN_EVENTS or self._readers_waiting or self._closing
                       or time.monotonic() >= self._linger_until)
                if not due:
                    self._cond.wait(max(0.0, self._linger_until - time.monotonic()))
                    continue
                take: list[JournalBatch] = []
                size = 0
                for batch in self._pending:  # at most LOAD_EVENTS, but always the first batch
                    if take and size + len(batch.log_seq) > LOAD_EVENTS:
                        break
                    take.append(batch)
                    size += len(batch.log_seq)
            started = time.perf_counter()
            try:
                self._load(*rows.journal_tables(take))
            except Exception as exc:  # noqa: BLE001 - the loader must outlive any one failure
                log.error("loading the journal into the database failed (will retry): %s", exc)
                with self._cond:
                    self._error = str(exc)
                    if self._closing:
                        return  # left in the journal: the next open loads it
                    self._cond.wait(RETRY_SECONDS)
                continue
            with self._cond:
                for _ in take:
                    self._pending.popleft()
                self._pending_events -= size
                self._loaded += len(take)
                self._loads += 1
                self._load_seconds += time.perf_counter() - started
                self._error = None
                self._linger_until = None
                self._cond.notify_all()
            self.journal.trim(take[-1].last_log_seq)
