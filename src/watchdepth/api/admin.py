"""Admin commands over the data dir's Unix socket: what the CLI asks a running server to do.

Input: requests from ``watchdepth token create|list|revoke`` / ``import`` on the same
machine (the socket file is owner-only: being able to connect is the credential). Output: JSON.
It exists because one process holds the DuckDB file; it adds no other power.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from watchdepth.api.bodies import read_body
from watchdepth.api.context import services as _services
from watchdepth.api.exports import admin_routes as export_admin_routes
from watchdepth.api.intake import import_ndjson
from watchdepth.catalog.tokens import check_projects
from watchdepth.errors import BadJSON, WrongType


class TokenRequest(msgspec.Struct):
    name: str = "cli"
    projects: list[str] = []
    read_only: bool = False


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def create_token(request: Request) -> JSONResponse:
    s = _services(request)
    try:
        req = msgspec.json.decode(await request.body(), type=TokenRequest)
    except msgspec.ValidationError as exc:
        raise WrongType(str(exc)) from None
    except msgspec.DecodeError:
        raise BadJSON("body is not valid JSON") from None
    check_projects(s.catalog.projects, req.projects)
    secret, token = s.tokens.create(req.name, req.projects, req.read_only)
    return JSONResponse({"token": secret, "id": token.id}, status_code=201)


async def list_tokens(request: Request) -> JSONResponse:
    return JSONResponse({"data": _services(request).tokens.list_all()})


async def revoke_token(request: Request) -> JSONResponse:
    token = _services(request).tokens.revoke(request.path_params["id"])
    return JSONResponse({"data": {"id": token.id, "name": token.name}})


async def import_file(request: Request) -> JSONResponse:
    s = _services(request)
    body = await read_body(request, s.settings.max_import_body)
    return JSONResponse(await import_ndjson(s, body), status_code=202)


def routes() -> list[Route]:
    return [
        Route("/admin/ping", ping, methods=["GET"]),
        Route("/admin/tokens", create_token, methods=["POST"]),
        Route("/admin/tokens", list_tokens, methods=["GET"]),
        Route("/admin/tokens/{id}", revoke_token, methods=["DELETE"]),
        Route("/admin/import", import_file, methods=["POST"]),
        *export_admin_routes(),
    ]
