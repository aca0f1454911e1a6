"""The rows of a report export, from the store and the catalog (the real ``ReportSource``).

Input: a ``ReportQuery`` (period or from/to in a time zone, folder ids, the projects
the submitting token may see; export's ``ExportSpec`` is one). Output: one dict per
video, stream and broadcast event in those folders and all their nested folders (every
content item the token may see when no folder is chosen), with zeros for content
without views. Numbers come from ``store.aggregate`` grouped by content (one query per
chunk of ``CHUNK`` items, so memory stays flat) and from ``query.metrics``: a video or
event row is its own content id, as ``GET /v1/analytics?group_by=video_id`` shows it; a
stream row covers the stream and its broadcast events, as the API's ``stream_id``
filter does. ``peak_concurrent_viewers`` comes from ``query.concurrency`` for stream
and event rows only. It does not write files, check tokens or validate the spec
(``export.source.parse_spec`` does), and imports nothing of ``export``: export calls it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from watchdepth.catalog.model import ContentInfo
from watchdepth.catalog.service import Catalog
from watchdepth.query import concurrency, metrics
from watchdepth.query.periods import Period, parse_period, zone
from watchdepth.store.base import SUMS, Aggregate, Store

#: Content items per store query: memory stays flat in the number of rows.
CHUNK = 5000
_ZERO = dict.fromkeys(SUMS, 0.0)
_KIND_ORDER = {"video": 0, "stream": 1, "event": 2}


class ReportQuery(Protocol):
    """What a report asks for, as far as its numbers go (its fields and format are export's)."""

    @property
    def period(self) -> str | None: ...  # a name of ``query.periods.PERIODS``; None: from_/to
    @property
    def from_(self) -> str | None: ...
    @property
    def to(self) -> str | None: ...
    @property
    def timezone(self) -> str | None: ...  # None: the workspace's
    @property
    def folder_ids(self) -> Sequence[str]: ...  # nested folders included; empty: every folder
    @property
    def projects(self) -> Sequence[str] | None: ...  # the projects it may see; None: every project
    @property
    def asked_at(self) -> float | None: ...  # unix seconds; named periods resolve at that instant


class StoreReportSource:
    """``ReportSource`` over a ``Store`` and its ``Catalog``; safe to use from worker threads."""

    def __init__(self, store: Store, catalog: Catalog, default_timezone: str = "UTC") -> None:
        self.store, self.catalog, self.default_timezone = store, catalog, default_timezone

    def period(self, spec: ReportQuery) -> Period:
        """The report's period, resolved at the instant it was asked for, in its time zone."""
        now_ms = int((spec.asked_at if spec.asked_at is not None else time.time()) * 1000)
        first_ms = self.store.first_event_ms() if spec.period == "all_time" else None
        return parse_period(
            from_=spec.from_,
            to=spec.to,
            period=spec.period,
            tz=zone(spec.timezone, self.default_timezone),
            now_ms=now_ms,
            first_ms=first_ms,
        )

    def content(self, spec: ReportQuery) -> list[ContentInfo]:
        """The report's content items in row order: project, folder path, stream then its events, id."""
        allowed = set(spec.projects) if spec.projects is not None else None
        folders = self.catalog.subfolders(spec.folder_ids) if spec.folder_ids else None
        paths = self.folder_paths()
        groups: dict[tuple[str, str], list[ContentInfo]] = {}  # sorted per folder: no sort key per item at once
        for info in list(self.catalog.content.values()):
            if (allowed is None or info.project_id in allowed) and (folders is None or info.folder_id in folders):
                groups.setdefault((info.project_id, paths.get(info.folder_id) or ""), []).append(info)
        items: list[ContentInfo] = []
        for key in sorted(groups):
            group = groups.pop(key)
            group.sort(key=lambda i: (i.stream_id or i.id, _KIND_ORDER.get(i.kind, 3), i.id))
            items += group
        return items

    def folder_paths(self) -> dict[str | None, str | None]:
        """Every folder's path ``a/b`` (None: no folder)."""
        out: dict[str | None, str | None] = {None: None}
        for fid in list(self.catalog.folders):
            out[fid] = self.catalog.folder_path(fid)
        return out

    def count_rows(self, spec: ReportQuery) -> int:
        return len(self.content(spec))

    def export_rows(self, spec: ReportQuery) -> Iterator[dict[str, object]]:
        """Rows in ``content`` order; the store is asked per chunk of items, so memory stays flat."""
        items = self.content(spec)
        p = self.period(spec)
        events_of = self._events_of_streams()
        paths = self.folder_paths()
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            own = {i.id: [i.id, *events_of.get(i.id, ())] if i.kind == "stream" else [i.id] for i in chunk}
            sums = self._sums(p, {c for cs in own.values() for c in cs})
            bins = self._bins(p, {c for c in sums if sums[c].get("startups")})
            peaks = self._peaks(p, [i for i in chunk if i.kind != "video"], own)
            for info in chunk:
                yield self._row(info, own[info.id], sums, peaks.get(info.id, 0), paths.get(info.folder_id), bins)

    def _peaks(self, p: Period, live: list[ContentInfo], own: dict[str, list[str]]) -> dict[str, int]:
        """Peak concurrent viewers of these stream and event rows (absent: 0), in one store query.

        A run opens with a credited load or impression, so a row whose content has no
        credited number before the period's end has no run touching the period: its peak
        is 0 without asking the store.
        """
        ids = {c for i in live for c in own[i.id]}
        watched = set(self._sums(Period(0, p.end_ms, p.timezone), ids)) if ids else set()
        asks = {i.id: own[i.id] for i in live if watched.intersection(own[i.id])}
        return {
            key: found.viewers for key, found in concurrency.peaks_many(self.store, asks, p.start_ms, p.end_ms).items()
        }

    def _row(
        self,
        info: ContentInfo,
        own: list[str],
        sums: dict[str, dict[str, float]],
        peak: int,
        folder_name: str | None,
        bins: dict[str, dict[int, int]],
    ) -> dict[str, object]:
        """One row; ``own``: the content ids it sums (a stream: itself and its events)."""
        merged: dict[int, int] = {}
        for c in own:
            for b, n in bins.get(c, {}).items():
                merged[b] = merged.get(b, 0) + n
        m = metrics.derive(_add([sums.get(c, _ZERO) for c in own]), merged)
        live = info.kind != "video"
        project = self.catalog.projects.get(info.project_id)
        return {
            "project_id": info.project_id,
            "project_name": project["name"] if project else None,
            "video_id": info.id if info.kind == "video" else None,
            "stream_id": (info.stream_id or info.id) if live else None,
            "event_id": info.id if info.kind == "event" else None,
            "title": info.title,
            "duration": info.duration if info.kind == "video" else None,
            "folder_name": folder_name,
            "folder_id": info.folder_id,
            "player_loads": m["player_loads"],
            "unique_views": m["unique_views"],
            "views": m["views"],
            "total_watch_time": m["watch_time"],
            "avg_watch_time": m["avg_watch_time"],
            "watch_depth": m["watch_depth"],
            "peak_concurrent_viewers": peak if live else None,
            **{k: m[k] for k in metrics.QUALITY_FIELDS},
        }

    def _events_of_streams(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for info in list(self.catalog.content.values()):
            if info.kind == "event" and info.stream_id is not None:
                out.setdefault(info.stream_id, []).append(info.id)
        return out

    def _bins(self, p: Period, ids: set[str]) -> dict[str, dict[int, int]]:
        """Startup counts per 10 ms bin per content id (docs/metrics.md §7 percentiles), of ids with startups."""
        if not ids:
            return {}
        got = self.store.aggregate(
            Aggregate(
                start_ms=p.start_ms,
                end_ms=p.end_ms,
                timezone=p.timezone,
                dims=("content_id", "startup_bin"),
                filters={"content_id": tuple(sorted(ids))},
                sums=("startups",),
            )
        )
        at = 2 + SUMS.index("startups")
        out: dict[str, dict[int, int]] = {}
        for r in got.rows:
            if r[1] is not None and r[at]:
                out.setdefault(r[0], {})[int(r[1])] = int(r[at])
        return out

    def _sums(self, p: Period, ids: set[str]) -> dict[str, dict[str, float]]:
        """Sums per content id over the period (only ids that had data)."""
        if not ids:
            return {}
        got = self.store.aggregate(
            Aggregate(
                start_ms=p.start_ms,
                end_ms=p.end_ms,
                timezone=p.timezone,
                dims=("content_id",),
                filters={"content_id": tuple(sorted(ids))},
            )
        )
        return {r[0]: dict(zip(SUMS, r[1:])) for r in got.rows}


def _add(parts: Sequence[dict[str, Any]]) -> dict[str, float]:
    if len(parts) == 1:
        return parts[0]
    return {k: sum(float(s[k]) for s in parts) for k in SUMS}
