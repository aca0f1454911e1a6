"""``POST /collect`` on its happy path, answered below the framework (plain ASGI).

Input: every ASGI call of the public app. Output: for a plain ``POST /collect`` whose body
validates, the same ``202`` as ``intake.collect`` (CORS headers and ``X-Request-ID``
included) once the events are durable; anything else goes to the wrapped Starlette app
unchanged. It does not answer errors itself: a request that fails validation, is too
large, has a ``Content-Type`` other than JSON or text, or carries a parameter other than
the session's ``s`` is handed to the app with its body replayed, so every error still
comes from the one error path (``api.errors``) and counts once.

Why: tracker events are most of the traffic, and Starlette's middleware, routing and
exception layers cost about as much CPU per request as validating 20 events does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import msgspec

from watchdepth.api import ratelimit
from watchdepth.api.connections import internals_usable
from watchdepth.api.errors import INTERNAL, choose_request_id, error_body
from watchdepth.api.intake import bots, check_session_param, cors_for, encode_answer, media_type_ok
from watchdepth.collect.geo import client_ip
from watchdepth.errors import ServiceError, WatchdepthError
from watchdepth.serve.services import Services

log = logging.getLogger("watchdepth.api")

try:  # uvicorn's httptools protocol, which ``serve`` runs on (see ``_whole_response_cycle``)
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle
except ImportError:  # pragma: no cover - uvicorn without httptools: two ASGI messages it is
    RequestResponseCycle = None  # type: ignore[assignment,misc]

#: Whether a 202 may go in one write through uvicorn's request cycle: only on the uvicorn
#: versions whose internals were tested; on any other, the ordinary two ASGI messages.
WHOLE_WRITES = RequestResponseCycle is not None and internals_usable()

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
#: What the tracker sends (``fetch`` and ``sendBeacon`` of a string): taken without parsing.
_USUAL_TYPES = frozenset({b"text/plain;charset=UTF-8", b"text/plain", b"application/json"})


class FastCollect:
    """Wraps the public app; attributes (``state``, ``router``...) are the wrapped app's."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services
        #: The per-IP limit of /collect (None, the default: off, and it costs one test here).
        self.limit = ratelimit.buckets(services.settings.rate_limit_collect, "WATCHDEPTH_RATE_LIMIT_COLLECT")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/collect" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.limit is not None:
            scope[ratelimit.CHECKED] = True  # counted here, not again by the app's middleware
            if await self._limited(scope, send):
                return
        raw_query = scope["query_string"]
        query = parse_qs(raw_query.decode("latin-1")) if raw_query else {}  # the tracker sends none, or ?s=
        if set(query) - {"s"} or len(query.get("s", ())) > 1:
            await self.app(scope, receive, send)  # unusual parameters: the app decides
            return
        session_param = query["s"][0] if "s" in query else None
        s = self.services
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)  # the first of repeated headers, as Starlette reads them
        limit = s.settings.max_body
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self.app(scope, receive, send)  # 413 from the app
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if size > limit:
                await self.app(scope, _replay(chunks, more, receive), send)
                return
        body = b"".join(chunks)
        client = scope.get("client")
        content_type = headers.get(b"content-type")
        if content_type is not None and content_type not in _USUAL_TYPES and not media_type_ok(_text(content_type)):
            await self.app(scope, _replay([body], False, receive), send)  # 400 from the app
            return
        try:
            events = s.collector.from_request(
                body,
                peer_ip=client[0] if client else "",
                x_forwarded_for=_text(headers.get(b"x-forwarded-for")),
                user_agent=_text(headers.get(b"user-agent")),
                referer=_text(headers.get(b"referer")),
                received_at=int(time.time() * 1000),
            )
            check_session_param(session_param, events)
        except Exception:  # noqa: BLE001 - invalid input (or a bug): the app's one error path answers it
            await self.app(scope, _replay([body], False, receive), send)
            return
        rid = _request_id(headers.get(b"x-request-id"))
        cors = cors_for(_text(headers.get(b"origin")), s.settings.cors_origins)
        try:
            result = await s.ingest.submit(events, "collect")
        except Exception as exc:  # noqa: BLE001 - answered like api.errors does, never a stack trace
            failure = exc if isinstance(exc, WatchdepthError) else ServiceError(INTERNAL)
            log.error("request %s failed: %s", rid, exc, exc_info=None if isinstance(exc, WatchdepthError) else exc)
            cors = {**cors, **getattr(failure, "headers", {})}  # a 503's Retry-After
            await _answer(send, failure.status, _encode_error(failure, rid), rid, cors)
            return
        await _answer(send, 202, encode_answer(result, bots(events)), rid, cors)

    async def _limited(self, scope: MutableMapping[str, Any], send: Send) -> bool:
        """Whether the client IP is past its /collect rate (then it has its 429)."""
        assert self.limit is not None
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)
        client = scope.get("client")
        ip = client_ip(
            client[0] if client else "", _text(headers.get(b"x-forwarded-for")), self.services.settings.trusted_proxies
        )
        wait = self.limit.take(ip)
        if not wait:
            return False
        body, extra = ratelimit.refusal(wait)
        cors = cors_for(_text(headers.get(b"origin")), self.services.settings.cors_origins)
        await _answer(
            send, 429, msgspec.json.encode(body), _request_id(headers.get(b"x-request-id")), {**cors, **extra}
        )
        return True


async def _answer(send: Send, status: int, body: bytes, rid: str, extra: dict[str, str]) -> None:
    raw = [_JSON, (b"content-length", str(len(body)).encode()), (b"x-request-id", rid.encode())]
    raw += [(k.encode(), v.encode("latin-1")) for k, v in extra.items()]
    await respond(send, status, raw, body)


async def respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """A whole response: in one write where uvicorn's cycle allows (``_whole_response_cycle``),
    else as the two ASGI messages. ``bench/parse_only_app.raw_app`` answers through it too, so
    that the ceiling it measures pays what ``serve`` pays. ``headers`` must be valid HTTP."""
    cycle = _whole_response_cycle(send)
    if cycle is not None:
        _write_whole(cycle, status, headers, body)
        return
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _whole_response_cycle(send: Send) -> RequestResponseCycle | None:
    """uvicorn's httptools request cycle behind ``send``, when it can take the whole response
    in one write: a keep-alive connection, nothing sent yet, no back-pressure. Else None
    (another server, or an unusual state), and the response goes as two ASGI messages.

    Why: uvicorn writes the head and the body of a response separately, two ``send`` system
    calls each delivering a packet on the GIL-holding thread; at one event per request, one
    write instead answered +19 % requests/s (median of five 12-15 s runs each, commit 9fa6379; history of docs/benchmarks.md).
    """
    if not WHOLE_WRITES:
        return None
    cycle = getattr(send, "__self__", None)
    if type(cycle) is not RequestResponseCycle:
        return None
    if cycle.response_started or not cycle.keep_alive or cycle.disconnected or cycle.flow.write_paused:
        return None
    return cycle


def _write_whole(cycle: RequestResponseCycle, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """What uvicorn's ``send`` does for a start and a last body message, in one write. The
    header values are ours (a printable request id, configured CORS origins), so uvicorn's
    checks of names and values have nothing to refuse."""
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    head = b"".join(b"%s: %s\r\n" % kv for kv in (*cycle.default_headers, *headers))
    cycle.transport.write(b"".join((STATUS_LINE[status], head, b"\r\n", body)))
    cycle.response_complete = True
    cycle.message_event.set()
    cycle.on_response()  # the connection goes on to its next request


def _encode_error(exc: WatchdepthError, rid: str) -> bytes:
    return msgspec.json.encode(error_body(exc, rid))


def _replay(chunks: list[bytes], more: bool, receive: Receive) -> Receive:
    """A ``receive`` that first gives back what was already read, then reads on."""
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": more}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _request_id(incoming: bytes | None) -> str:
    return choose_request_id(_text(incoming) or "")
