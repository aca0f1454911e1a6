"""The embedded backend: one DuckDB file holding the log, the facts, rollups and the catalog.

Input: ``WriteBatch``es, logical queries from ``store.base``, catalog rows. Output: plain rows.
A batch is durable, and ``write_batch`` returns, once it is in the journal (``store.journal``,
an fsynced append-only file beside the database). A loader thread then moves what the
journal took into DuckDB as Arrow tables, many batches per transaction, so a DuckDB commit
or checkpoint never holds up an acknowledgement. Every read of events or facts first waits
until the loader has taken what was written before the read began: a reader sees its writes.
Opening the store loads what a crash left in the journal.
Only this module speaks DuckDB; its exceptions leave as ``StoreError``. It does not
decide what is credited or how derived metrics are computed.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import duckdb
import pyarrow as pa

from watchdepth.collect.event import Event
from watchdepth.errors import StoreError
from watchdepth.store import duckdb_rollup, rows
from watchdepth.store.base import Aggregate, AggregateResult, WriteBatch
from watchdepth.store.duckdb_plan import plan_aggregate, plan_tops
from watchdepth.store.journal import Journal, last_log_seq, merge, stored_part

#: A group commit, by (any events, any facts). Rollups are not touched: ``maintain`` folds
#: the facts tail into them.
_INSERT_EVENTS = "INSERT INTO events BY NAME SELECT * FROM wd_batch_events; "
_INSERT_FACTS = "INSERT INTO facts BY NAME SELECT * FROM wd_batch_facts; "
_WRITE_SQL: dict[tuple[bool, bool], str | None] = {
    (True, True): f"BEGIN; {_INSERT_EVENTS}{_INSERT_FACTS}COMMIT",
    (True, False): f"BEGIN; {_INSERT_EVENTS}COMMIT",
    (False, True): f"BEGIN; {_INSERT_FACTS}COMMIT",
    (False, False): None,
}

log = logging.getLogger("watchdepth.store")

#: Most events the loader puts in one DuckDB transaction.
LOAD_EVENTS = 100_000
#: The loader waits for this many events, or LOAD_LINGER_SECONDS, or a reader, before a load:
#: a DuckDB commit has a fixed cost (its own WAL and fsync, the Arrow scan), worth sharing.
LOAD_MIN_EVENTS = 20_000
#: Rows per Arrow conversion in a load (see ``_arrow``).
ARROW_CHUNK = 2_048
#: Seconds the loader pauses after converting journaled batches ahead of their load.
CONVERT_PAUSE = 0.001
LOAD_LINGER_SECONDS = 0.5
#: Journaled events not yet loaded beyond which ``write_batch`` waits for the loader.
MAX_PENDING_EVENTS = 500_000
#: Seconds a read waits for the loader before it fails (the loader is failing, say disk full).
FRESH_SECONDS = 60.0
#: Seconds between the loader's attempts while DuckDB refuses a load.
RETRY_SECONDS = 1.0

_F = TypeVar("_F", bound=Callable[..., Any])


class JournalStats(NamedTuple):
    pending_events: int  # acknowledged, not yet in DuckDB
    loads: int
    load_seconds: float
    error: str | None  # why the loader is failing, while it is


def _fresh(method: _F) -> _F:
    """Reads of events and facts first wait for the loader (see the module's docstring)."""

    @functools.wraps(method)
    def wrapper(self: DuckDBStore, *args: Any, **kwargs: Any) -> Any:
        self.wait_loaded()
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


CATALOG_TABLES = {
    "projects": ("id", "name", "created_at"),
    "folders": ("id", "project_id", "parent_id", "name", "created_at"),
    "content": ("id", "kind", "project_id", "folder_id", "title", "duration", "stream_id", "created_at"),
    "tokens": ("id", "hash", "name", "projects", "read_only", "revoked", "created_at"),
    "settings": ("key", "value"),
}


class DuckDBStore:
    """A ``Store`` over one DuckDB file. One process holds the file; threads get cursors."""

    def __init__(self, path: str | Path, *, journal: bool = True) -> None:
        """``journal=False`` writes each batch straight into DuckDB (one transaction per call)."""
        self.path = str(path)
        try:
            self._con = duckdb.connect(self.path)
            had = duckdb_rollup.tables(self._con)
            self._con.execute(resources.files("watchdepth.store").joinpath("duckdb_schema.sql").read_text())
            duckdb_rollup.ensure_state(self._con, had)
        except duckdb.IOException as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        self._local = threading.local()
        self._write_lock = threading.Lock()
        #: maintain() folds rollups without the write lock (commits go on meanwhile; writers stay
        #: serialised by _write_lock, so facts rowids below a snapshot's count are all committed);
        #: this lock keeps content changes that invalidate ws_* from racing a fold.
        self._roll_lock = threading.Lock()
        # The journal and its loader (None: writes go straight to DuckDB).
        self._journal: Journal | None = None
        self._loader: threading.Thread | None = None
        self._pending: deque[WriteBatch] = deque()
        self._pending_events = 0
        self._journaled = 0  # batches appended to the journal so far
        self._last_journaled = 0  # the highest log_seq among them
        self._loaded = 0  # ... and loaded into DuckDB
        self._load_error: str | None = None
        self._readers_waiting = 0  # reads waiting for the loader: it loads at once for them
        self._linger_until: float | None = None  # when the loader goes without more events
        self._loads = 0  # transactions the loader committed, and their time
        self._load_seconds = 0.0
        self._closing = False
        self._cond = threading.Condition()
        self._append_lock = threading.Lock()
        if journal and self.path != ":memory:":
            self._journal = Journal(Path(self.path + ".journal"))
            self._recover()
            self._loader = threading.Thread(target=self._load_loop, name="watchdepth-loader", daemon=True)
            self._loader.start()

    # -- plumbing -------------------------------------------------------------------------

    def _cur(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._local.cur = self._con.cursor()
        return cur

    def _run(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._cur().execute(sql, params).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    def close(self) -> None:
        """Load what the journal holds, then close (the journal is emptied if all went in)."""
        if self._loader is not None and self._journal is not None:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._loader.join()
            if not self._pending:
                self._journal.clear()
            self._journal.close()
        try:
            self._con.close()
        except duckdb.Error as exc:  # pragma: no cover - closing twice or after a crash
            raise StoreError(str(exc)) from exc

    # -- ingest ---------------------------------------------------------------------------

    def write_batch(self, batch: WriteBatch) -> None:
        """Make the batch durable: in the journal (then loaded behind), or in DuckDB directly."""
        if self._journal is None:
            self._load(batch)
            return
        batch = stored_part(batch)
        if not batch.events:
            if batch.credits:  # facts alone (no log number to replay them by): straight in, in order
                self.wait_loaded()
                self._load(batch)
            return  # only duplicates: nothing to store
        with self._cond:
            if self._closing:
                raise StoreError("the store is closing")
            if not self._cond.wait_for(lambda: self._pending_events < MAX_PENDING_EVENTS or self._closing,
                                       FRESH_SECONDS):
                raise StoreError(f"the database is {self._pending_events} events behind its journal: "
                                 f"{self._load_error or 'still loading'}")
        with self._append_lock:
            self._journal.append(batch)
            with self._cond:
                self._pending.append(batch)
                self._pending_events += len(batch.events)
                self._journaled += 1
                self._last_journaled = last_log_seq(batch)
                self._cond.notify_all()

    def wait_loaded(self, timeout: float = FRESH_SECONDS) -> None:
        """Return once every batch journaled before this call is in DuckDB."""
        if self._loader is None:
            return
        with self._cond:
            target = self._journaled
            if self._loaded >= target:
                return
            self._readers_waiting += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: self._loaded >= target or not self._loader_alive(), timeout)
            finally:
                self._readers_waiting -= 1
            if self._loaded < target:
                raise StoreError(f"the database is behind its journal: {self._load_error or 'still loading'}")

    def journal_stats(self) -> JournalStats | None:
        """The journal's backlog and the loader's progress (for /metrics). Optional, not in ``Store``."""
        if self._loader is None:
            return None
        with self._cond:
            error = self._load_error or (None if self._loader_alive() else "the loader has stopped")
            return JournalStats(self._pending_events, self._loads, self._load_seconds, error)

    def _loader_alive(self) -> bool:
        return self._loader is not None and self._loader.is_alive()

    def _load_loop(self) -> None:
        """The loader thread: convert journaled batches to Arrow as they come, ARROW_CHUNK
        events at a time (a few ms of GIL each, not one long stretch at load time), and load
        what is pending, up to about LOAD_EVENTS, in one transaction once enough is there, or
        it waited long enough, or a reader waits."""
        assert self._journal is not None
        # Arrow tables ahead of their load: (batches covered, events, facts), covering _pending's head.
        arrow: list[tuple[int, pa.Table, pa.Table]] = []
        covered = covered_events = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closing)
                if not self._pending:
                    return
                if self._linger_until is None:
                    self._linger_until = time.monotonic() + LOAD_LINGER_SECONDS
                due = (self._pending_events >= LOAD_MIN_EVENTS or self._readers_waiting or self._closing
                       or time.monotonic() >= self._linger_until)
                if not due and self._pending_events - covered_events < ARROW_CHUNK:
                    self._cond.wait(max(0.0, self._linger_until - time.monotonic()))
                    continue
                rest = list(itertools.islice(self._pending, covered, None))
            if rest:
                arrow.append((len(rest), *_arrow(merge(rest))))
                covered += len(rest)
                covered_events += sum(len(b.events) for b in rest)
            if not due:
                time.sleep(CONVERT_PAUSE)  # let the event loop have the GIL between conversions
                continue
            take = size = parts = 0
            for k, events, _ in arrow:
                if parts and size + events.num_rows > LOAD_EVENTS:
                    break
                parts += 1
                take += k
                size += events.num_rows
            started = time.perf_counter()
            try:
                self._load_tables(pa.concat_tables([e for _, e, _ in arrow[:parts]]),
                                  pa.concat_tables([f for _, _, f in arrow[:parts]]))
            except Exception as exc:  # noqa: BLE001 - the loader must outlive any one failure
                log.error("loading the journal into DuckDB failed (will retry): %s", exc)
                with self._cond:
                    self._load_error = str(exc)
                    if self._closing:
                        return  # left in the journal: the next open loads it
                    self._cond.wait(RETRY_SECONDS)
                continue
            del arrow[:parts]
            covered -= take
            covered_events -= size
            with self._cond:
                last = self._pending[take - 1]
                for _ in range(take):
                    self._pending.popleft()
                self._pending_events -= size
                self._loaded += take
                self._loads += 1
                self._load_seconds += time.perf_counter() - started
                self._load_error = None
                self._linger_until = None
                self._cond.notify_all()
            self._journal.trim(last_log_seq(last))

    def _recover(self) -> None:
        """Load the journal's batches that DuckDB does not have yet (after a crash), then empty it."""
        assert self._journal is not None
        have = int(self._run("SELECT coalesce(max(log_seq), 0) FROM events")[0][0])
        chunk: list[WriteBatch] = []
        size = 0
        for batch in self._journal.replay():
            if last_log_seq(batch) <= have:
                continue
            chunk.append(batch)
            size += len(batch.events)
            if size >= LOAD_EVENTS:
                self._load(merge(chunk))
                chunk, size = [], 0
        if chunk:
            self._load(merge(chunk))
        self._journal.clear()

    def _load(self, batch: WriteBatch) -> None:
        """Store the batch's events and facts in one DuckDB transaction (one call into DuckDB).

        One ``execute`` for the whole transaction: each call releases the GIL and must win it
        back from the event loop (up to the switch interval each time), so the call count,
        not the rows, set the cost of a commit under load. The Arrow tables are read through
        DuckDB's replacement scan of this frame's locals (no register/unregister round trips).
        """
        self._load_tables(*_arrow(batch))

    def _load_tables(self, wd_batch_events: pa.Table, wd_batch_facts: pa.Table) -> None:
        """``_load`` of a batch already in Arrow (the tables are read by name in the SQL)."""
        sql = _WRITE_SQL[bool(wd_batch_events.num_rows), bool(wd_batch_facts.num_rows)]
        if sql is None:
            return  # only duplicates: nothing to store
        with self._write_lock:
            cur = self._cur()
            try:
                cur.execute(sql)
            except duckdb.Error as exc:
                _rollback(cur)
                raise StoreError(f"write failed: {exc}") from exc

    def _insert(self, cur: duckdb.DuckDBPyConnection, events: pa.Table, facts: pa.Table) -> None:
        # Rollups are not computed per commit: maintain() folds the facts tail (query helper).
        if events.num_rows:
            cur.register("batch_events", events)
            cur.execute("INSERT INTO events BY NAME SELECT * FROM batch_events")
            cur.unregister("batch_events")
        if facts.num_rows:
            cur.register("batch_rows", facts)
            cur.execute("INSERT INTO facts BY NAME SELECT * FROM batch_rows")
            cur.unregister("batch_rows")

    def bulk_load(self, events: pa.Table, facts: pa.Table) -> None:
        """Append Arrow tables shaped like ``rows.events_table`` / ``facts_table`` in one
        transaction (benchmarks, copies); ``maintain`` rolls them up. Optional, not in ``Store``."""
        with self._write_lock:
            cur = self._cur()
            try:
                cur.execute("BEGIN")
                self._insert(cur, events, facts)
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                _rollback(cur)
                raise StoreError(f"bulk load failed: {exc}") from exc

    @_fresh
    def maintain(self) -> None:
        """Fold the facts written since the last call into every rollup (one transaction)."""
        with self._roll_lock:
            cur = self._cur()
            try:
                cur.execute("BEGIN")
                duckdb_rollup.roll(cur)
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                _rollback(cur)
                raise StoreError(f"rollup failed: {exc}") from exc

    def next_log_seq(self) -> int:
        """One past the highest log number stored, in DuckDB or still on its way from the journal."""
        return max(int(self._run("SELECT coalesce(max(log_seq), 0) FROM events")[0][0]), self._last_journaled) + 1

    @_fresh
    def recent_sessions(self, since_ms: int) -> list[str]:
        got = self._run(
            "SELECT DISTINCT session_id FROM events WHERE t >= make_timestamptz(?::BIGINT * 1000)",
            [since_ms],
        )
        return [r[0] for r in got]

    @_fresh
    def session_log(self, session_ids: Sequence[str]) -> Iterator[Event]:
        """The stored events of these sessions, in log order (for ``replay``)."""
        if not session_ids:
            return iter(())
        got = self._run(
            f"SELECT {rows.EVENT_SELECT}, status FROM events WHERE true "
            "AND session_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY log_seq",
            [list(session_ids)],
        )
        return (rows.event_from_row(r) for r in got)

    @_fresh
    def loads_stored(self, load_ids: Sequence[str]) -> set[str]:
        """Which of these loads already have events in the log (to spot a forgotten session)."""
        if not load_ids:
            return set()
        got = self._run("SELECT DISTINCT load_id FROM events WHERE load_id IN (SELECT unnest(?::VARCHAR[]))", [list(load_ids)])
        return {r[0] for r in got}

    @_fresh
    def first_event_ms(self) -> int | None:
        """The earliest credited hour (for ``period=all_time``): rolled-up hours and the facts tail."""
        got = self._run(
            "SELECT epoch_ms(least((SELECT min(hour) FROM agg_hour), (SELECT time_bucket(INTERVAL '1 hour', min(t), 'UTC') "
            "FROM facts WHERE rowid >= (SELECT wm FROM rollup_state WHERE id = 1))))"
        )
        return int(got[0][0]) if got and got[0][0] is not None else None

    @_fresh
    def counters(self) -> dict[str, int]:
        """Stored events by status (duplicates are not stored)."""
        return {name: int(value) for name, value in self._run("SELECT status, count(*) FROM events GROUP BY status")}

    # -- analytics ------------------------------------------------------------------------

    @_fresh
    def top_lists(self, q: Aggregate, dims: tuple[str, ...], limit: int) -> dict[str, list[tuple[Any, ...]]] | None:
        """The top ``limit`` (value, *SUMS) of each dim by views, player loads, value: what
        ``aggregate`` answers for ``dims=(d,), order=(views desc, player_loads desc), limit``,
        for all dims in one scan. None when they cannot share one (ask ``aggregate`` then).
        Optional, not in ``Store``."""
        cur = self._cur()
        try:
            cur.execute("BEGIN")
            try:
                wm, ws_valid, n = cur.execute(
                    "SELECT wm, ws_valid, (SELECT count(*) FROM facts) FROM rollup_state WHERE id = 1").fetchall()[0]
                plan = plan_tops(q, dims, limit, wm, ws_valid, tail=n > wm)
                got = cur.execute(plan.sql, plan.params).fetchall() if plan else None
            finally:
                cur.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(cur)
            raise StoreError(f"query failed: {exc}") from exc
        if got is None:
            return None
        out: dict[str, list[tuple[Any, ...]]] = {d: [] for d in dims}
        for r in got:
            out[r[0]].append(tuple(r[1:-1]))
        return out

    @_fresh
    def aggregate(self, q: Aggregate) -> AggregateResult:
        """One read transaction: the watermark and the rollups it describes are one snapshot."""
        cur = self._cur()
        try:
            cur.execute("BEGIN")
            try:
                wm, ws_valid, n = cur.execute(
                    "SELECT wm, ws_valid, (SELECT count(*) FROM facts) FROM rollup_state WHERE id = 1").fetchall()[0]
                plan = plan_aggregate(q, wm, ws_valid, tail=n > wm)
                got = cur.execute(plan.sql, plan.params).fetchall()
                if got:
                    total = int(got[0][-1])
                elif q.offset:  # a page past the end: the window count has no row to ride on
                    total = int(cur.execute(plan.count_sql, plan.params).fetchall()[0][0])
                else:
                    total = 0
            finally:
                cur.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(cur)
            raise StoreError(f"query failed: {exc}") from exc
        return AggregateResult(plan.columns, [tuple(r[:-1]) for r in got], total)

    @_fresh
    def watched_sets(self, content_id: str, start_ms: int, end_ms: int) -> list[list[tuple[float, float]]]:
        """Watched sets of the (session, content) pairs whose impression falls in the period."""
        got = self._run(
            """
            WITH pairs AS (
                SELECT DISTINCT session_id FROM facts
                WHERE content_id = $c AND unique_views = 1
                  AND t >= make_timestamptz($s::BIGINT * 1000) AND t < make_timestamptz($e::BIGINT * 1000)
            )
            SELECT p.session_id, list(f.seg_start ORDER BY f.seg_start), list(f.seg_end ORDER BY f.seg_start)
            FROM pairs p LEFT JOIN facts f
              ON f.session_id = p.session_id AND f.content_id = $c AND f.seg_start IS NOT NULL
            GROUP BY p.session_id
            """,
            {"c": content_id, "s": start_ms, "e": end_ms},
        )
        return [[(a, b) for a, b in zip(starts, ends) if a is not None] for _, starts, ends in got]

    def run_spans(self, content_ids: Sequence[str], start_ms: int, end_ms: int) -> list[tuple[int, int, str]]:
        """(first event ms, last event ms, session) of every run of these contents touching the period."""
        return [span for spans in self.run_spans_by_content(content_ids, start_ms, end_ms).values() for span in spans]

    @_fresh
    def run_spans_by_content(self, content_ids: Sequence[str], start_ms: int, end_ms: int
                             ) -> dict[str, list[tuple[int, int, str]]]:
        """``run_spans`` of many contents in one query, by content id (a run plays one content)."""
        got = self._run(
            """
            SELECT epoch_ms(min(t)), epoch_ms(max(t)), session_id, content_id FROM events
            WHERE status = 'applied' AND run IS NOT NULL AND content_id IN (SELECT unnest($ids::VARCHAR[]))
              AND t < make_timestamptz($e::BIGINT * 1000)
            GROUP BY load_id, run, session_id, content_id
            HAVING max(t) >= make_timestamptz($s::BIGINT * 1000)
            """,
            {"ids": list(content_ids), "s": start_ms, "e": end_ms},
        )
        out: dict[str, list[tuple[int, int, str]]] = {}
        for a, b, session, content in got:
            out.setdefault(content, []).append((int(a), int(b), session))
        return out

    # -- catalog --------------------------------------------------------------------------

    def catalog_rows(self, table: str) -> list[dict[str, Any]]:
        cols = CATALOG_TABLES[table]
        got = self._run(f"SELECT {', '.join(cols)} FROM {table}")
        return [dict(zip(cols, r)) for r in got]

    def catalog_put(self, table: str, row: dict[str, Any], *, create: bool) -> None:
        cols = CATALOG_TABLES[table]
        key = cols[0]
        values = [row.get(c) for c in cols]
        if create:
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
        else:
            sets = ", ".join(f"{c} = ?" for c in cols[1:])
            sql = f"UPDATE {table} SET {sets} WHERE {key} = ?"
            values = values[1:] + values[:1]
        with self._write_lock, self._roll_lock:
            if table == "content" and not create:
                self._ws_check(row)
            self._run(sql, values)

    def catalog_bulk(self, table: str, rows_: Sequence[dict[str, Any]]) -> None:
        """Insert many new catalog rows at once (benchmark data). Optional, not in ``Store``."""
        cols = CATALOG_TABLES[table]
        data = pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows_])
        with self._write_lock:
            cur = self._cur()
            cur.register("new_catalog", data)
            try:
                cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_catalog")
            except duckdb.Error as exc:
                raise StoreError(f"catalog insert failed: {exc}") from exc
            finally:
                cur.unregister("new_catalog")

    def catalog_delete(self, table: str, key: str) -> None:
        with self._write_lock, self._roll_lock:
            if table == "content":
                self._run("UPDATE rollup_state SET ws_valid = false WHERE id = 1")
            self._run(f"DELETE FROM {table} WHERE {CATALOG_TABLES[table][0]} = ?", [key])

    def _ws_check(self, row: dict[str, Any]) -> None:
        """The ws_* rollups carry each content's project and duration: a change invalidates them."""
        got = self._run("SELECT project_id, duration FROM content WHERE id = ?", [row.get("id")])
        if got and (got[0][0] != row.get("project_id") or got[0][1] != row.get("duration")):
            self._run("UPDATE rollup_state SET ws_valid = false WHERE id = 1")


def _arrow(batch: WriteBatch) -> tuple[pa.Table, pa.Table]:
    """The batch as Arrow tables, built ARROW_CHUNK rows at a time: each conversion holds the
    GIL for its whole length, and the event loop must not wait on a large load for long."""
    n, m = len(batch.events), len(batch.credits)
    if n <= ARROW_CHUNK and m <= ARROW_CHUNK:
        return rows.events_table(batch), rows.facts_table(batch.credits)
    events = pa.concat_tables([
        rows.events_table(WriteBatch(*(column[i:i + ARROW_CHUNK] for column in batch[:4]), ()))
        for i in range(0, max(n, 1), ARROW_CHUNK)])
    facts = pa.concat_tables([rows.facts_table(batch.credits[i:i + ARROW_CHUNK]) for i in range(0, max(m, 1), ARROW_CHUNK)])
    return events, facts


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass

