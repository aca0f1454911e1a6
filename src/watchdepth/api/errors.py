"""The one place errors become responses, and the request id every response carries.

Input: exceptions from anywhere in a request. Output: ``{"error": {...}}`` with the
status of API.md; a 500 logs the request id and shows no stack trace.
It does not decide what is an error (``errors.py`` and the raisers do).
"""

from __future__ import annotations

import itertools
import logging
import secrets
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchdepth.errors import (
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    ServiceError,
    WatchdepthError,
)

log = logging.getLogger("watchdepth.api")


def error_body(exc: WatchdepthError) -> dict[str, Any]:
    err: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.detail:
        err["detail"] = exc.detail
    if isinstance(exc, InvalidInput) and exc.invalid_params:
        err["invalid_params"] = [p.as_dict() for p in exc.invalid_params]
    return {"error": err}


async def handle_watchdepth(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WatchdepthError)
    headers = dict(exc.headers) if isinstance(exc, InvalidInput) else {}
    if not isinstance(exc, InvalidInput):
        log.error("request %s failed: %s", request_id(request), exc.message)
    return JSONResponse(error_body(exc), status_code=exc.status, headers=headers)


async def handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        mapped: WatchdepthError = MethodNotAllowed(f"method {request.method} not allowed here")
    elif exc.status_code == 404:
        mapped = NotFound(f"no such path {request.url.path}")
    else:
        mapped = InvalidInput(str(exc.detail))
        mapped.status = exc.status_code
    return await handle_watchdepth(request, mapped)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("request %s failed", request_id(request))
    return await handle_watchdepth(request, ServiceError(f"internal error; request id {request_id(request)}"))


EXCEPTION_HANDLERS = {WatchdepthError: handle_watchdepth, HTTPException: handle_http, Exception: handle_unexpected}


def request_id(request: Request) -> str:
    return str(request.scope.get("request_id", "-"))


#: Request ids: 16 random hex digits per process, then a counter (as unique as uuid4 across
#: processes and restarts, without a call to the OS's random source for every request).
_ID_PREFIX = secrets.token_hex(8)
_id_counter = itertools.count()


def choose_request_id(incoming: str) -> str:
    """The caller's X-Request-ID when it is sane (1–64 printable characters), else a new one."""
    if 0 < len(incoming) <= 64 and incoming.isprintable():
        return incoming
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


class RequestID:
    """Gives every request an id (or keeps a sane incoming one) and echoes it as X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = choose_request_id(incoming)
        scope["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + [(b"x-request-id", rid.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)
