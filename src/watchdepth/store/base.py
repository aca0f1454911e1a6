"""The Store protocol: what every backend (DuckDB embedded, ClickHouse) provides.

Input: write batches from the ingest loop, catalog changes, and logical queries
(``Aggregate``; watched sets and run spans by content and period) from ``query/``.
Output: plain Python rows, never engine objects. Engine SQL and DDL stay inside each
backend, and an engine's exceptions leave as ``errors.StoreError``.
It does not compute derived metrics (``query.metrics`` does) nor decide crediting
(``sessionize`` does).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol

import msgspec

from watchdepth.collect.event import Event
from watchdepth.schema import BUCKETS, DIMENSIONS, EVENT_COUNTS, QUALITY_SUMS, ROLLUP_DIMENSIONS, SUMS
from watchdepth.sessionize import Credit

__all__ = [
    "DIMENSIONS",
    "EVENT_COUNTS",
    "QUALITY_SUMS",
    "ROLLUP_DIMENSIONS",
    "SUMS",
    "Aggregate",
    "AggregateResult",
    "Store",
    "WriteBatch",
]


class WriteBatch(NamedTuple):
    """One group commit: events with their status and run, and the credits they produced.

    ``log_seq[i]`` numbers ``events[i]`` in the durable log (processing order); duplicates
    carry ``None`` and are not stored.
    """

    events: Sequence[Event]
    status: Sequence[str]
    run: Sequence[int | None]
    log_seq: Sequence[int | None]
    credits: Sequence[Credit]


class Aggregate(msgspec.Struct, frozen=True):
    """A logical analytics query: sums grouped by dimensions (and a time bucket).

    Times are ms since the epoch, ``[start_ms, end_ms)``. ``bucket`` is None or one of
    hour/day/week/month, in ``timezone``. ``filters`` map a dimension to allowed values
    (``folder_id`` already expanded to its subfolders). ``order`` names SUMS or group
    dimensions ("bucket" for the time bucket); pushing order and limit down is allowed
    only on those. ``limit`` None returns every group.
    """

    start_ms: int
    end_ms: int
    dims: tuple[str, ...] = ()
    bucket: str | None = None
    timezone: str = "UTC"
    filters: dict[str, tuple[str, ...]] = {}
    order: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int | None = None
    offset: int = 0
    #: The SUMS the caller reads; empty: all. A store may answer the others as 0 (DuckDB reads
    #: only ``startups`` for the startup histogram, dims with ``startup_bin``).
    sums: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse names no table has: a dimension, filter, sum or order that is not in
        ``watchdepth.schema`` never reaches SQL (a bug upstream, not a user's input)."""
        unknown = [d for d in (*self.dims, *self.filters) if d not in DIMENSIONS]
        unknown += [s for s in self.sums if s not in SUMS]
        unknown += [f for f, _ in self.order if f not in SUMS and f not in self.dims and f != "bucket"]
        if unknown:
            raise ValueError(f"Aggregate: unknown name(s) {unknown!r} (see watchdepth.schema)")
        if self.bucket is not None and self.bucket not in BUCKETS:
            raise ValueError(f"Aggregate: bucket {self.bucket!r} is not one of {BUCKETS}")
        if self.end_ms < self.start_ms or self.offset < 0 or (self.limit is not None and self.limit < 0):
            raise ValueError(
                f"Aggregate: empty or negative range ({self.start_ms}, {self.end_ms}, "
                f"limit {self.limit}, offset {self.offset})"
            )


class AggregateResult(NamedTuple):
    """Rows of (bucket start ms if bucketed, *dims, *SUMS) and the number of groups in all."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    total: int


class Store(Protocol):
    """A handful of methods; the DuckDB and ClickHouse backends implement them, one test suite runs both."""

    # ingest log
    def write_batch(self, batch: WriteBatch) -> None: ...
    def next_log_seq(self) -> int: ...
    def recent_sessions(self, since_ms: int) -> list[str]: ...
    def session_log(self, session_ids: Sequence[str]) -> Iterator[Event]: ...
    def maintain(self) -> None: ...
    def ids_stored(self, ids: Sequence[str]) -> set[str]: ...
    def foreign_ids(self, limit: int) -> list[str]: ...

    # analytics
    def aggregate(self, q: Aggregate) -> AggregateResult: ...
    def watched_sets(self, content_id: str, start_ms: int, end_ms: int) -> list[list[tuple[float, float]]]: ...
    def run_spans(self, content_ids: Sequence[str], start_ms: int, end_ms: int) -> list[tuple[int, int, str]]: ...
    def run_spans_by_content(
        self, content_ids: Sequence[str], start_ms: int, end_ms: int
    ) -> dict[str, list[tuple[int, int, str]]]: ...
    def counters(self) -> dict[str, int]: ...
    def first_event_ms(self) -> int | None: ...

    # catalog and tokens (small tables)
    def catalog_rows(self, table: str) -> list[dict[str, Any]]: ...
    def catalog_put(self, table: str, row: dict[str, Any], *, create: bool) -> None: ...
    def catalog_delete(self, table: str, key: str) -> None: ...

    def close(self) -> None: ...
