"""The ceiling: a bare Starlette + msgspec endpoint that parses a /collect body and answers 202."""

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watchdepth.collect.wire import decode_batch


async def collect(request: Request) -> Response:
    events = decode_batch(await request.body())
    return Response(msgspec.json.encode({"accepted": len(events), "duplicates": 0}), status_code=202)


app = Starlette(routes=[Route("/collect", collect, methods=["POST"])])
