"""The ClickHouse backend: the log, facts, rollups and catalog in a ClickHouse database.

Input: a DSN — ``clickhouse://user:pass@host:8123/db`` (HTTP; ``clickhouses://`` for
HTTPS) or ``chdb:///path/to/dir[?database=db]`` (the same engine in process, through
clickhouse-connect's chDB interface: tests and single-machine trials) — then
``WriteBatch``es, logical queries from ``store.base`` and catalog rows. Output: plain rows,
with the same semantics as ``store.duckdb``. Only this package (``store``, ``plan``,
``migrate``) speaks ClickHouse SQL; engine errors leave as ``StoreError``.
It does not decide what is credited nor derive metrics.

Design (see docs/scale-out.md):

* ``write_batch`` inserts the events, the facts, the rollups and last a commit marker (a row
  of ``batches``) synchronously: it returns once ClickHouse has written them all
  (``wait_for_async_insert=1`` in case a server profile turns async inserts on,
  ``insert_distributed_sync=1`` so that on a cluster the rows are on their shard, readable by
  a restarting collector, before ``202``). ClickHouse has no multi-table transaction, so
  every row carries its batch's tag (``ingest_batch``) and a batch counts as stored only once
  its marker is: ``session_log`` (the state a collector rebuilds) skips the rows of unmarked
  batches, so a retry of a batch whose writer was killed between two inserts is credited
  again, once. If an insert fails, the batch is taken back at once; if the writer died,
  ``recover`` (at open and in ``maintain``) takes back unmarked batches older than
  ``RECOVER_AFTER_S`` (a live writer gives up on a batch after ``COMMIT_DEADLINE_S``), and
  a restarted writer takes back its killed predecessor's batch at once (``writer_file``).
  Until then their rows still count in aggregates, counters and watched sets (filtering
  every read by marker would cost a join on the hot query path; see docs/scale-out.md).
* Rollups (per UTC hour and content; per UTC day, content and one dimension) are summed
  from each batch's facts in Arrow by the writer and inserted into ``SummingMergeTree``
  tables, which ClickHouse merges in the background (``maintain`` only runs ``recover``).
  Queries always ``sum`` over them (unmerged parts are summed at read time). Materialized
  views would do the same inside ClickHouse, but measured on chDB they made every insert
  of a small batch ~10x slower (query analysis per insert), measured when the backend was built (history of docs/benchmarks.md, "ClickHouse").
* The catalog tables are ``ReplacingMergeTree(version, deleted)``: an update or a delete
  is an insert with a newer version; reads use ``FINAL``.
* ``log_seq`` only orders events within a session (a session lives on one collector).
  ``next_log_seq`` returns ``max(max stored + 1, now in µs)``: with several writers the
  numbers are not unique across collectors (nothing relies on that), but they grow with
  time, so a session that moves to another collector after a failover keeps its order
  (given clocks in sync to within the time the balancer needs to fail over).
* Each thread gets its own client (clickhouse-connect clients serialize their calls).

A database is created and migrated automatically for ``chdb://`` (an embedded directory,
like the DuckDB file). A ``clickhouse://`` server must be migrated first with
``watchdepth migrate``; opening an unmigrated one is an error that says so.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from watchdepth.collect.event import Event
from watchdepth.errors import StoreError
from watchdepth.schema import CATALOG_TABLES
from watchdepth.store import rows
from watchdepth.store.base import (
    ROLLUP_DIMENSIONS,
    Aggregate,
    AggregateResult,
    WriteBatch,
)
from watchdepth.store.clickhouse import migrate
from watchdepth.store.clickhouse.connection import Target, connect, parse_dsn
from watchdepth.store.clickhouse.plan import AT_IMP, STORED, plan_aggregate, zero_sql

log = logging.getLogger(__name__)

_TS_COLS = {col for _, col, typ in rows.EVENT_COLUMNS if pa.types.is_timestamp(typ)}
EVENT_SELECT = ", ".join(
    f"toUnixTimestamp64Milli({col})" if col in _TS_COLS else col for _, col, _ in rows.EVENT_COLUMNS
)
#: "Stored" means stored: wait for async inserts if a profile enables them, and on a cluster
#: write through the Distributed tables to the shards before returning.
INSERT_SETTINGS = {"wait_for_async_insert": 1, "insert_distributed_sync": 1}
#: Session ids per ``session_log`` query (parameters travel in the HTTP request).
CHUNK = 2000
#: Tags of batches that need a marker have this bit set; bits 29..62 hold the second the
#: batch began (so age is known without a column), the low 29 bits are random. Rows tagged
#: below it (written before schema version 2, or copied: 0) count as committed.
MARKED = 1 << 63
_RANDOM_BITS = 29
#: A writer that has not finished a batch within this many seconds does not mark it (it
#: takes it back and fails the request instead)...
COMMIT_DEADLINE_S = 60.0
#: ...so a batch unmarked after this many seconds is dead: ``recover`` takes it back.
#: Well above the deadline plus one marker insert (clickhouse-connect times out at 300 s)
#: and clock skew between collectors.
RECOVER_AFTER_S = 600.0
#: ``maintain`` looks for dead batches begun in this many seconds before RECOVER_AFTER_S
#: (the minmax index on the tag keeps the scan to recent parts), opening a store in the
#: last week (not all history: every collector start would read the whole tag column).
RECOVER_WINDOW_S = 7200.0
RECOVER_OPEN_WINDOW_S = 7 * 86400.0


class ClickHouseStore:
    """A ``Store`` over one ClickHouse database (a server, a cluster, or chDB in process)."""

    def __init__(self, target: Target, *, auto_migrate: bool | None = None, writer_file: Path | None = None) -> None:
        """``writer_file`` (``DATA/clickhouse-writer``): where this writer notes the tag of the
        batch it is writing. The process that holds its lock (SIGKILL releases it) takes its
        predecessor's unmarked batch back at once on open, without waiting RECOVER_AFTER_S."""
        self.target = target
        self.database = target.database
        auto = target.kind == "chdb" if auto_migrate is None else auto_migrate
        boot = connect(target, None)
        try:
            done = migrate.applied_versions(boot, self.database)
            missing = [m.version for m in migrate.migrations() if m.version not in done]
            if missing and auto:
                migrate.apply(boot, self.database)
            elif missing:
                raise StoreError(
                    f"the ClickHouse database {self.database!r} is not migrated (missing schema versions "
                    f"{missing}): run `watchdepth migrate --store <DSN>` first"
                )
        except StoreError:
            boot.close()
            raise
        except Exception as exc:  # noqa: BLE001
            boot.close()
            raise StoreError(f"cannot open the ClickHouse database {self.database!r}: {exc}") from exc
        boot.close()
        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._catalog_version = 0
        self._writer_fd: int | None = None
        try:
            if writer_file is not None:
                self._take_back_predecessor(writer_file)
            self.recover(window_s=RECOVER_OPEN_WINDOW_S)
        except StoreError:
            log.exception("could not take back unfinished write batches (retried by maintain)")

    @classmethod
    def from_dsn(cls, dsn: str, **kw: Any) -> ClickHouseStore:
        return cls(parse_dsn(dsn), **kw)

    # -- plumbing -------------------------------------------------------------------------

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = connect(self.target, self.database)
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _run(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return list(self._client().query(sql, parameters=params or {}).result_rows)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - clickhouse-connect and transport errors
            raise StoreError(f"query failed: {exc}") from exc

    def _command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        try:
            self._client().command(sql, parameters=params or {})
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"command failed: {exc}") from exc

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        """Insert an Arrow table (columns by name); returns once ClickHouse has stored it."""
        try:
            self._client().insert_arrow(table, data, settings=INSERT_SETTINGS)
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"insert into {table} failed: {exc}") from exc

    # -- bulk helpers for ``watchdepth copy`` (not part of the Store protocol) ---------------

    def columns(self, table: str) -> list[tuple[str, str]]:
        """(name, ClickHouse type) of a table's columns, in order."""
        return [
            (n, t)
            for n, t in self._run(
                "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = {t:String} ORDER BY position",
                {"d": self.database, "t": table},
            )
        ]

    def count(self, table: str) -> int:
        """Live rows of a table (catalog tables: after replacements and deletes)."""
        final = " FINAL" if table in CATALOG_TABLES else ""
        return int(self._run(f"SELECT count() FROM {table}{final}")[0][0])

    def truncate(self, tables: Sequence[str]) -> None:
        for table in tables:
            self._command(f"TRUNCATE TABLE IF EXISTS {table}")

    def close(self) -> None:
        if self._writer_fd is not None:
            os.close(self._writer_fd)  # releases the lock
            self._writer_fd = None
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for c in clients:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing after a crash
                pass
        self._local = threading.local()

    # -- ingest ---------------------------------------------------------------------------

    def write_batch(self, batch: WriteBatch) -> None:
        """Store the batch's events, facts and rollups; a failure takes back what went in."""
        events = rows.events_table(batch)
        facts = rows.facts_table(batch.credits)
        if not events.num_rows and not facts.num_rows:
            return
        with self._write_lock:
            started = time.monotonic()
            tag = new_tag()
            if self._writer_fd is not None:  # a page-cache write: it survives the process
                os.pwrite(self._writer_fd, struct.pack("<Q", tag), 0)
            tried: list[str] = []
            try:
                if events.num_rows:
                    tried.append("events")
                    self.insert_arrow("events", _tagged(events, tag))
                self.insert_facts(facts, tag, tried)
                if time.monotonic() - started > COMMIT_DEADLINE_S:
                    raise StoreError(f"write batch not committed: it took over {COMMIT_DEADLINE_S:.0f} s")
                self.insert_arrow("batches", pa.table({"ingest_batch": pa.array([tag], pa.uint64())}))  # the commit
            except StoreError:
                self._take_back(tag, facts, tried)
                raise

    def insert_facts(self, facts: pa.Table, tag: int = 0, tried: list[str] | None = None) -> None:
        """Insert facts and their hourly and daily rollups (``tried`` lists the tables written to)."""
        if not facts.num_rows:
            return
        by_hour, by_day = rollups(facts)
        for table, data in (("facts", _tagged(facts, tag)), ("agg_hour", by_hour), ("agg_day", by_day)):
            if tried is not None:
                tried.append(table)
            self.insert_arrow(table, data)

    def _take_back(self, tag: int, facts: pa.Table, tried: list[str]) -> None:
        """Undo a failed batch (best effort; ``recover`` finishes the job later if this fails)."""
        if not tried:
            return
        try:
            ms = _credit_ms(facts) if "agg_hour" in tried else []
            self._discard([tag], _keys(ms, facts.column("content_id").to_pylist() if ms else []))
        except StoreError:
            log.exception("could not take back a failed write batch")

    def _discard(self, tags: list[int], keys: dict[str, list[Any]]) -> None:
        """Take back batches: first sum the rollups of their (hours, days, contents) again
        from the other facts, then delete their facts and log rows. In this order, a crash
        midway leaves the tags findable and the next ``recover`` does it again."""
        if keys["c"]:
            for sql in _RESUM_HOURS + _RESUM_DAYS:
                self._command(sql, {**keys, "b": tags})
        for table in ("facts", "events"):
            self._command(f"DELETE FROM {table} WHERE ingest_batch IN {{b:Array(UInt64)}}", {"b": tags})

    def recover(
        self, min_age_s: float = RECOVER_AFTER_S, window_s: float | None = None, now: float | None = None
    ) -> list[int]:
        """Take back the unmarked batches begun more than ``min_age_s`` ago (within
        ``window_s`` before that, or ever); returns their tags. The rows of a dead batch are
        already invisible to ``session_log``; this makes aggregates and counters exact again."""
        now = time.time() if now is None else now
        hi = tag_floor(now - min_age_s)
        lo = tag_floor(now - min_age_s - window_s) if window_s is not None else MARKED
        if hi <= lo:
            return []
        rng = {"lo": lo, "hi": hi}
        within = "ingest_batch >= {lo:UInt64} AND ingest_batch < {hi:UInt64}"
        dead = sorted(
            int(r[0])
            for r in self._run(
                f"SELECT DISTINCT ingest_batch FROM (SELECT ingest_batch FROM events WHERE {within} "
                f"UNION ALL SELECT ingest_batch FROM facts WHERE {within}) "
                f"WHERE ingest_batch NOT IN (SELECT ingest_batch FROM batches WHERE {within})",
                rng,
            )
        )
        return self._discard_dead(dead)

    def _take_back_predecessor(self, path: Path) -> None:
        """Lock ``path``; if locked, take back the unmarked batch the last holder noted."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            log.warning("no writer file %s (%s): a killed writer's batch waits for recover()", path, exc)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another live process writes through this data dir: its file
            os.close(fd)
            return
        self._writer_fd = fd
        raw = os.pread(fd, 8, 0)
        tag = struct.unpack("<Q", raw)[0] if len(raw) == 8 else 0
        if (
            tag >= MARKED
            and not self._run("SELECT count() FROM batches WHERE ingest_batch = {b:UInt64}", {"b": tag})[0][0]
        ):
            self._discard_dead([tag])
        os.pwrite(fd, struct.pack("<Q", 0), 0)

    def _discard_dead(self, dead: list[int]) -> list[int]:
        if not dead:
            return []
        got = self._run(
            "SELECT arrayConcat(groupUniqArray(toInt64(toUnixTimestamp64Milli(t))), "
            "groupUniqArrayIf(toInt64(toUnixTimestamp64Milli(assumeNotNull(imp_t))), imp_t IS NOT NULL)), "
            "groupUniqArray(content_id) FROM facts WHERE ingest_batch IN {b:Array(UInt64)}",
            {"b": dead},
        )
        ms, contents = (list(got[0][0]), list(got[0][1])) if got else ([], [])
        with self._write_lock:
            self._discard(dead, _keys(ms, contents))
        log.warning("took back %d unfinished write batch(es) of a writer that stopped mid-commit", len(dead))
        return dead

    def maintain(self) -> None:
        """Take back recent dead batches (ClickHouse merges parts and sums rollups itself)."""
        self.recover(window_s=RECOVER_WINDOW_S)

    def next_log_seq(self) -> int:
        got = self._run("SELECT max(log_seq), count() FROM events")
        stored = int(got[0][0]) + 1 if got and got[0][1] else 1
        return max(stored, time.time_ns() // 1000)

    def recent_sessions(self, since_ms: int) -> list[str]:
        got = self._run(
            "SELECT DISTINCT session_id FROM events WHERE t >= fromUnixTimestamp64Milli({s:Int64}, 'UTC')",
            {"s": since_ms},
        )
        return [r[0] for r in got]

    def session_log(self, session_ids: Sequence[str]) -> Iterator[Event]:
        """The stored events of these sessions, in log order (for ``replay``)."""
        got: list[tuple[Any, ...]] = []
        ids = sorted(set(session_ids))
        for i in range(0, len(ids), CHUNK):
            got += self._run(
                f"SELECT {EVENT_SELECT}, status, log_seq, ingest_batch FROM events WHERE session_id IN {{ids:Array(String)}}",
                {"ids": ids[i : i + CHUNK]},
            )
        got = self._committed(got)
        got.sort(key=lambda r: (r[-2], r[4]))  # log_seq, then session_id (several writers)
        return (rows.event_from_row(r[:-2]) for r in got)

    def _committed(self, got: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The rows (``ingest_batch`` last) of committed batches: unmarked ones are not stored."""
        tags = sorted({int(r[-1]) for r in got if r[-1] >= MARKED})
        if not tags:
            return got
        marked: set[int] = set()
        for i in range(0, len(tags), CHUNK):
            marked.update(
                int(r[0])
                for r in self._run(
                    "SELECT DISTINCT ingest_batch FROM batches WHERE ingest_batch IN {b:Array(UInt64)}",
                    {"b": tags[i : i + CHUNK]},
                )
            )
        return [r for r in got if r[-1] < MARKED or r[-1] in marked]

    def ids_stored(self, ids: Sequence[str]) -> set[str]:
        """Which of these event ids committed batches hold already (idempotency by ``id``)."""
        got: list[tuple[Any, ...]] = []
        unique = sorted(set(ids))
        for i in range(0, len(unique), CHUNK):
            got += self._run(
                "SELECT DISTINCT id, ingest_batch FROM events WHERE id IN {ids:Array(String)}",
                {"ids": unique[i : i + CHUNK]},
            )
        return {r[0] for r in self._committed(got)}

    def foreign_ids(self, limit: int) -> list[str]:
        """Up to ``limit`` stored event ids not of the tracker's "load:seq" form (committed batches)."""
        got = self._run(
            "SELECT DISTINCT assumeNotNull(id), ingest_batch FROM events WHERE id IS NOT NULL "
            "AND id != concat(load_id, ':', toString(seq)) LIMIT {n:UInt64}",
            {"n": limit},
        )
        return sorted({r[0] for r in self._committed(got)})

    def loads_stored(self, load_ids: Sequence[str]) -> set[str]:
        """Which of these loads already have events in the log."""
        if not load_ids:
            return set()
        got = self._run(
            "SELECT DISTINCT load_id, ingest_batch FROM events WHERE load_id IN {ids:Array(String)}",
            {"ids": list(load_ids)},
        )
        return {r[0] for r in self._committed(got)}

    def first_event_ms(self) -> int | None:
        """The earliest credited hour (for ``period=all_time``)."""
        got = self._run("SELECT toInt64(toUnixTimestamp(min(hour))) * 1000, count() FROM agg_hour")
        return int(got[0][0]) if got and got[0][1] else None

    def counters(self) -> dict[str, int]:
        """Stored events by status (duplicates are not stored)."""
        return {name: int(n) for name, n in self._run("SELECT status, count() FROM events GROUP BY status")}

    # -- analytics ------------------------------------------------------------------------

    def aggregate(self, q: Aggregate) -> AggregateResult:
        plan = plan_aggregate(q)
        got = self._run(plan.sql, plan.params)
        if got:
            total = int(got[0][-1])
        elif q.offset:  # a page past the end: the window count has no row to ride on
            total = int(self._run(plan.count_sql, plan.params)[0][0])
        else:
            total = 0
        return AggregateResult(plan.columns, [tuple(r[:-1]) for r in got], total)

    def watched_sets(self, content_id: str, start_ms: int, end_ms: int) -> list[list[tuple[float, float]]]:
        """Watched sets of the (session, content) pairs whose impression falls in the period."""
        got = self._run(
            """
            SELECT session_id,
                   arraySort(groupArrayIf((assumeNotNull(seg_start), assumeNotNull(seg_end)), seg_start IS NOT NULL))
            FROM facts
            WHERE content_id = {c:String} AND session_id IN (
                SELECT session_id FROM facts
                WHERE content_id = {c:String} AND unique_views = 1
                  AND t >= fromUnixTimestamp64Milli({s:Int64}, 'UTC') AND t < fromUnixTimestamp64Milli({e:Int64}, 'UTC'))
            GROUP BY session_id
            """,
            {"c": content_id, "s": start_ms, "e": end_ms},
        )
        return [[(float(a), float(b)) for a, b in segs] for _, segs in got]

    def run_spans(self, content_ids: Sequence[str], start_ms: int, end_ms: int) -> list[tuple[int, int, str]]:
        """(first event ms, last event ms, session) of every run of these contents touching the period."""
        return [span for spans in self.run_spans_by_content(content_ids, start_ms, end_ms).values() for span in spans]

    def run_spans_by_content(
        self, content_ids: Sequence[str], start_ms: int, end_ms: int
    ) -> dict[str, list[tuple[int, int, str]]]:
        """``run_spans`` of many contents in one query, by content id (a run plays one content)."""
        got = self._run(
            """
            SELECT toUnixTimestamp64Milli(min(t)), toUnixTimestamp64Milli(max(t)), session_id, content_id FROM events
            WHERE status = 'applied' AND run IS NOT NULL AND content_id IN {ids:Array(String)}
              AND t < fromUnixTimestamp64Milli({e:Int64}, 'UTC')
            GROUP BY load_id, run, session_id, content_id
            HAVING max(t) >= fromUnixTimestamp64Milli({s:Int64}, 'UTC')
            """,
            {"ids": list(content_ids), "s": start_ms, "e": end_ms},
        )
        out: dict[str, list[tuple[int, int, str]]] = {}
        for a, b, session, content in got:
            out.setdefault(content, []).append((int(a), int(b), session))
        return out

    # -- catalog --------------------------------------------------------------------------

    def catalog_rows(self, table: str) -> list[dict[str, Any]]:
        return self._select(table)

    def _select(self, table: str, key: str | None = None) -> list[dict[str, Any]]:
        cols = CATALOG_TABLES[table]
        select = ", ".join(f"toUnixTimestamp64Micro({c})" if c == "created_at" else c for c in cols)
        where = f" WHERE {cols[0]} = {{k:String}}" if key is not None else ""
        out = []
        for r in self._run(f"SELECT {select} FROM {table} FINAL{where}", {"k": key} if key is not None else None):
            row = dict(zip(cols, r))
            if "created_at" in row:
                row["created_at"] = datetime.fromtimestamp(row["created_at"] / 1e6, tz=UTC)
            out.append(row)
        return out

    def catalog_put(self, table: str, row: dict[str, Any], *, create: bool) -> None:
        cols = CATALOG_TABLES[table]
        key = cols[0]
        with self._write_lock:
            exists = bool(self._select(table, row[key]))
            if create and exists:
                raise StoreError(f"{table} {row[key]!r} exists already")
            if not create and not exists:
                return  # an UPDATE of a missing row changes nothing
            self._put(table, [row.get(c) for c in cols], deleted=0)

    def catalog_delete(self, table: str, key: str) -> None:
        cols = CATALOG_TABLES[table]
        with self._write_lock:
            for row in self._select(table, key):
                self._put(table, [row[c] for c in cols], deleted=1)

    def _put(self, table: str, values: list[Any], *, deleted: int) -> None:
        self._catalog_version = max(self._catalog_version + 1, time.time_ns())
        cols = [*CATALOG_TABLES[table], "version", "deleted"]
        try:
            self._client().insert(
                table, [[*values, self._catalog_version, deleted]], column_names=cols, settings=INSERT_SETTINGS
            )
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"write to {table} failed: {exc}") from exc


_SUM_NAMES = list(STORED)
_SUM_AGGS = [(name, "sum") for name in _SUM_NAMES]
_TS = pa.timestamp("ms", tz="UTC")


def _credited(facts: pa.Table) -> tuple[pa.Table, pa.Array]:
    """Facts as credits, with their times in ms: each row at ``t`` with its sums, then the rows
    with cohort watch time at ``imp_t`` with that alone (docs/metrics.md §5: the cohort's unit)."""
    cols = ["content_id", *_SUM_NAMES, *ROLLUP_DIMENSIONS]
    at_t = facts.select(cols)
    for name in AT_IMP:
        i = at_t.schema.get_field_index(name)
        at_t = at_t.set_column(i, name, pa.repeat(pa.scalar(0, at_t.schema.field(i).type), at_t.num_rows))
    imp = facts.filter(
        pc.and_(
            pc.or_(pc.not_equal(facts.column("cohort_wt"), 0.0), pc.not_equal(facts.column("exits"), 0)),
            pc.is_valid(facts.column("imp_t")),
        )
    )
    at_imp = imp.select(cols)
    for name in _SUM_NAMES:
        if name not in AT_IMP:
            i = at_imp.schema.get_field_index(name)
            at_imp = at_imp.set_column(i, name, pa.repeat(pa.scalar(0, at_imp.schema.field(i).type), at_imp.num_rows))
    ms = pa.concat_arrays(
        [
            facts.column("t").cast(_TS).cast(pa.int64()).combine_chunks(),
            imp.column("imp_t").cast(_TS).cast(pa.int64()).combine_chunks(),
        ]
    )
    return pa.concat_tables([at_t, at_imp.cast(at_t.schema)]), ms


def _credit_ms(facts: pa.Table) -> list[int]:
    """The times (ms) at which a batch's facts are rolled up (their ``t`` and ``imp_t``)."""
    return [m for m in _credited(facts)[1].to_pylist() if m is not None]


def rollups(facts: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Facts summed per (UTC hour, content) and per (UTC day, content, one dimension), with Arrow."""
    base, ms = _credited(facts)
    hour = pc.cast(pc.multiply(pc.divide(ms, 3_600_000), 3_600_000), _TS)
    day = pc.cast(pc.multiply(pc.divide(ms, 86_400_000), 86_400_000), _TS)
    base = base.append_column("hour", hour).append_column("day", day)
    by_hour = base.group_by(["hour", "content_id"], use_threads=False).aggregate(_SUM_AGGS)
    by_hour = by_hour.rename_columns(["hour", "content_id", *_SUM_NAMES])
    parts = []
    for dim in ROLLUP_DIMENSIONS:
        g = base.group_by(["day", "content_id", dim], use_threads=False).aggregate(_SUM_AGGS)
        g = g.rename_columns(["day", "content_id", "value", *_SUM_NAMES])
        parts.append(g.append_column("dim", pa.array([dim] * g.num_rows, pa.string())))
    return _signed(by_hour), _signed(pa.concat_tables(parts))


def _signed(t: pa.Table) -> pa.Table:
    for name in (
        "player_loads",
        "unique_views",
        "views",
        "play",
        "pause",
        "seek",
        "replay",
        "player_init",
        "startups",
        "stalls",
        "stall_ms",
        "failures",
        "exits",
    ):
        i = t.schema.get_field_index(name)
        t = t.set_column(i, name, t.column(name).cast(pa.int64()))
    return t


def new_tag(now: float | None = None) -> int:
    """A batch tag: MARKED, the second it began, 29 random bits (never 0: copied rows)."""
    return tag_floor(time.time() if now is None else now) | secrets.randbits(_RANDOM_BITS)


def tag_floor(seconds: float) -> int:
    """The smallest tag of a batch begun at ``seconds`` (the epoch second it falls in)."""
    return MARKED | (max(int(seconds), 0) << _RANDOM_BITS)


def _keys(ms: list[int], contents: list[str]) -> dict[str, list[Any]]:
    """The UTC hours and days (epoch seconds) and contents whose rollups some facts touch."""
    return {
        "h": sorted({m // 3_600_000 * 3600 for m in ms}),
        "d": sorted({m // 86_400_000 * 86_400 for m in ms}),
        "c": sorted(set(contents)),
    }


def _tagged(t: pa.Table, tag: int) -> pa.Table:
    return t.append_column("ingest_batch", pa.repeat(pa.scalar(tag, pa.uint64()), t.num_rows))


_SUMS_SQL = ", ".join(
    f"sum({c}) AS {c}" if c in ("watch_time", "cohort_wt") else f"toInt64(sum({c})) AS {c}" for c in STORED
)
_AT_T = ", ".join(zero_sql(c) if c in AT_IMP else c for c in STORED)
_AT_IMP = ", ".join(c if c in AT_IMP else f"0 AS {c}" for c in STORED)
_DIMS = ", ".join(ROLLUP_DIMENSIONS)


def _credited_sql(unit: str, key: str) -> str:
    """Facts (but those of the batches being taken back) as credits at ``t`` and, for cohort
    watch time, at ``imp_t``, keyed by their UTC ``unit`` (hour or day) when in ``{key}``."""
    start = {"hour": "toStartOfHour", "day": "toStartOfDay"}[unit]
    rest = "content_id IN {c:Array(String)} AND ingest_batch NOT IN {b:Array(UInt64)}"
    at = {x: f"{start}(toDateTime({x}, 'UTC'))" for x in ("t", "assumeNotNull(imp_t)")}
    return (
        f"(SELECT {at['t']} AS {unit}, content_id, {_DIMS}, {_AT_T} FROM facts "
        f"WHERE toUnixTimestamp({at['t']}) IN {{{key}:Array(Int64)}} AND {rest} UNION ALL "
        f"SELECT {at['assumeNotNull(imp_t)']} AS {unit}, content_id, {_DIMS}, {_AT_IMP} FROM facts "
        f"WHERE (cohort_wt != 0 OR exits != 0) AND toUnixTimestamp({at['assumeNotNull(imp_t)']}) IN {{{key}:Array(Int64)}} AND {rest})"
    )


#: The rollup rows of some hours / days and contents, summed again from the facts (but those of
#: the batches being taken back).
_RESUM_HOURS = [
    "DELETE FROM agg_hour WHERE toUnixTimestamp(hour) IN {h:Array(Int64)} AND content_id IN {c:Array(String)}",
    f"INSERT INTO agg_hour (hour, content_id, {', '.join(STORED)}) SELECT hour, content_id, {_SUMS_SQL} "
    f"FROM {_credited_sql('hour', 'h')} GROUP BY hour, content_id",
]
_RESUM_DAYS = [
    "DELETE FROM agg_day WHERE toUnixTimestamp(day) IN {d:Array(Int64)} AND content_id IN {c:Array(String)}",
    f"INSERT INTO agg_day (day, content_id, dim, value, {', '.join(STORED)}) "
    f"SELECT day, content_id, kv.1 AS dim, kv.2 AS value, {_SUMS_SQL} FROM {_credited_sql('day', 'd')} "
    "ARRAY JOIN ["
    + ", ".join(f"('{d}', {d})" for d in ROLLUP_DIMENSIONS)
    + "] AS kv GROUP BY day, content_id, dim, value",
]
