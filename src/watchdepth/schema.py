"""The names every layer shares: a load's dimensions, the dimensions a query may use, the sums.

Input: nothing. Output: constants and ``LoadDims``. The sessionizer credits facts with a
``LoadDims``; the store's tables have one column per name here; ``query`` asks for them by
these names and ``store.base.Aggregate`` refuses any other. The semantics of each sum are in
docs/metrics.md (the section numbers below are its own).
"""

from __future__ import annotations

from typing import NamedTuple


class LoadDims(NamedTuple):
    """A player load's dimensions, fixed at its ``load`` (or first) event; each may be unknown."""

    country: str | None
    platform: str | None
    os: str | None
    browser: str | None
    domain: str | None
    page: str | None
    external_id: str | None
    city: str | None


#: The facts' dimension columns, in ``LoadDims`` order.
LOAD_DIMENSIONS: tuple[str, ...] = LoadDims._fields
#: The dimensions that are columns of the facts table: a load's, and a startup's 10 ms bin.
FACT_DIMENSIONS: tuple[str, ...] = (*LOAD_DIMENSIONS, "startup_bin")
#: Dimensions a query may group or filter by: the catalog's, a load's, and ``startup_bin``
#: (internal: a startup's 10 ms bin, for the percentiles of docs/metrics.md §7).
DIMENSIONS: tuple[str, ...] = ("content_id", "project_id", "folder_id", *LOAD_DIMENSIONS, "startup_bin")
#: Dimensions held in the per-day rollup (one at a time).
ROLLUP_DIMENSIONS = ("country", "platform", "os", "browser", "domain", "page", "startup_bin", "city")

#: Event counts (§4): applied events of each type, credited at themselves.
EVENT_COUNTS = ("play", "pause", "seek", "replay", "player_init")
#: Quality of experience (§7): startup events, stalls and their ms, playback failures
#: (loads with a fatal error), exits before start (by the first play's time, like the cohort).
QUALITY_SUMS = ("startups", "stalls", "stall_ms", "failures", "exits")
#: The additive sums every analytics row carries, in this order. ``view_duration``: Σ views ×
#: duration. The cohort of §5 (pairs whose unique impression falls in the period, their whole
#: watched sets): ``cohort_watch_time`` (their watch time, all content; its pairs are
#: ``unique_views``), and for watch depth, of content with a duration only,
#: ``depth_watch_time`` and ``depth_duration`` (Σ duration over those pairs). Then the event counts.
SUMS = (
    "player_loads",
    "unique_views",
    "views",
    "watch_time",
    "view_duration",
    "cohort_watch_time",
    "depth_watch_time",
    "depth_duration",
    *EVENT_COUNTS,
    *QUALITY_SUMS,
)
#: Time buckets of a timeline.
BUCKETS = ("hour", "day", "week", "month")

#: The catalog's small tables, their columns (key first), on both backends. ``updated_at``:
#: the last change made through the API (NULL until one; the API shows ``created_at`` then).
CATALOG_TABLES: dict[str, tuple[str, ...]] = {
    "projects": ("id", "name", "created_at", "updated_at"),
    "folders": ("id", "project_id", "parent_id", "name", "created_at", "updated_at"),
    "content": ("id", "kind", "project_id", "folder_id", "title", "duration", "stream_id", "created_at", "updated_at"),
    "tokens": ("id", "hash", "name", "projects", "read_only", "revoked", "created_at"),
    "settings": ("key", "value"),
}
