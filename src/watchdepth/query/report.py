"""The rows of a report export, from the store and the catalog (the real ``ReportSource``).

Input: an ``ExportSpec`` (period or from/to in a time zone, folder ids, the projects
the submitting token may see). Output: one dict per video, stream and broadcast event
in those folders and all their nested folders (every content item the token may see
when no folder is chosen), with zeros for content without views. Numbers come from one
``store.aggregate`` grouped by content and from ``query.metrics``: a video or event
row is its own content id, as ``GET /v1/analytics?group_by=video_id`` shows it; a
stream row covers the stream and its broadcast events, as the API's ``stream_id``
filter does. ``peak_concurrent_viewers`` comes from ``query.concurrency`` for stream
and event rows only. It does not write files, check tokens or validate the spec
(``export.source.parse_spec`` does).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from watchdepth.catalog.model import ContentInfo
from watchdepth.catalog.service import Catalog
from watchdepth.export.source import ExportSpec
from watchdepth.query import concurrency, metrics
from watchdepth.query.periods import Period, parse_period, zone
from watchdepth.store.base import SUMS, Aggregate, Store

#: Above this many content ids the sums are asked per project, not per id list.
_ID_FILTER_MAX = 2000
_ZERO = dict.fromkeys(SUMS, 0.0)
_KIND_ORDER = {"video": 0, "stream": 1, "event": 2}


class StoreReportSource:
    """``ReportSource`` over a ``Store`` and its ``Catalog``; safe to use from worker threads."""

    def __init__(self, store: Store, catalog: Catalog, default_timezone: str = "UTC") -> None:
        self.store, self.catalog, self.default_timezone = store, catalog, default_timezone

    def period(self, spec: ExportSpec) -> Period:
        """The report's period, resolved at the instant it was asked for, in its time zone."""
        now_ms = int((spec.asked_at if spec.asked_at is not None else time.time()) * 1000)
        first_ms = self.store.first_event_ms() if spec.period == "all_time" else None
        return parse_period(from_=spec.from_, to=spec.to, period=spec.period,
                            tz=zone(spec.timezone, self.default_timezone), now_ms=now_ms, first_ms=first_ms)

    def content(self, spec: ExportSpec) -> list[ContentInfo]:
        """The report's content items in row order: project, folder path, stream then its events, id."""
        allowed = set(spec.projects) if spec.projects is not None else None
        folders = self.catalog.subfolders(spec.folder_ids) if spec.folder_ids else None
        items = [
            info for info in list(self.catalog.content.values())
            if (allowed is None or info.project_id in allowed) and (folders is None or info.folder_id in folders)
        ]
        path = self.catalog.folder_path
        items.sort(key=lambda i: (i.project_id, path(i.folder_id) or "", i.stream_id or i.id,
                                  _KIND_ORDER.get(i.kind, 3), i.id))
        return items

    def count_rows(self, spec: ExportSpec) -> int:
        return len(self.content(spec))

    def export_rows(self, spec: ExportSpec) -> Iterator[dict[str, object]]:
        items = self.content(spec)
        p = self.period(spec)
        events_of = self._events_of_streams()
        ids = {i.id for i in items} | {e for i in items if i.kind == "stream" for e in events_of.get(i.id, ())}
        sums = self._sums(p, ids, spec.projects)
        projects = self.catalog.projects
        paths: dict[str | None, str | None] = {}
        for info in items:
            own = [info.id, *events_of.get(info.id, ())] if info.kind == "stream" else [info.id]
            s = _add([sums.get(c, _ZERO) for c in own])
            m = metrics.derive(s)
            if info.folder_id not in paths:
                paths[info.folder_id] = self.catalog.folder_path(info.folder_id)
            live = info.kind != "video"
            project = projects.get(info.project_id)
            yield {
                "project_id": info.project_id,
                "project_name": project["name"] if project else None,
                "video_id": info.id if info.kind == "video" else None,
                "stream_id": (info.stream_id or info.id) if live else None,
                "event_id": info.id if info.kind == "event" else None,
                "title": info.title,
                "duration": info.duration if info.kind == "video" else None,
                "folder_name": paths[info.folder_id],
                "folder_id": info.folder_id,
                "player_loads": m["player_loads"],
                "unique_views": m["unique_views"],
                "views": m["views"],
                "total_watch_time": m["watch_time"],
                "watch_depth": m["watch_depth"],
                "peak_concurrent_viewers": self._peak(own, p) if live else None,
            }

    def _events_of_streams(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for info in list(self.catalog.content.values()):
            if info.kind == "event" and info.stream_id is not None:
                out.setdefault(info.stream_id, []).append(info.id)
        return out

    def _sums(self, p: Period, ids: set[str], projects: Sequence[str] | None) -> dict[str, dict[str, float]]:
        """Sums per content id over the period (only ids that had data)."""
        if not ids:
            return {}
        filters: dict[str, tuple[str, ...]] = {}
        if len(ids) <= _ID_FILTER_MAX:
            filters["content_id"] = tuple(sorted(ids))
        elif projects is not None:
            filters["project_id"] = tuple(projects)
        got = self.store.aggregate(Aggregate(start_ms=p.start_ms, end_ms=p.end_ms, timezone=p.timezone,
                                             dims=("content_id",), filters=filters))
        return {r[0]: dict(zip(SUMS, r[1:])) for r in got.rows if r[0] in ids}

    def _peak(self, content_ids: Sequence[str], p: Period) -> int:
        return concurrency.peaks(self.store, content_ids, p.start_ms, p.end_ms).viewers


def _add(parts: Sequence[dict[str, Any]]) -> dict[str, float]:
    if len(parts) == 1:
        return parts[0]
    return {k: sum(float(s[k]) for s in parts) for k in SUMS}
