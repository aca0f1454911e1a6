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
from watchdepth.sessionize import Credit

#: Event counts (METRICS.md §4): applied events of each type, credited at themselves.
EVENT_COUNTS = ("play", "pause", "seek", "replay", "player_init")
#: Quality of experience (METRICS.md §7): startup events, stalls and their ms, playback failures
#: (loads with a fatal error), exits before start (by the first play's time, like the cohort).
QUALITY_SUMS = ("startups", "stalls", "stall_ms", "failures", "exits")
#: The additive sums every analytics row carries, in this order. ``view_duration``: Σ views ×
#: duration. The cohort of METRICS.md §5 (pairs whose unique impression falls in the period,
#: their whole watched sets): ``cohort_watch_time`` (their watch time, all content; its pairs
#: are ``unique_views``), and for watch depth, of content with a duration only,
#: ``depth_watch_time`` and ``depth_duration`` (Σ duration over those pairs). Then the event counts.
SUMS = ("player_loads", "unique_views", "views", "watch_time", "view_duration",
        "cohort_watch_time", "depth_watch_time", "depth_duration", *EVENT_COUNTS, *QUALITY_SUMS)
#: Dimensions a query may group or filter by.
DIMENSIONS = (
    "content_id",
    "project_id",
    "folder_id",
    "country",
    "city",
    "platform",
    "os",
    "browser",
    "domain",
    "page",
    "external_id",
    "startup_bin",  # internal: a startup's 10 ms bin (sessionize.startup_bin), for the percentiles of §7
)
#: Dimensions held in the per-day rollup (one at a time).
ROLLUP_DIMENSIONS = ("country", "platform", "os", "browser", "domain", "page", "startup_bin", "city")


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
    def run_spans_by_content(self, content_ids: Sequence[str], start_ms: int, end_ms: int
                             ) -> dict[str, list[tuple[int, int, str]]]: ...
    def counters(self) -> dict[str, int]: ...
    def first_event_ms(self) -> int | None: ...

    # catalog and tokens (small tables)
    def catalog_rows(self, table: str) -> list[dict[str, Any]]: ...
    def catalog_put(self, table: str, row: dict[str, Any], *, create: bool) -> None: ...
    def catalog_delete(self, table: str, key: str) -> None: ...

    def close(self) -> None: ...

