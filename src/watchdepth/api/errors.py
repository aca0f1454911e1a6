"""The one place errors become responses, and the request id every response carries.

Input: exceptions from anywhere in a request. Output: ``{"error": {...}}`` with the
status of docs/api.md. A 500 shows only ``{"code": 500500, "message": "internal error",
"request_id"}`` (never an engine message, a path or a stack trace) and logs the rest with
the request id. An unexpected exception is answered here (``CatchAll``) and not re-raised,
so the server keeps the keep-alive connection, as it does after any 4xx.
It does not decide what is an error (``errors.py`` and the raisers do).
"""

from __future__ import annotations

import itertools
import logging
import secrets
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
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


#: The whole message of every 500: what failed is in the log, under the request id.
INTERNAL = "internal error"


def error_body(exc: WatchdepthError, rid: str = "-") -> dict[str, Any]:
    """The error envelope; a 500 carries the request id only, never the exception's text."""
    if exc.status == 500:
        return {"error": {"code": exc.code, "message": INTERNAL, "request_id": rid}}
    err: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.detail:
        err["detail"] = exc.detail
    if isinstance(exc, InvalidInput) and exc.invalid_params:
        err["invalid_params"] = [p.as_dict() for p in exc.invalid_params]
    return {"error": err}


async def handle_watchdepth(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WatchdepthError)
    headers = dict(exc.headers) if isinstance(exc, InvalidInput) else {}
    rid = request_id(request)
    if not isinstance(exc, InvalidInput):
        cause = exc.__cause__ if exc.status == 500 else None  # an engine's failure: its traceback
        log.error("request %s failed: %s", rid, exc.message, exc_info=cause)
    return JSONResponse(error_body(exc, rid), status_code=exc.status, headers=headers)


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


#: No handler for ``Exception`` here: Starlette would run it in ``ServerErrorMiddleware``,
#: which re-raises after answering, and uvicorn then closes the connection. ``CatchAll`` answers it.
EXCEPTION_HANDLERS = {WatchdepthError: handle_watchdepth, HTTPException: handle_http}


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


class CatchAll:
    """Answers an exception no handler took with a 500500 and logs it with its traceback.

    It does not re-raise: the response is complete, so the connection stays open for the
    client's next request. An exception after the response began cannot be answered; it is
    logged, and the server closes that connection (the response is cut short).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except ClientDisconnect:
            log.info("request %s: the client went away", scope.get("request_id", "-"))
        except Exception:  # noqa: BLE001 - the one place an unexpected failure becomes a 500
            rid = str(scope.get("request_id", "-"))
            log.exception("request %s failed (%s %s)", rid, scope.get("method"), scope.get("path"))
            if started:
                return
            body = error_body(ServiceError(INTERNAL), rid)
            await JSONResponse(body, status_code=500)(scope, receive, send)
