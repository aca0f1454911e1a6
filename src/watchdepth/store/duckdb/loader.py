"""The embedded store's loader: journaled batches into the database, behind the acknowledgements.

Input: ``WriteBatch``es (``write``: into the journal, durable when it returns), a
``load(events, facts)`` callable that stores two Arrow tables in one transaction, and a
``probe`` of the same shape that tries them and rolls back.
Output: those calls, from one thread, many batches at a time; ``wait_loaded`` for readers.
A batch is encoded once, as JSON lines (``rows.encode``), for the journal; the thread keeps
those bytes and, once LOAD_MIN_EVENTS are pending, or LOAD_LINGER_SECONDS passed, or a reader waits (a database
commit has a fixed cost worth sharing), turns them into Arrow with pyarrow's JSON reader
(``rows.journal_tables``: the parse lets go of the GIL, so it runs beside the event loop
rather than taking turns with it) and loads them.

Two kinds of failure. A load the database cannot take now (a full disk, an I/O error, anything
unknown) is retried every RETRY_SECONDS; the batches stay in the journal and in memory meanwhile,
and readers get ``Unavailable`` (503) after ERROR_WAIT_SECONDS instead of waiting on. A load
``Refused`` for its content (a value the engine cannot convert or store: retrying cannot help)
has its refused rows found and moved to the ``Quarantine`` file; the rest loads, and so does
everything after it (see ``JournalLoader._quarantine`` for why rows, not whole batches).
Free disk space under a reserve (``DiskGuard``) refuses new writes with ``Unavailable``.
It knows no SQL (``store.duckdb`` gives ``load`` and ``probe``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from watchdepth.errors import StoreError, Unavailable
from watchdepth.store import rows
from watchdepth.store.base import WriteBatch
from watchdepth.store.duckdb.journal import (
    RETRY_AFTER_SECONDS,
    DiskGuard,
    Journal,
    Quarantine,
    batch_key,
    batch_rows,
    quarantine_record,
)
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
#: ... or, while loads keep failing, this many seconds (then ``Unavailable``: try again later).
ERROR_WAIT_SECONDS = 5.0
#: Seconds between attempts while the database refuses a load.
RETRY_SECONDS = 1.0
#: Most probes (rolled-back trial inserts) spent finding the refused rows of one batch's
#: events, and as many for its credits: ~2·log2(n) find each bad row, so a few bad rows
#: among 20,000 are found one by one; past the budget a refused part goes whole.
PROBE_BUDGET = 256

Load = Callable[[pa.Table, pa.Table], None]


class Refused(StoreError):
    """The database will never take these rows (a value it cannot convert or store): retrying
    is futile. Any other failure of a load is taken for a passing one and retried."""


class JournalStats(NamedTuple):
    pending_events: int  # acknowledged, not yet in the database
    loads: int
    load_seconds: float
    error: str | None  # why loading fails, while it does
    quarantined: int = 0  # journal batches with rows moved to the quarantine, since start
    disk_low: bool = False  # free space under the reserve: writes refused


class JournalLoader:
    """Owns the journal's writes and the loader thread. ``write`` is called from one thread."""

    def __init__(
        self,
        journal: Journal,
        load: Load,
        *,
        probe: Load | None = None,
        quarantine: Quarantine | None = None,
        guard: DiskGuard | None = None,
    ) -> None:
        """Without ``probe`` a refused batch is quarantined whole; without ``quarantine`` it is
        retried like any failure (and blocks what follows it)."""
        self.journal = journal
        self._load = load
        self._probe = probe
        self.quarantine = quarantine
        self.guard = guard
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._append_lock = threading.Lock()
        self._pending: deque[JournalBatch] = deque()
        self._pending_events = 0
        self._journaled = 0  # batches appended to the journal (or recovered from it) so far
        self.last_log_seq = 0  # the highest log_seq among them
        self._loaded = 0  # ... and loaded
        self._error: str | None = None
        self._failing_since: float | None = None
        self._single = False  # the next load takes one batch (a refusal no batch made alone)
        self._readers_waiting = 0  # reads waiting: the loader goes at once for them
        self._linger_until: float | None = None  # when the loader goes without more events
        self._loads = 0  # loads committed, and their time
        self._load_seconds = 0.0
        self._closing = False

    # -- lifecycle --------------------------------------------------------------------------

    def recover(self, stored_log_seq: int) -> None:
        """Queue the journal's batches past ``stored_log_seq`` (what a crash left) for the
        loader thread; call before ``start``. Nothing is loaded here, so a batch the database
        refuses, or a full disk, cannot keep the store from opening. A load is one
        transaction, so a batch is wholly in the database or not at all; a batch with rows in
        the quarantine comes back without them (its good rows were, or will be, one load)."""
        refused = self.quarantine.refused_rows() if self.quarantine is not None else {}
        segments: dict[Path, int] = {}
        for path, batch in self.journal.replay_segments():
            segments[path] = max(segments.get(path, 0), batch.last_log_seq)
            self.last_log_seq = max(self.last_log_seq, batch.last_log_seq)
            bad = refused.get((batch.last_log_seq, batch_key(batch)))
            if bad is not None:
                batch = _without(batch, *bad)
            if max(batch.log_seq, default=0) <= stored_log_seq:
                continue  # in the database already (or nothing of it left to load)
            self._pending.append(batch)
            self._pending_events += len(batch.log_seq)
            self._journaled += 1
        for path, last in segments.items():
            self.journal.adopt(path, last)
        self.journal.trim(stored_log_seq)
        if self._pending:
            log.info("loading %d events a previous run left in the journal", self._pending_events)

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
        """Journal a stored batch (no duplicates, at least one event): durable on return.
        ``Unavailable`` (nothing written) while the disk is under its reserve or the loader
        is too far behind."""
        with self._cond:
            if self._closing:
                raise StoreError("the store is closing")
            if not self._wait(lambda: self._pending_events < MAX_PENDING_EVENTS or self._closing, FRESH_SECONDS):
                log.error(
                    "journal writes refused: the database is %d events behind its journal (%s)",
                    self._pending_events,
                    self._error or "still loading",
                )
                raise Unavailable(
                    "the server is behind with storing events; try again later", retry_after=RETRY_AFTER_SECONDS
                )
        if self.guard is not None:
            self.guard.check()
        encoded = rows.encode(batch)
        with self._append_lock:
            try:
                self.journal.append(encoded)
            except Unavailable:
                if self.guard is not None:
                    self.guard.full()
                raise
            with self._cond:
                self._pending.append(encoded)
                self._pending_events += len(encoded.log_seq)
                self._journaled += 1
                self.last_log_seq = encoded.last_log_seq
                self._cond.notify_all()

    def writable(self) -> None:
        """Raise ``Unavailable`` now if ``write`` would refuse for the disk (a cheap check)."""
        if self.guard is not None:
            self.guard.check()

    def wait_loaded(self, timeout: float | None = None) -> None:
        """Return once every batch journaled before this call is loaded."""
        with self._cond:
            target = self._journaled
            if self._loaded >= target:
                return
            self._readers_waiting += 1
            self._cond.notify_all()
            try:
                self._wait(
                    lambda: self._loaded >= target or not self._alive(), FRESH_SECONDS if timeout is None else timeout
                )
            finally:
                self._readers_waiting -= 1
            if self._loaded < target:
                if self._error is not None and self._alive():
                    raise Unavailable(
                        "the database is not taking the latest events yet; try again later",
                        retry_after=RETRY_AFTER_SECONDS,
                    )
                raise StoreError(f"the database is behind its journal: {self._error or 'still loading'}")

    def _wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait (holding ``_cond``) until ``done()``, for ``timeout`` seconds at most, and at most
        ERROR_WAIT_SECONDS of loads failing while it waits. Whether ``done()`` came true."""
        started = time.monotonic()
        deadline = started + timeout
        while not done():
            now = time.monotonic()
            failing = self._failing_since
            if now >= deadline or (failing is not None and now - max(failing, started) >= ERROR_WAIT_SECONDS):
                return False
            self._cond.wait(min(deadline - now, 0.25) if failing is not None else deadline - now)
        return True

    def stats(self) -> JournalStats:
        with self._cond:
            error = self._error or (None if self._alive() else "the loader has stopped")
            quarantined = self.quarantine.count if self.quarantine is not None else 0
            low = self.guard is not None and self.guard.low()
            return JournalStats(self._pending_events, self._loads, self._load_seconds, error, quarantined, low)

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
                due = (
                    self._pending_events >= LOAD_MIN_EVENTS
                    or self._readers_waiting
                    or self._closing
                    or time.monotonic() >= self._linger_until
                )
                if not due:
                    self._cond.wait(max(0.0, self._linger_until - time.monotonic()))
                    continue
                take = self._take()
            started = time.perf_counter()
            try:
                try:
                    self._load(*_tables(take))
                except Refused as exc:
                    if self.quarantine is None:
                        raise
                    self._sift(take, exc)  # then load again: the refused rows are gone
                    continue
            except Exception as exc:  # noqa: BLE001 - the loader must outlive any one failure
                log.error("loading the journal into the database failed (will retry): %s", exc)
                with self._cond:
                    self._error = str(exc)
                    if self._failing_since is None:
                        self._failing_since = time.monotonic()
                    self._cond.notify_all()  # readers stop waiting after ERROR_WAIT_SECONDS
                    if self._closing:
                        return  # left in the journal: the next open loads it
                    self._cond.wait(RETRY_SECONDS)
                continue
            with self._cond:
                for _ in take:
                    self._pending.popleft()
                self._pending_events -= sum(len(b.log_seq) for b in take)
                self._loaded += len(take)
                self._loads += 1
                self._load_seconds += time.perf_counter() - started
                if self._error is not None:
                    log.warning("loading the journal into the database works again")
                self._error = None
                self._failing_since = None
                self._single = False
                self._linger_until = None
                self._cond.notify_all()
            self.journal.trim(take[-1].last_log_seq)

    def _take(self) -> list[JournalBatch]:
        """The next load: the first batch, then more while under LOAD_EVENTS (holding ``_cond``)."""
        take: list[JournalBatch] = []
        size = 0
        for batch in self._pending:
            if take and (self._single or size + len(batch.log_seq) > LOAD_EVENTS):
                break
            take.append(batch)
            size += len(batch.log_seq)
        return take

    # -- refusals ---------------------------------------------------------------------------

    def _sift(self, take: list[JournalBatch], refusal: Refused) -> None:
        """A load of ``take`` was refused: quarantine the refused rows of each batch refused on
        its own, putting what is left of it in its place at the head of the queue. When no batch
        of several is refused alone, the next loads take one batch each, which settles it."""
        found = False
        for i, batch in enumerate(take):
            reason = refusal
            if len(take) > 1:
                try:
                    self._probe_batch(batch)
                    continue
                except Refused as exc:
                    reason = exc
            good = self._quarantine(batch, reason)
            found = True
            with self._cond:
                self._pending[i] = good  # take is the head of _pending; only this thread pops
                self._pending_events -= len(batch.log_seq) - len(good.log_seq)
        if not found:
            self._single = True

    def _quarantine(self, batch: JournalBatch, refusal: Refused) -> JournalBatch:
        """Move the rows of ``batch`` the database refuses to the quarantine; what remains.

        Rows, not the whole batch: a journal batch is one group commit, the events of every
        request that arrived within a millisecond or so (up to 20,000, from many clients), so
        one bad value must not take its neighbours' acknowledged events with it. The refused
        rows are found by bisection, each probe a rolled-back transaction (about 2·log2(n)
        probes per bad row, PROBE_BUDGET at most), on events and credits separately (each row stands alone in the
        table). What remains is loaded later as one transaction, as any batch is. The batch
        goes whole when no single row is refused (the rows are refused together), when every
        event is (its credits would hang without them), when what remains is refused again,
        or when there is no ``probe``. The record is on disk before anything of the batch is
        loaded, so that after a crash ``recover`` leaves the same rows out.
        """
        events = list(range(len(batch.log_seq)))
        facts = list(range(len(batch.facts.splitlines())))
        bad_events: list[int] = events
        bad_facts: list[int] = facts
        whole = True
        if self._probe is not None:
            bad_events = _refused_rows(events, lambda part: self._refuses(batch_rows(batch, part, [])))
            bad_facts = _refused_rows(facts, lambda part: self._refuses(batch_rows(batch, [], part)))
            whole = not (bad_events or bad_facts) or len(bad_events) == len(events)
            if not whole:
                good = _without(batch, bad_events, bad_facts)
                whole = self._refuses(good)
            if whole:
                bad_events, bad_facts = events, facts
        assert self.quarantine is not None
        self.quarantine.add(quarantine_record(batch, bad_events, bad_facts, str(refusal), whole))
        log.error(
            "quarantined %d of %d events and %d of %d credits of the journal batch up to log number %d "
            "(%s): the database refused them: %s",
            len(bad_events),
            len(events),
            len(bad_facts),
            len(facts),
            batch.last_log_seq,
            self.quarantine.path.name,
            refusal,
        )
        return _without(batch, bad_events, bad_facts)

    def _probe_batch(self, batch: JournalBatch) -> None:
        if self._probe is None:
            raise Refused("no probe: refused with the load it was part of")
        self._probe(*_tables([batch]))

    def _refuses(self, batch: JournalBatch) -> bool:
        """Whether the database refuses these rows (any other failure propagates: not now)."""
        try:
            self._probe_batch(batch)
        except Refused:
            return True
        return False


def _tables(parts: Sequence[JournalBatch]) -> tuple[pa.Table, pa.Table]:
    """``rows.journal_tables``; JSON that does not fit a column is ``Refused`` (it always will be)."""
    try:
        return rows.journal_tables(parts)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise Refused(f"the journal's rows do not fit the tables: {exc}") from exc


def _without(batch: JournalBatch, events: Sequence[int], facts: Sequence[int]) -> JournalBatch:
    """The batch less these event and fact rows."""
    bad_e, bad_f = set(events), set(facts)
    return batch_rows(
        batch,
        [i for i in range(len(batch.log_seq)) if i not in bad_e],
        [i for i in range(len(batch.facts.splitlines())) if i not in bad_f],
    )


def _refused_rows(rows_: list[int], refused: Callable[[list[int]], bool], budget: int | None = None) -> list[int]:
    """The rows refused on their own, by bisection: a part that is taken holds none of them.
    After ``budget`` probes (PROBE_BUDGET) a refused part is not split further but counted
    refused whole: many bad rows cost a bounded number of probes, not two per row."""
    left = PROBE_BUDGET if budget is None else budget
    out: list[int] = []
    stack = [rows_]
    while stack:
        part = stack.pop()
        if not part:
            continue
        left -= 1
        if not refused(part):
            continue
        if len(part) == 1 or left <= 0:
            out += part
            continue
        mid = len(part) // 2
        stack += [part[mid:], part[:mid]]
    return sorted(out)
