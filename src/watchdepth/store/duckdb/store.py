"""The embedded backend: one DuckDB file holding the log, the facts, rollups and the catalog.

Input: ``WriteBatch``es, logical queries from ``store.base``, catalog rows. Output: plain rows.
A batch is durable, and ``write_batch`` returns, once it is in the journal (``store.journal``,
an fsynced append-only file beside the database). A loader thread (``store.loader``) then
moves it into DuckDB, many batches per transaction, so a DuckDB commit or checkpoint never
holds up an acknowledgement. Every read of events or facts first waits until the loader has
taken what was written before the read began: a reader sees its writes. Opening the store
queues what a crash left in the journal for the loader (it never waits for it, so a batch the
database refuses or a full disk cannot keep it from opening); rows DuckDB refuses for their
content go to ``DATA/watchdepth.duckdb.quarantine.jsonl`` (``store.loader``). The file, its WAL,
the journal and the quarantine are the owner's alone (0600).
Only this module speaks DuckDB; its exceptions leave as ``StoreError``. It does not
decide what is credited or how derived metrics are computed.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from watchdepth.collect.event import Event
from watchdepth.errors import StoreError
from watchdepth.schema import CATALOG_TABLES
from watchdepth.store import rows
from watchdepth.store.base import SUMS, Aggregate, AggregateResult, WriteBatch
from watchdepth.store.duckdb import rollup as duckdb_rollup
from watchdepth.store.duckdb.journal import DiskGuard, Journal, Quarantine
from watchdepth.store.duckdb.loader import JournalLoader, JournalStats, Refused
from watchdepth.store.duckdb.plan import ZEROS, plan_aggregate, plan_tops

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

#: DuckDB checkpoints once its WAL passes this size. The default (16 MB, about 50,000 events
#: here) rewrites the table's last, growing row group again at each checkpoint: loading cost
#: 19 us/event at 3M stored events, against 10 with 128 MB (bench/load_bench.py). The price:
#: up to ~128 MB of WAL to replay at open after a crash (about 1 s), and as much in memory.
CHECKPOINT_THRESHOLD = "128MB"

#: ``maintain`` (every 30 s under ``serve``) checkpoints once the WAL holds this much. DuckDB
#: keeps the rows it has not checkpointed in memory: with CHECKPOINT_THRESHOLD alone they saw
#: up to ~140 MB and back every few minutes at 1,500 events/s; so they stay under one maintain
#: period of traffic (15-25 MB at that rate, bench/soak.py) while CHECKPOINT_THRESHOLD still
#: sets the pace of fast loading (it passes 128 MB within 30 s from ~14,000 events/s). The
#: price is at the slow end: checkpoints as often as DuckDB's 16 MB default there, which
#: bench/load_bench.py puts at ~18 against ~8 us/event (under 3 % of a core at 1,500 events/s;
#: inferred from that bench, not measured through maintain). Below 8 MB a checkpoint would
#: rewrite the table's last row group for little memory.
MAINTAIN_CHECKPOINT_BYTES = 8 << 20

#: DuckDB's memory_limit unless ``WATCHDEPTH_DUCKDB_MEMORY_LIMIT`` says otherwise (DuckDB's own
#: default is lower on a small machine: it is kept then). DuckDB's default is 80 % of RAM, and
#: DuckDB keeps every block a checkpoint writes until its limit makes it let go, so a server
#: under steady traffic would grow toward most of the machine (docs/benchmarks.md, "Soak"):
#: 1 GiB is 8-9 hours of blocks written at 1,500 events/s. A query that needs more spills to
#: the data dir.
SERVICE_MEMORY_LIMIT = 1 << 30

#: The smallest ``WATCHDEPTH_DUCKDB_MEMORY_LIMIT`` taken: below it DuckDB cannot hold the rows
#: not yet checkpointed and a query (at "1KB" every query fails). The soak ran at 48 MB.
MIN_MEMORY_LIMIT = 32 << 20

#: How DuckDB prints a size (``current_setting('memory_limit')``: "18.8 GiB").
_SIZE_UNITS = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50}

#: Free space the journal leaves in the data dir (it refuses writes below it): room for
#: DuckDB to load what the journal already holds, and to checkpoint.
DISK_RESERVE_BYTES = 64 << 20

#: DuckDB errors about the rows themselves (a value it cannot convert or store): a load
#: refused so is refused forever, and its rows go to the quarantine. Any other error (I/O,
#: a full disk, memory, a transaction conflict) is taken to pass, and the load is retried.
_REFUSED = (duckdb.DataError, duckdb.IntegrityError, duckdb.InvalidInputException)

_F = TypeVar("_F", bound=Callable[..., Any])


def _memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> float | None:
    """DuckDB's memory_limit now, in bytes; None in a form this DuckDB does not print today."""
    shown = str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])  # type: ignore[index]
    number, _, unit = shown.partition(" ")
    try:
        return float(number) * _SIZE_UNITS[unit]
    except (ValueError, KeyError):
        return None


def _set_memory_limit(con: duckdb.DuckDBPyConnection, setting: str) -> None:
    """``setting`` (``WATCHDEPTH_DUCKDB_MEMORY_LIMIT``) if DuckDB takes it and it is at least
    ``MIN_MEMORY_LIMIT``; empty: DuckDB's default lowered to ``SERVICE_MEMORY_LIMIT``, never raised."""
    if not setting:
        default = _memory_limit_bytes(con)
        if default is not None and default > SERVICE_MEMORY_LIMIT:
            con.execute("SET memory_limit = ?", [f"{SERVICE_MEMORY_LIMIT} bytes"])
        return
    try:
        con.execute("SET memory_limit = ?", [setting])
        limit = _memory_limit_bytes(con)
    except duckdb.OutOfMemoryException:
        limit = 0  # too small to read the setting back
    except duckdb.Error as exc:
        raise StoreError(
            f"WATCHDEPTH_DUCKDB_MEMORY_LIMIT={setting!r} is not a size DuckDB takes (e.g. 2GB, 512MB): {exc}"
        ) from exc
    if limit is not None and limit < MIN_MEMORY_LIMIT:
        raise StoreError(
            f"WATCHDEPTH_DUCKDB_MEMORY_LIMIT={setting!r} is under the {MIN_MEMORY_LIMIT >> 20} MiB "
            "DuckDB needs to load and answer (e.g. 2GB, 512MB)"
        )


def _fresh(method: _F) -> _F:
    """Reads of events and facts first wait for the loader (see the module's docstring)."""

    @functools.wraps(method)
    def wrapper(self: DuckDBStore, *args: Any, **kwargs: Any) -> Any:
        self.wait_loaded()
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class DuckDBStore:
    """A ``Store`` over one DuckDB file. One process holds the file; threads get cursors."""

    def __init__(
        self,
        path: str | Path,
        *,
        journal: bool = True,
        checkpoint_threshold: str = CHECKPOINT_THRESHOLD,
        disk_reserve_bytes: int = DISK_RESERVE_BYTES,
        memory_limit: str = "",
        maintain_checkpoint_bytes: int = MAINTAIN_CHECKPOINT_BYTES,
    ) -> None:
        """``journal=False`` writes each batch straight into DuckDB (one transaction per call);
        ``checkpoint_threshold`` is DuckDB's setting (``bench/load_bench.py`` compares values);
        the journal refuses writes while free space is under ``disk_reserve_bytes``;
        ``memory_limit`` (empty: ``SERVICE_MEMORY_LIMIT``) bounds DuckDB's memory; ``maintain``
        checkpoints once the WAL holds ``maintain_checkpoint_bytes``."""
        self.path = str(path)
        self._wal = self.path + ".wal"
        self.maintain_checkpoint_bytes = maintain_checkpoint_bytes
        try:
            self._con = duckdb.connect(self.path)
            self._con.execute("SET checkpoint_threshold = ?", [checkpoint_threshold])
            try:
                _set_memory_limit(self._con, memory_limit)
            except StoreError:
                self._con.close()
                raise
            had = duckdb_rollup.tables(self._con)
            schema = resources.files("watchdepth.store.duckdb").joinpath("schema.sql").read_text()
            self._con.execute(schema)
            duckdb_rollup.upgrade(self._con, schema)
            duckdb_rollup.ensure_state(self._con, had)
        except duckdb.IOException as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        _owner_only(self.path, self._wal)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        #: maintain() folds rollups without the write lock (commits go on meanwhile; writers stay
        #: serialised by _write_lock, so facts rowids below a snapshot's count are all committed);
        #: this lock keeps content changes that invalidate ws_* from racing a fold.
        self._roll_lock = threading.Lock()
        #: The journal and its loader (None: writes go straight to DuckDB).
        self._loader: JournalLoader | None = None
        if journal and self.path != ":memory:":
            # Looked up at each call, so that a test may replace _load_tables.
            self._loader = JournalLoader(
                Journal(Path(self.path + ".journal")),
                lambda e, f: self._load_tables(e, f),
                probe=lambda e, f: self._probe_tables(e, f),
                quarantine=Quarantine(Path(self.path + ".quarantine.jsonl")),
                guard=DiskGuard(Path(self.path).parent, disk_reserve_bytes),
            )
            try:
                self._loader.recover(self._stored_log_seq())
            except BaseException:
                self._con.close()  # a damaged journal: the file is free for the next try
                raise
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
        if self._loader is not None:
            self._loader.close()
        try:
            self._con.close()
        except duckdb.Error as exc:  # pragma: no cover - closing twice or after a crash
            raise StoreError(str(exc)) from exc

    # -- ingest ---------------------------------------------------------------------------

    def write_batch(self, batch: WriteBatch) -> None:
        """Make the batch durable: in the journal (then loaded behind), or in DuckDB directly."""
        if self._loader is None:
            self._load(batch)
            return
        batch = rows.stored_part(batch)
        if batch.events:
            self._loader.write(batch)
        elif batch.credits:  # facts alone (no log number to replay them by): straight in, in order
            self._loader.wait_loaded()
            self._load(batch)
        # else only duplicates: nothing to store

    def wait_loaded(self) -> None:
        """Return once every batch written before this call is in DuckDB."""
        if self._loader is not None:
            self._loader.wait_loaded()

    def writable(self) -> None:
        """Raise ``Unavailable`` if a write would be refused now for want of disk space (cheap)."""
        if self._loader is not None:
            self._loader.writable()

    def journal_stats(self) -> JournalStats | None:
        """The journal's backlog and the loader's progress (for /metrics). Optional, not in ``Store``."""
        return self._loader.stats() if self._loader is not None else None

    def _load(self, batch: WriteBatch) -> None:
        """Store the batch's events and facts in one DuckDB transaction (one call into DuckDB).

        One ``execute`` for the whole transaction: each call releases the GIL and must win it
        back from the event loop (up to the switch interval each time), so the call count,
        not the rows, set the cost of a commit under load. The Arrow tables are read through
        DuckDB's replacement scan of this frame's locals (no register/unregister round trips).
        """
        self._load_tables(*rows.arrow_tables(batch))

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
                raise _write_error(exc) from exc

    def _probe_tables(self, wd_batch_events: pa.Table, wd_batch_facts: pa.Table) -> None:
        """``_load_tables`` rolled back: raises as it would, stores nothing (the loader's
        ``probe``, to find the rows of a refused load)."""
        sql = _WRITE_SQL[bool(wd_batch_events.num_rows), bool(wd_batch_facts.num_rows)]
        if sql is None:
            return
        with self._write_lock:
            cur = self._cur()
            try:
                cur.execute(sql.replace("COMMIT", "ROLLBACK"))
            except duckdb.Error as exc:
                _rollback(cur)
                raise _write_error(exc) from exc

    def bulk_load(self, events: pa.Table, facts: pa.Table) -> None:
        """Append Arrow tables shaped like ``rows.events_table`` / ``facts_table`` in one
        transaction, as the journal's loader does (benchmarks, copies); ``maintain`` rolls them
        up. Optional, not in ``Store``."""
        self._load_tables(events, facts)

    @_fresh
    def maintain(self) -> None:
        """Fold the facts written since the last call into every rollup (one transaction), then
        checkpoint if the WAL holds ``maintain_checkpoint_bytes`` (MAINTAIN_CHECKPOINT_BYTES)."""
        with self._roll_lock:
            cur = self._cur()
            try:
                cur.execute("BEGIN")
                duckdb_rollup.roll(cur)
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                _rollback(cur)
                raise StoreError(f"rollup failed: {exc}") from exc
        self._checkpoint_past(self.maintain_checkpoint_bytes)

    def _checkpoint_past(self, wal_bytes: int) -> None:
        """CHECKPOINT if the WAL holds at least ``wal_bytes`` (between two loads: readers go on)."""
        try:
            if os.path.getsize(self._wal) < wal_bytes:
                return
        except FileNotFoundError:
            return  # nothing since the last checkpoint (or an in-memory database)
        with self._write_lock:
            try:
                self._cur().execute("CHECKPOINT")
            except duckdb.Error as exc:
                raise StoreError(f"checkpoint failed: {exc}") from exc

    def next_log_seq(self) -> int:
        """One past the highest log number stored, in DuckDB or still on its way from the journal."""
        journaled = self._loader.last_log_seq if self._loader is not None else 0
        return max(self._stored_log_seq(), journaled) + 1

    def _stored_log_seq(self) -> int:
        """The highest log number in DuckDB (0 when empty)."""
        return int(self._run("SELECT coalesce(max(log_seq), 0) FROM events")[0][0])

    @_fresh
    def recent_sessions(self, since_ms: int) -> list[str]:
        got = self._run(
            "SELECT DISTINCT session_id FROM events WHERE t >= make_timestamptz(?::BIGINT * 1000)",
            [since_ms],
        )
        return [r[0] for r in got]

    @_fresh
    def session_log(self, session_ids: Sequence[str]) -> Iterator[Event]:
        """The stored events of these sessions, in log order (for ``replay``).

        Read as Arrow and turned into Python column by column (in C), then each row straight
        into an ``Event`` (its fields start in ``EVENT_COLUMNS`` order): 1.0 s for 200,000
        events against 1.5–2.2 s through ``fetchall`` and a dict per row (``bench/start_bench.py``'s
        data). A restart replays the recent sessions this way."""
        if not session_ids:
            return iter(())
        sql = (
            f"SELECT {rows.EVENT_SELECT}, status = 'bot' FROM events WHERE true "
            "AND session_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY log_seq"
        )
        try:
            got = self._cur().sql(sql, params=[list(session_ids)]).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc
        n = len(rows.EVENT_COLUMNS)
        return (Event(*r[:n], bot=r[n]) for r in zip(*(c.to_pylist() for c in got.columns)))  # type: ignore[misc]

    @_fresh
    def ids_stored(self, ids: Sequence[str]) -> set[str]:
        """Which of these event ids the log holds already (idempotency by ``id``, docs/metrics.md §2)."""
        if not ids:
            return set()
        got = self._run("SELECT DISTINCT id FROM events WHERE id IN (SELECT unnest(?::VARCHAR[]))", [list(ids)])
        return {r[0] for r in got}

    @_fresh
    def foreign_ids(self, limit: int) -> list[str]:
        """Up to ``limit`` stored event ids not of the tracker's "load:seq" form (one scan)."""
        got = self._run(
            "SELECT DISTINCT id FROM events WHERE id IS NOT NULL AND id <> load_id || ':' || seq::VARCHAR LIMIT ?",
            [limit],
        )
        return [r[0] for r in got]

    @_fresh
    def loads_stored(self, load_ids: Sequence[str]) -> set[str]:
        """Which of these loads already have events in the log (to spot a forgotten session)."""
        if not load_ids:
            return set()
        got = self._run(
            "SELECT DISTINCT load_id FROM events WHERE load_id IN (SELECT unnest(?::VARCHAR[]))", [list(load_ids)]
        )
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

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, int, bool, bool, bool]]:
        """A read transaction: (cursor, rollup watermark, ws_* valid, facts past the watermark,
        startup dims filled), so that the watermark and the rollups it describes are one snapshot."""
        cur = self._cur()
        try:
            cur.execute("BEGIN")
            try:
                wm, ws_valid, n, dims_pending = cur.execute(
                    "SELECT wm, ws_valid, (SELECT count(*) FROM facts), (SELECT count(*) FROM rollup_pending "
                    f"WHERE name = '{duckdb_rollup.STARTUP_DIMS_PENDING}') FROM rollup_state WHERE id = 1"
                ).fetchall()[0]
                yield cur, wm, ws_valid, n > wm, not dims_pending
            finally:
                cur.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(cur)
            raise StoreError(f"query failed: {exc}") from exc

    @_fresh
    def top_lists(self, q: Aggregate, dims: tuple[str, ...], limit: int) -> dict[str, list[tuple[Any, ...]]] | None:
        """The top ``limit`` (value, *SUMS) of each dim by views, player loads, value: what
        ``aggregate`` answers for ``dims=(d,), order=(views desc, player_loads desc), limit``,
        for all dims in one scan. None when they cannot share one (ask ``aggregate`` then).
        Optional, not in ``Store``."""
        with self._snapshot() as (cur, wm, ws_valid, tail, _):
            plan = plan_tops(q, dims, limit, wm, ws_valid, tail=tail)
            got = cur.execute(plan.sql, plan.params).fetchall() if plan else None
        if got is None:
            return None
        out: dict[str, list[tuple[Any, ...]]] = {d: [] for d in dims}
        for r in got:
            out[r[0]].append(tuple(r[1:-1]))
        return out

    @_fresh
    def aggregate(self, q: Aggregate) -> AggregateResult:
        """One read transaction: the watermark and the rollups it describes are one snapshot."""
        with self._snapshot() as (cur, wm, ws_valid, tail, dims_ready):
            plan = plan_aggregate(q, wm, ws_valid, tail=tail, dims_ready=dims_ready)
            got = cur.execute(plan.sql, plan.params).fetchall()
            if got:
                total = int(got[0][-1])
            elif q.offset:  # a page past the end: the window count has no row to ride on
                total = int(cur.execute(plan.count_sql, plan.params).fetchall()[0][0])
            else:
                total = 0
        keys = len(plan.columns) - len(SUMS)
        if plan.sums == SUMS:
            return AggregateResult(plan.columns, [tuple(r[:-1]) for r in got], total)
        return AggregateResult(plan.columns, _padded(got, keys, plan.sums), total)

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
    def run_spans_by_content(
        self, content_ids: Sequence[str], start_ms: int, end_ms: int
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


def _padded(got: list[tuple[Any, ...]], keys: int, present: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Rows of (``keys`` group columns, the ``present`` sums, the window's total) as rows of
    (group columns, every one of SUMS): the absent ones 0 (built column-wise, in C)."""
    if not got:
        return []
    cols = list(zip(*got))
    have = dict(zip(present, cols[keys:]))
    return list(zip(*cols[:keys], *(have[n] if n in have else itertools.repeat(ZEROS[n]) for n in SUMS)))


def _write_error(exc: duckdb.Error) -> StoreError:
    if isinstance(exc, _REFUSED):
        return Refused(f"write refused: {exc}")
    return StoreError(f"write failed: {exc}")


def _owner_only(*paths: str) -> None:
    """Make the files that exist among ``paths`` readable by their owner alone (files made
    before modes were set; new ones get 0600 from the process umask, ``services.open_store``)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.chmod(path, 0o600)


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass
