"""Routes of live analytics: watching now as Server-Sent Events, and concurrent viewers.

Input: HTTP requests (Bearer token or the dashboard's ``wd_token`` cookie, as every /v1
route). Output: ``GET /v1/analytics/realtime/stream`` (``text/event-stream``) and
``GET /v1/analytics/concurrency`` (JSON envelope of docs/api.md). Watching now comes from the
ingest loop's in-memory state (``api.analytics.realtime_data``); the concurrency series
from ``query.concurrency``. It computes no metric itself and keeps no history: each SSE
event is a fresh snapshot, so a reconnecting client needs no replay, only the next one.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from watchdepth.api import params
from watchdepth.api.analytics import realtime_data
from watchdepth.api.auth import authorize
from watchdepth.api.context import services as _services
from watchdepth.errors import NotFound, RateLimited
from watchdepth.query import concurrency
from watchdepth.query.periods import Period, iso
from watchdepth.serve.services import Services

#: Reconnection delay suggested to EventSource clients (``retry:``), ms.
RETRY_MS = 3_000
#: Default bucket of the concurrency series, seconds.
DEFAULT_STEP_S = 60
#: Most points one concurrency series may have (a week per minute).
MAX_POINTS = 10_080


class Hub:
    """The open event streams of one app: their count (capped) and the shutdown signal."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.open = 0
        self.closing = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def join(self) -> None:
        """Take a slot, or raise 429429 when every slot is taken."""
        if self.open >= self.cap:
            raise RateLimited(
                f"too many open live streams (at most {self.cap}); retry later or poll /v1/analytics/realtime",
                headers={"Retry-After": str(RETRY_MS // 1000)},
            )
        self._loop = asyncio.get_running_loop()
        self.open += 1

    def leave(self) -> None:
        self.open -= 1

    def close(self) -> None:
        """End every stream now (server shutdown). Safe from a signal handler or another thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.closing.set)
        else:
            self.closing.set()


#: Every hub of this process, so shutdown can reach them whatever wraps the app.
_HUBS: weakref.WeakSet[Hub] = weakref.WeakSet()


def hub(app: Starlette) -> Hub:
    h: Hub | None = getattr(app.state, "live_hub", None)
    if h is None:
        h = app.state.live_hub = Hub(_services_of(app).settings.live_max_subscribers)
        _HUBS.add(h)
    return h


def close_streams(app: Any = None) -> None:
    """Called by the server when it starts shutting down, so open streams do not hold it.

    Ends the streams of every app in this process (``app`` is accepted for callers that
    pass theirs; it may be wrapped in middleware, so it is not used to find the hub).
    """
    for h in list(_HUBS):
        h.close()


def _services_of(app: Starlette) -> Services:
    services: Services = app.state.services
    return services


# -- GET /v1/analytics/realtime/stream ----------------------------------------------------------


async def realtime_stream(request: Request) -> StreamingResponse:
    """Watching now, pushed as Server-Sent Events.

    Each event is ``id: <n>`` and ``data: <the JSON of /v1/analytics/realtime>``, i.e.
    ``{"data": {"online": N, "videos": [{"video_id", "title", "online"}]}}``, the first at
    once and then every ``live_interval_ms`` (default 2 s). The stream opens with
    ``retry: 3000``. Ids count up by one; a client reconnecting with ``Last-Event-ID: n``
    gets the current snapshot at once as ``n + 1`` (snapshots supersede each other, so
    nothing is replayed). Same auth and filters as ``/v1/analytics/realtime``
    (``project_id``, ``folder_id``, ``video_id``, ``stream_id``, ``event_id``); errors are
    the usual JSON before the stream starts. Past ``live_max_subscribers`` open streams:
    ``429`` code ``429429`` with ``Retry-After`` (poll ``/v1/analytics/realtime`` instead).
    The stream ends by itself when the server shuts down.
    """
    s = _services(request)
    token = authorize(request)
    sc = params.scope(request, token, s.catalog, Period(0, 1, s.settings.timezone))
    h = hub(request.app)
    h.join()
    first_id = _last_event_id(request) + 1
    return _EventStream(h, _events(s, sc.filters, h, first_id, token.id))


class _EventStream(StreamingResponse):
    """A streaming response that gives its hub slot back however it ends (even before its first byte)."""

    def __init__(self, h: Hub, events: AsyncIterator[str]) -> None:
        super().__init__(
            events, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        self.hub = h

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.hub.leave()


async def _events(
    s: Services, filters: dict[str, tuple[str, ...]], h: Hub, first_id: int, token_id: str
) -> AsyncIterator[str]:
    """Snapshots until the server closes or the token is revoked."""
    interval = max(s.settings.live_interval_ms, 10) / 1000
    yield f"retry: {RETRY_MS}\n\n"
    n = first_id
    while not h.closing.is_set() and s.tokens.active(token_id):
        body = json.dumps({"data": realtime_data(s, filters)}, separators=(",", ":"))
        yield f"id: {n}\ndata: {body}\n\n"
        n += 1
        try:
            await asyncio.wait_for(h.closing.wait(), interval)
        except TimeoutError:
            pass


def _last_event_id(request: Request) -> int:
    """The id the client saw last; anything but a whole number ≥ 0 counts as none."""
    raw = request.headers.get("last-event-id", "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else 0


# -- GET /v1/analytics/concurrency --------------------------------------------------------------


async def concurrency_series(request: Request) -> JSONResponse:
    """Concurrent viewers of a stream (with its broadcast events), a broadcast event or a video.

    Query: exactly one of ``stream_id``, ``event_id``, ``video_id``; the period (``from``
    and ``to``, or ``period``; ``timezone``); ``step`` in whole seconds (default 60, at
    most 10 080 points). Answer::

        {"meta": {"time": {"from", "to", "timezone"}, "step": 60},
         "data": {"peak_concurrent_viewers": 3, "peak_at": "2026-01-01T01:00:05+01:00",
                  "series": [{"time": "2026-01-01T01:00:00+01:00", "viewers": 2}, ...]}}

    A session watches during [first event, last event] of each of its runs (docs/metrics.md
    §4). Each point is the peak within its bucket ``[time, time + step)``, so the series'
    maximum is ``peak_concurrent_viewers``; ``peak_at`` is the first instant that peak
    was reached, in ISO 8601 in the requested time zone (null when nobody watched).
    Point times are in the requested zone too (``Z`` for UTC).
    """
    s = _services(request)
    token = authorize(request)
    content_ids = _subject(request, token, s)
    p = params.period(request, s.settings.timezone, s.store)
    step_ms = _step(request) * 1000
    points = -(-(p.end_ms - p.start_ms) // step_ms)
    if points > MAX_POINTS:
        raise params.bad(
            "step", f"{points} points is too many (at most {MAX_POINTS}); choose a larger step or a shorter period"
        )
    spans = await asyncio.to_thread(s.store.run_spans, content_ids, p.start_ms, p.end_ms)
    values, top = concurrency.series(spans, p.start_ms, p.end_ms, step_ms)
    data = {
        "peak_concurrent_viewers": top.viewers,
        "peak_at": local_iso(top.at_ms, p.timezone) if top.at_ms is not None else None,
        "series": [{"time": local_iso(t, p.timezone), "viewers": v} for t, v in values],
    }
    meta = {"time": {"from": iso(p.start_ms), "to": iso(p.end_ms), "timezone": p.timezone}, "step": step_ms // 1000}
    return JSONResponse({"meta": meta, "data": data})


def _subject(request: Request, token: Any, s: Services) -> list[str]:
    """The content ids of the one stream, event or video asked for (a stream brings its events)."""
    q = request.query_params
    given = [name for name in ("stream_id", "event_id", "video_id") if q.get(name)]
    if len(given) != 1:
        reason = "required" if not given else "invalid"
        raise params.bad(
            given[0] if given else "stream_id", "give exactly one of stream_id, event_id, video_id", reason
        )
    name = given[0]
    cid = q[name].strip()
    kind = name.removesuffix("_id")
    info = s.catalog.content.get(cid)
    if info is None or info.kind != kind:
        raise NotFound(f"no {kind} with id {cid!r}")
    params.require_project(token, info.project_id)
    return sorted(s.catalog.content_ids(stream_id=cid)) if kind == "stream" else [cid]


def _step(request: Request) -> int:
    raw = request.query_params.get("step")
    if raw is None or raw == "":
        return DEFAULT_STEP_S
    try:
        step = int(raw)
    except ValueError:
        raise params.bad("step", f"step must be a whole number of seconds; got {raw!r}") from None
    if step < 1:
        raise params.bad("step", "step must be at least 1 second")
    return step


def local_iso(ms: int, tz: str) -> str:
    """ISO 8601 in zone ``tz`` with its offset (``Z`` for UTC); milliseconds only when not zero."""
    d = datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(tz))
    text = d.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")
    return text.replace("+00:00", "Z") if tz in ("UTC", "Etc/UTC") else text


def routes() -> list[Route]:
    return [
        Route("/v1/analytics/realtime/stream", realtime_stream, methods=["GET"]),
        Route("/v1/analytics/concurrency", concurrency_series, methods=["GET"]),
    ]
