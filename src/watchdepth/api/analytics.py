"""Routes of ``/v1/analytics``: overview, grouped table, referrers, retention, realtime.

Input: HTTP requests. Output: docs/api.md envelopes built from ``query.analytics``.
Each handler authorizes, parses, asks ``query``, wraps: no metric is computed here.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from watchdepth.api import params
from watchdepth.api.auth import authorize
from watchdepth.api.context import services as _services
from watchdepth.errors import NotFound
from watchdepth.query import analytics
from watchdepth.query.periods import Period, iso
from watchdepth.serve.services import Services


def _time_meta(p: Period) -> dict[str, Any]:
    return {"time": {"from": iso(p.start_ms), "to": iso(p.end_ms), "timezone": p.timezone}}


async def _in_thread(fn: Any, *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


async def overview(request: Request) -> JSONResponse:
    """Totals, a timeline with every bucket, and the top countries, devices, OSes and browsers.

    The total and each bucket carry the metrics and the quality-of-experience fields of
    docs/metrics.md §7 (startup_time, startup_time_p90, buffering_count, buffering_time,
    rebuffer_ratio, playback_failures, failure_rate, exits_before_start).
    """
    s = _services(request)
    token = authorize(request)
    p = params.period(request, s.settings.timezone, s.store)
    sc = params.scope(request, token, s.catalog, p)
    parts = _overview_parts(request)
    online = _online(s, sc.filters)
    size = params.group_time(request, p if "timeline" in parts else None)
    data = await _in_thread(analytics.overview, s.store, sc, size, online, parts)
    return JSONResponse({"meta": _time_meta(p), "data": data})


def _overview_parts(request: Request) -> tuple[str, ...]:
    """Ext ``parts``: which of total, timeline, top to answer (comma-separated; default all)."""
    if "parts" not in request.query_params:
        return analytics.OVERVIEW_PARTS
    asked = params.listed(request, "parts")
    unknown = [p for p in asked if p not in analytics.OVERVIEW_PARTS]
    if unknown or not asked:
        raise params.bad(
            "parts",
            f"parts must be a comma-separated subset of {', '.join(analytics.OVERVIEW_PARTS)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
        )
    return tuple(p for p in analytics.OVERVIEW_PARTS if p in asked)


async def grouped(request: Request) -> JSONResponse:
    """Metrics grouped by one or more dimensions (Kinescope's table, and its custom form)."""
    s = _services(request)
    token = authorize(request)
    p = params.period(request, s.settings.timezone, s.store)
    sc = params.scope(request, token, s.catalog, p)
    req = params.table_request(request, p)
    rows, total = await _in_thread(analytics.table, s.store, s.catalog, sc, req)
    meta = {
        **_time_meta(p),
        "pagination": {"page": req.page, "per_page": req.per_page, "total": total},
        "order": {f: ("desc" if d else "asc") for f, d in req.order},
    }
    return JSONResponse({"meta": meta, "data": rows})


class _ReferrersAsk(NamedTuple):
    services: Services
    period: Period
    scope: analytics.Scope
    order: tuple[tuple[str, bool], ...]
    page: int
    per_page: int


def _referrers_ask(request: Request, default_per_page: int = 10) -> _ReferrersAsk:
    """The referrers question of a request: its token's scope, period, order and page."""
    s = _services(request)
    token = authorize(request)
    p = params.period(request, s.settings.timezone, s.store)
    sc = params.scope(request, token, s.catalog, p)
    order = analytics.parse_order(request.query_params.get("order"), ["domain", "views", "player_loads", "view_rate"])
    pg, per = params.page(request, default_per_page)
    assert per is not None
    return _ReferrersAsk(s, p, sc, order, pg, per)


async def referrers(request: Request) -> JSONResponse:
    """Referrer domains with their totals and their pages."""
    ask = _referrers_ask(request)
    rows, total = await _in_thread(
        analytics.referrers, ask.services.store, ask.scope, ask.order, ask.page, ask.per_page
    )
    meta = {
        **_time_meta(ask.period),
        "pagination": {"page": ask.page, "per_page": ask.per_page, "total": total},
        "order": {f: ("desc" if d else "asc") for f, d in ask.order},
    }
    return JSONResponse({"meta": meta, "data": rows})


def referrer_rows(request: Request) -> list[dict[str, Any]]:
    """The rows ``referrers`` answers for the same parameters (the referrers CSV/XLSX files).

    Sync: the file routes run in a worker thread. Without ``per_page`` the file holds the
    JSON's largest page (``query.analytics.MAX_PER_PAGE`` rows).
    """
    ask = _referrers_ask(request, analytics.MAX_PER_PAGE)
    rows, _ = analytics.referrers(ask.services.store, ask.scope, ask.order, ask.page, ask.per_page)
    return rows


async def retention(request: Request) -> JSONResponse:
    """Retention of one video: the share of its viewers who watched each second."""
    s = _services(request)
    token = authorize(request)
    video_id = request.query_params.get("video_id")
    if not video_id:
        raise params.bad("video_id", "video_id is required", "required")
    info = s.catalog.content.get(video_id)
    if info is None or info.kind != "video":
        raise NotFound(f"no video with id {video_id!r}")
    params.require_project(token, info.project_id)
    p = params.period(request, s.settings.timezone, s.store)
    data = await _in_thread(analytics.retention, s.store, s.catalog, video_id, p)
    return JSONResponse({"meta": _time_meta(p), "data": data})


async def realtime(request: Request) -> JSONResponse:
    """Watching now (docs/metrics.md §4) from the ingest loop's memory, no database read.

    ``{"data": {"online": N, "videos": [{"video_id", "title", "online"}]}}``, rows by
    ``online`` descending; a stream's viewers are listed under the stream's id and its
    broadcast events' ids. Scope: the workspace (the token's projects), or ``project_id``,
    ``folder_id``, ``video_id``, ``event_id``, ``stream_id`` (the stream and its events).
    ``/v1/analytics/realtime/stream`` (``api.live``) pushes this same object.
    """
    s = _services(request)
    token = authorize(request)
    p = Period(0, 1, s.settings.timezone)
    sc = params.scope(request, token, s.catalog, p)
    return JSONResponse({"data": realtime_data(s, sc.filters)})


def realtime_data(s: Services, filters: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    counts = _watching(s, filters)
    videos = [
        {"video_id": cid, "title": s.catalog.content[cid].title if cid in s.catalog.content else None, "online": n}
        for cid, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {"online": sum(counts.values()), "videos": videos}


def _watching(s: Services, filters: dict[str, tuple[str, ...]]) -> dict[str, int]:
    counts = s.ingest.watching_now()
    projects = set(filters.get("project_id", ())) or None
    folders = set(filters.get("folder_id", ())) or None
    content = set(filters.get("content_id", ())) or None
    out = {}
    for cid, n in counts.items():
        info = s.catalog.content.get(cid)
        if info is None:
            continue
        if projects is not None and info.project_id not in projects:
            continue
        if folders is not None and info.folder_id not in folders:
            continue
        if content is not None and cid not in content:
            continue
        out[cid] = n
    return out


def _online(s: Services, filters: dict[str, tuple[str, ...]]) -> int:
    return sum(_watching(s, filters).values())


def routes() -> list[Route]:
    return [
        Route("/v1/analytics/overview", overview, methods=["GET"]),
        Route("/v1/analytics", grouped, methods=["GET"]),
        Route("/v1/analytics/referrers", referrers, methods=["GET"]),
        Route("/v1/analytics/retention", retention, methods=["GET"]),
        Route("/v1/analytics/realtime", realtime, methods=["GET"]),
    ]
