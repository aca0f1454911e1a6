"""Routes of the catalog: projects, folders, videos, streams and their broadcast events.

Kinescope's paths and filters too (docs/api.md "Catalog"): folders under their project, the
video filters ``q``, ``video_ids[]``, ``status[]``, ``without_folder``; a list refuses a
query parameter it does not know (400400) rather than ignore a filter.

Input: JSON bodies decoded with msgspec (wrong types → 400102, bad values → 400400).
Output: ``{"data": ...}`` envelopes, lists paginated and sortable. Rules about
references (folder in project, event of a stream) live in ``catalog.service``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchdepth.api import params
from watchdepth.api.auth import authorize
from watchdepth.api.bodies import json_object
from watchdepth.api.context import services as _services
from watchdepth.catalog.tokens import Token
from watchdepth.errors import InvalidParam, NotFound, ValidationFailed, WrongType
from watchdepth.query.analytics import parse_order, sort_rows
from watchdepth.serve.services import Services

_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
Name = msgspec.Meta(min_length=1, max_length=255)


class ProjectIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    id: str | None = None
    #: Kinescope's vod/live split; a project here holds both, so it is checked and not stored.
    catalog_type: Literal["vod", "live"] | None = None
    #: Kinescope's player and privacy settings: no player here, so checked and not stored.
    privacy_type: str | None = None
    privacy_domains: list[str] | None = None
    player_id: str | None = None
    encrypted: bool | None = None
    apply_to_videos: bool | None = None


#: Body fields accepted for Kinescope's clients and not stored (docs/kinescope-compat.md).
NOT_STORED = ("catalog_type", "privacy_type", "privacy_domains", "player_id", "encrypted", "apply_to_videos")


class FolderIn(msgspec.Struct, forbid_unknown_fields=True):
    project_id: str
    name: str
    parent_id: str | None = None
    id: str | None = None


class NestedFolderIn(msgspec.Struct, forbid_unknown_fields=True):
    """A folder created under ``/v1/projects/{project_id}/folders``: the path names the project."""

    name: str
    parent_id: str | None = None
    id: str | None = None
    project_id: str | None = None


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
    "projects": ProjectIn,
    "folders": FolderIn,
    "videos": VideoIn,
    "streams": StreamIn,
    "events": EventIn,
}
FILTERS = {
    "folders": ("project_id", "parent_id"),
    "videos": ("project_id", "folder_id"),
    "streams": ("project_id", "folder_id"),
    "projects": (),
    "events": (),
}
#: Every list takes these; ``direction`` is the PHP SDK's ``order=field&direction=desc``.
LIST_PARAMS = ("page", "per_page", "order", "direction")
#: Query parameters a list knows besides FILTERS (Kinescope's; docs/kinescope-compat.md). Any other is a 400400.
EXTRA_PARAMS = {
    "videos": ("q", "video_ids[]", "video_ids", "status[]", "status", "without_folder"),
    "projects": ("catalog_type",),
    "folders": (),
    "streams": (),
    "events": (),
}
#: Kinescope's video statuses (its OpenAPI ``status[]``); a catalog video here is always ``done``.
VIDEO_STATUSES = ("pending", "uploading", "pre-processing", "processing", "aborted", "done", "error")


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
        return {k: checked[k] for k in raw if k in checked}
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
    for name in NOT_STORED:
        out.pop(name, None)
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
        token = authorize(request)
        match = _list_filters(request, entity)
        if entity == "events":
            match["stream_id"] = _stream(request, s, token)
        if entity == "folders" and "project_id" in request.path_params:
            match["project_id"] = _project(request, s, token)
        rows = s.catalog.list(entity, project_ids=_visible(token), **match)
        fields = list(rows[0]) if rows else ["id", "created_at"]
        order = _order(request, fields) or (("created_at", False), ("id", False))
        pg, per = params.paged(request)
        rows = sort_rows(rows, order)
        meta = {
            "pagination": {"page": pg, "per_page": per, "total": len(rows)},
            "order": {f: ("desc" if d else "asc") for f, d in order},
        }
        return JSONResponse({"meta": meta, "data": rows[(pg - 1) * per : pg * per]})

    async def get(request: Request) -> JSONResponse:
        """Get one by id."""
        s = _services(request)
        token = authorize(request)
        key = _key(request, s, entity)
        params.require_project(token, s.catalog.project_of(entity, key))
        return JSONResponse({"data": s.catalog.get(entity, key)})

    async def create(request: Request) -> JSONResponse:
        """Create one (the id may be chosen by the caller); a write."""
        s = _services(request)
        token = authorize(request, write=True)
        nested = entity == "folders" and "project_id" in request.path_params
        row = await decode(request, NestedFolderIn if nested else SCHEMAS[entity])
        if nested:
            pid = _project(request, s, token)
            if row.get("project_id") not in (None, pid):
                raise _invalid("project_id", "invalid", "project_id differs from the project in the path")
            row["project_id"] = pid
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
        token = authorize(request, write=True)
        key = _key(request, s, entity)
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
        token = authorize(request, write=True)
        key = _key(request, s, entity)
        params.require_project(token, s.catalog.project_of(entity, key))
        s.catalog.delete(entity, key)
        return Response(status_code=204)

    return list_, get, create, update, delete


def _list_filters(request: Request, entity: str) -> dict[str, Any]:
    """The list's filters; a parameter the list does not know is refused, never ignored."""
    q = request.query_params
    known = (*LIST_PARAMS, *FILTERS[entity], *EXTRA_PARAMS[entity])
    unknown = sorted(k for k in q if k not in known)
    if unknown:
        raise params.bad(unknown[0], f"unknown parameter {unknown[0][:64]!r}; this list takes {', '.join(known)}")
    match: dict[str, Any] = {k: q.get(k) for k in FILTERS[entity]}
    if entity == "projects" and q.get("catalog_type") not in (None, "vod", "live"):
        raise params.bad("catalog_type", "catalog_type must be vod or live")
    if entity != "videos":
        return match
    ids = q.getlist("video_ids[]") + [v for raw in q.getlist("video_ids") for v in raw.split(",") if v]
    if ids:
        match["ids"] = ids
    statuses = q.getlist("status[]") + [v for raw in q.getlist("status") for v in raw.split(",") if v]
    wrong = [v for v in statuses if v not in VIDEO_STATUSES]
    if wrong:
        raise params.bad("status[]", f"status must be among {', '.join(VIDEO_STATUSES)}; got {wrong[0][:64]!r}")
    if statuses:
        match["statuses"] = statuses
    if q.get("without_folder") not in (None, "true", "false"):
        raise params.bad("without_folder", "without_folder must be true or false")
    match["without_folder"] = q.get("without_folder") == "true"
    match["search"] = q.get("q") or None
    return match


def _order(request: Request, fields: list[str]) -> tuple[tuple[str, bool], ...]:
    """``order=field.dir[,…]``, or the PHP SDK's ``order=field&direction=asc|desc``."""
    q = request.query_params
    text, direction = q.get("order"), q.get("direction")
    if direction is not None:
        if direction not in ("asc", "desc"):
            raise params.bad("direction", "direction must be asc or desc")
        if text and "." not in text and "," not in text:
            text = f"{text}.{direction}"
    return parse_order(text, fields or ["id"])


def _key(request: Request, s: Services, entity: str) -> str:
    """The entity id of the path; under ``/v1/projects/{project_id}/folders`` it must be that project's."""
    key = str(request.path_params["id"])
    pid = request.path_params.get("project_id")
    if pid is not None and s.catalog.get(entity, key).get("project_id") != pid:
        raise NotFound(f"no folder with id {key!r} in project {pid!r}")
    return key


def _project(request: Request, s: Services, token: Token) -> str:
    pid = request.path_params["project_id"]
    params.require_project(token, s.catalog.project_of("projects", pid))
    return str(pid)


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
    list_, get, create, update, delete = _handlers("folders")
    nested = "/v1/projects/{project_id}/folders"  # Kinescope's own paths for folders
    out += [
        Route(nested, list_, methods=["GET"]),
        Route(nested, create, methods=["POST"]),
        Route(nested + "/{id}", get, methods=["GET"]),
        Route(nested + "/{id}", update, methods=["PATCH", "PUT"]),
        Route(nested + "/{id}", delete, methods=["DELETE"]),
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
