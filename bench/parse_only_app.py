"""The ceilings: bare endpoints that parse a /collect body with msgspec and answer 202.

``app`` goes through Starlette's routing; ``raw_app`` is a plain ASGI callable, as
``api/collect_fast.FastCollect`` answers /collect below Starlette in ``serve``, and it answers
the same way (``collect_fast.respond``: head and body in one write): its HTTP cost is uvicorn's
alone.
"""

from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watchdepth.api.collect_fast import respond
from watchdepth.collect.wire import decode_batch


async def collect(request: Request) -> Response:
    events = decode_batch(await request.body())
    return Response(msgspec.json.encode({"accepted": len(events), "duplicates": 0}), status_code=202)


app = Starlette(routes=[Route("/collect", collect, methods=["POST"])])


async def raw_app(scope: dict, receive: Any, send: Any) -> None:  # type: ignore[type-arg]
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    events = decode_batch(body)
    answer = msgspec.json.encode({"accepted": len(events), "duplicates": 0})
    await respond(send, 202, [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))], answer)
