"""Routes of the catalog: projects, folders, videos, streams and their broadcast events.

Input: JSON bodies decoded with msgspec (wrong types → 400102, bad values → 400400).
Output: ``{"data": ...}`` envelopes, lists paginated and sortable. Rules about
references (folder in project, event of a stream) live in ``catalog.service``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchdepth.api import params
from watchdepth.api.auth import Token
from watchdepth.api.bodies import json_object
from watchdepth.api.context import services as _services
from watchdepth.errors import InvalidParam, ValidationFailed, WrongType
from watchdepth.query.analytics import parse_order, sort_rows
from watchdepth.services import Services

_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
Name = msgspec.Meta(min_length=1, max_length=255)


class ProjectIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    id: str | None = None


class FolderIn(msgspec.Struct, forbid_unknown_fields=True):
    project_id: str
    name: str
    parent_id: str | None = None
    id: str | None = None


class VideoIn(msgspec.Struct, forbid_unknown_fields=True):
    project_id: str
    title: str
    duration: float | None = None
    folder_id: str | None = None
    id: str | None = None


class StreamIn(msgspec.Struct, forbid_unknown_fields=True):
    project_id: str
    title: str
    folder_id: str | None = None
    id: str | None = None


class EventIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    folder_id: str | None = None
    id: str | None = None


SCHEMAS: dict[str, type[msgspec.Struct]] = {
    "projects": ProjectIn, "folders": FolderIn, "videos": VideoIn, "streams": StreamIn, "events": EventIn,
}
FILTERS = {"folders": ("project_id", "parent_id"), "videos": ("project_id", "folder_id"),
           "streams": ("project_id", "folder_id"), "projects": (), "events": ()}


async def decode(request: Request, schema: type[msgspec.Struct], *, partial: bool = False) -> dict[str, Any]:
    raw = await json_object(request)  # size, syntax, depth and top-level type: api.bodies
    if partial:
        fields = set(schema.__struct_fields__)
        unknown = sorted(set(raw) - fields)
        if unknown:
            raise _invalid(unknown[0], "unknown", f"unknown field {unknown[0]!r}")
        full = {f: raw.get(f) for f in fields}
        for req in ("name", "title", "project_id"):
            if req in full and full[req] is None:
                full[req] = "x"  # present only to let the struct check the other fields' types
        checked = _convert(full, schema)
        return {k: checked[k] for k in raw}
    return _convert(raw, schema)


def _convert(raw: dict[str, Any], schema: type[msgspec.Struct]) -> dict[str, Any]:
    try:
        obj = msgspec.convert(raw, schema)
    except msgspec.ValidationError as exc:
        text = str(exc)
        name = text.rsplit("$.", 1)[-1].rstrip("`") if "$." in text else ""
        cls = WrongType if text.startswith("Expected") else ValidationFailed
        raise cls("body did not validate", invalid_params=[InvalidParam(name or "body", "invalid", text)]) from None
    out = msgspec.structs.asdict(obj)
    _check_values(out)
    return out


def _check_values(row: dict[str, Any]) -> None:
    if row.get("id") is not None and not _ID.match(row["id"]):
        raise _invalid("id", "invalid", "id must be 1–64 characters of letters, digits, _ . : -")
    for name in ("name", "title"):
        if name in row and row[name] is not None and not 1 <= len(row[name]) <= 255:
            raise _invalid(name, "invalid", f"{name} must be 1–255 characters")
    d = row.get("duration")
    if d is not None and not (0 < d < 1e9):
        raise _invalid("duration", "invalid", "duration must be a positive number of seconds")


def _invalid(name: str, reason: str, message: str) -> ValidationFailed:
    return ValidationFailed("body did not validate", invalid_params=[InvalidParam(name, reason, message)])


def _visible(token: Token) -> list[str] | None:
    return list(token.projects) if token.projects is not None else None


def _handlers(entity: str) -> tuple[Any, Any, Any, Any, Any]:
    async def list_(request: Request) -> JSONResponse:
        """List, filtered, sorted by order and paginated."""
        s = _services(request)
        token = s.tokens.authorize(request)
        match = {k: request.query_params.get(k) for k in FILTERS[entity]}
        if entity == "events":
            match["stream_id"] = _stream(request, s, token)
        rows = s.catalog.list(entity, project_ids=_visible(token), **match)
        fields = list(rows[0]) if rows else ["id", "created_at"]
        order = parse_order(request.query_params.get("order"), fields or ["id"]) or (("created_at", False), ("id", False))
        pg, per = params.page(request)
        rows = sort_rows(rows, order)
        meta = {"pagination": {"page": pg, "per_page": per, "total": len(rows)},
                "order": {f: ("desc" if d else "asc") for f, d in order}}
        return JSONResponse({"meta": meta, "data": rows[(pg - 1) * per : pg * per]})

    async def get(request: Request) -> JSONResponse:
        """Get one by id."""
        s = _services(request)
        token = s.tokens.authorize(request)
        key = request.path_params["id"]
        params.require_project(token, s.catalog.project_of(entity, key))
        return JSONResponse({"data": s.catalog.get(entity, key)})

    async def create(request: Request) -> JSONResponse:
        """Create one (the id may be chosen by the caller); a write."""
        s = _services(request)
        token = s.tokens.authorize(request, write=True)
        row = await decode(request, SCHEMAS[entity])
        if entity == "events":
            stream = s.catalog.get("streams", _stream(request, s, token))
            row.update(stream_id=stream["id"], project_id=stream["project_id"])
        if entity != "projects":
            params.require_project(token, row["project_id"])
        elif token.projects is not None:
            params.require_project(token, None)
        row["id"] = row.get("id") or uuid.uuid4().hex
        return JSONResponse({"data": s.catalog.create(entity, row)}, status_code=201)

    async def update(request: Request) -> JSONResponse:
        """Change the fields given (PATCH and PUT alike); the id cannot change."""
        s = _services(request)
        token = s.tokens.authorize(request, write=True)
        key = request.path_params["id"]
        params.require_project(token, s.catalog.project_of(entity, key))
        changes = await decode(request, SCHEMAS[entity], partial=True)
        if "id" in changes and changes["id"] != key:
            raise _invalid("id", "immutable", "id cannot be changed")
        if "project_id" in changes:
            params.require_project(token, changes["project_id"])
        return JSONResponse({"data": s.catalog.update(entity, key, changes)})

    async def delete(request: Request) -> Response:
        """Delete one."""
        s = _services(request)
        token = s.tokens.authorize(request, write=True)
        key = request.path_params["id"]
        params.require_project(token, s.catalog.project_of(entity, key))
        s.catalog.delete(entity, key)
        return Response(status_code=204)

    return list_, get, create, update, delete


def _stream(request: Request, s: Services, token: Token) -> str:
    sid = request.path_params["stream_id"]
    params.require_project(token, s.catalog.project_of("streams", sid))
    return str(sid)


def routes() -> list[Route]:
    out = []
    for entity in ("projects", "folders", "videos", "streams"):
        list_, get, create, update, delete = _handlers(entity)
        out += [
            Route(f"/v1/{entity}", list_, methods=["GET"]),
            Route(f"/v1/{entity}", create, methods=["POST"]),
            Route(f"/v1/{entity}/{{id}}", get, methods=["GET"]),
            Route(f"/v1/{entity}/{{id}}", update, methods=["PATCH", "PUT"]),
            Route(f"/v1/{entity}/{{id}}", delete, methods=["DELETE"]),
        ]
    list_, get, create, update, delete = _handlers("events")
    base = "/v1/streams/{stream_id}/events"
    out += [
        Route(base, list_, methods=["GET"]),
        Route(base, create, methods=["POST"]),
        Route(base + "/{id}", get, methods=["GET"]),
        Route(base + "/{id}", update, methods=["PATCH", "PUT"]),
        Route(base + "/{id}", delete, methods=["DELETE"]),
    ]
    return out
