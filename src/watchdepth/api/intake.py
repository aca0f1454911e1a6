"""HTTP intake: ``POST /collect`` (the tracker, public, CORS) and ``POST /v1/events/import``.

Input: request bodies. Output: ``202 {"accepted", "duplicates"[, "bots"]}`` once the events are
durable, or one error naming every bad event (nothing of a rejected batch is stored).
Parsing and enrichment are ``collect``'s; this module reads bodies (``api.bodies``),
applies limits, the ``Content-Type`` rule and CORS, and hands events to the ingest loop.
"""

from __future__ import annotations

import time
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchdepth.api.auth import authorize
from watchdepth.api.bodies import read_body
from watchdepth.api.context import services as _services
from watchdepth.catalog.tokens import Token
from watchdepth.collect.event import Event
from watchdepth.collect.wire import decode_import_lines_partly
from watchdepth.errors import Forbidden, InvalidInput, InvalidParam, ValidationFailed
from watchdepth.serve.ingest import Accepted
from watchdepth.serve.services import Services


def _cors_headers(request: Request, s: Services) -> dict[str, str]:
    return cors_for(request.headers.get("origin"), s.settings.cors_origins)


def cors_for(origin: str | None, allowed: tuple[str, ...]) -> dict[str, str]:
    """The CORS headers of an answer to ``origin`` (none when it is not allowed)."""
    if origin is None or not ("*" in allowed or origin in allowed):
        return {}
    return {
        "access-control-allow-origin": origin if "*" not in allowed else "*",
        "access-control-allow-methods": "POST, OPTIONS",
        "access-control-allow-headers": "content-type",
        "access-control-max-age": "86400",
        "vary": "origin",
    }


async def collect(request: Request) -> Response:
    """Tracker events, one or a batch (public, CORS): 202 once they are durable."""
    s = _services(request)
    cors = _cors_headers(request, s)
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=cors)
    try:
        body = await read_body(request, s.settings.max_body)  # read first: the connection stays usable
        check_media_type(request.headers.get("content-type"))
        events = s.collector.from_request(
            body,
            peer_ip=request.client.host if request.client else "",
            x_forwarded_for=request.headers.get("x-forwarded-for"),
            user_agent=request.headers.get("user-agent"),
            referer=request.headers.get("referer"),
            received_at=int(time.time() * 1000),
        )
        check_session_param(request.query_params.get("s"), events)
    except InvalidInput as exc:
        s.ingest.stats.rejected += 1
        exc.headers.update(cors)
        raise
    result = await s.ingest.submit(events, "collect")
    return Response(encode_answer(result, bots(events)), status_code=202, headers=cors, media_type="application/json")


COLLECT_MEDIA_TYPES: Final = frozenset({"application/json", "text/plain"})


def media_type_ok(content_type: str | None) -> bool:
    """Whether /collect takes a body of this ``Content-Type`` (docs/metrics.md §2).

    ``application/json`` or ``text/plain`` (what ``navigator.sendBeacon`` and ``fetch``
    send for a string, with a charset), any parameters, or none at all (clients that send
    no type, as ``httpx`` and many server-side senders do). A form or a file is refused.
    """
    if not content_type:
        return True
    return content_type.partition(";")[0].strip().lower() in COLLECT_MEDIA_TYPES


def check_media_type(content_type: str | None) -> None:
    """Refuse another ``Content-Type`` with 400400 naming the header.

    HTTP has 415 for this, but docs/api.md's table has no code for it and pairs 400400 with 400.
    """
    if not media_type_ok(content_type):
        message = "Content-Type must be application/json or text/plain"
        problem = InvalidParam("Content-Type", "unsupported", f"{message}, not {(content_type or '')[:100]!r}")
        raise ValidationFailed(message, invalid_params=[problem])


class _Answer(msgspec.Struct, omit_defaults=True):
    """The 202 body, encoded by msgspec straight from the ingest result."""

    accepted: int
    duplicates: int
    bots: int = 0


_encode = msgspec.json.Encoder().encode


def bots(events: list[Event]) -> int:
    """How many of the events came from a bot's User-Agent (stored, but counted in no metric)."""
    return sum(1 for e in events if e.bot)


def encode_answer(result: Accepted, bot_events: int = 0) -> bytes:
    """The body of a 202: ``{"accepted": n, "duplicates": m}``, and ``"bots": b`` when b > 0:
    events acknowledged but, their User-Agent being a bot's (a headless browser's too), in no
    metric, which a developer testing the tracker needs to know."""
    return _encode(_Answer(*result, bots=bot_events))


def check_session_param(s: str | None, events: list[Event]) -> None:
    """``/collect?s=<session_id>`` lets a balancer hash sessions to collectors (docs/scale-out.md).

    Optional; when given, every event must carry that session, else the batch is refused
    (it would reach a collector that does not own the other sessions).
    """
    if s is None:
        return
    bad = [
        InvalidParam("session_id", "invalid", "differs from the s parameter of the URL", index=i)
        for i, e in enumerate(events)
        if e.session_id != s
    ]
    if bad:
        raise ValidationFailed(f"{len(bad)} invalid event(s); nothing was accepted", invalid_params=bad)


async def import_events(request: Request) -> Response:
    """Bulk import of past events as NDJSON (ts, ip, user_agent per line): all lines or none."""
    s = _services(request)
    token = authorize(request, write=True)
    body = await read_body(request, s.settings.max_import_body)
    return JSONResponse(await import_ndjson(s, body, token), status_code=202)


async def import_ndjson(s: Services, body: bytes, token: Token | None = None) -> dict[str, int]:
    """Validate every line, then apply them all (each load in seq order) as one write.

    With a ``token`` limited to some projects, every event must be of one of them, else the
    whole batch is refused (100103) and nothing of it is stored."""
    try:
        wire, lines, errors = decode_import_lines_partly(body.splitlines(), 0)
        events = s.collector.from_import(wire, received_at=int(time.time() * 1000), index=lines, errors=errors)
        if token is not None and token.projects is not None:
            _check_scope(token, events)
    except InvalidInput:
        s.ingest.stats.rejected += 1
        raise
    result = await s.ingest.submit(events, "import")
    return {"accepted": result.accepted, "duplicates": result.duplicates}


def _check_scope(token: Token, events: list[Event]) -> None:
    outside = sorted({e.project_id for e in events if not token.allows(e.project_id)})
    if outside:
        raise Forbidden(f"this token may not touch project {', '.join(map(repr, outside))}; nothing was accepted")


def routes() -> list[Route]:
    return [
        Route("/collect", collect, methods=["POST", "OPTIONS"]),
        Route("/v1/events/import", import_events, methods=["POST"]),
    ]
