"""The OpenAPI 3.1 description of the API, generated from the route table an app serves.

Input: the app's routes (path, methods, endpoint), each endpoint's docstring (first line:
the summary; the rest: the description), and ``OPERATIONS`` below, the query parameters,
bodies and success statuses of the routes that have them. Output: the ``/openapi.json``
document. Paths and methods come only from the routes, so a route added anywhere appears
here with its summary; path parameters come from the path. It does not route anything,
and it describes no route the app does not serve (``tests/api/test_docs.py`` checks both
ways, and that every handler has a summary).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import msgspec
from starlette.routing import BaseRoute
from starlette.schemas import BaseSchemaGenerator

from watchdepth import __version__
from watchdepth.api.catalog import EXTRA_PARAMS, FILTERS, SCHEMAS, NestedFolderIn
from watchdepth.errors import WatchdepthError
from watchdepth.export.source import EXPORT_FIELDS
from watchdepth.query.analytics import GROUPS, OVERVIEW_PARTS, SINGULAR
from watchdepth.query.metrics import METRIC_FIELDS, QUALITY_FIELDS
from watchdepth.query.periods import GROUP_TIMES, PERIODS

Schema = dict[str, Any]


class Operation(NamedTuple):
    """What the route table cannot say about one path + method."""

    params: tuple[Schema, ...] = ()
    body: Schema | None = None
    status: int = 200
    media_type: str = "application/json"  # of the answer
    body_media_type: str = "application/json"


def _q(name: str, desc: str, schema: Schema | None = None, required: bool = False) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": desc,
        "schema": schema or {"type": "string"},
    }


def _enum(values: Sequence[str]) -> Schema:
    return {"type": "string", "enum": list(values)}


PERIOD = (
    _q("from", "Start: YYYY-MM-DD (the start of that day) or RFC 3339 (2000-01-01 .. now + 1 year)"),
    _q("to", "End, exclusive: YYYY-MM-DD (the start of that day) or RFC 3339"),
    _q("period", "A named period instead of from/to", _enum(PERIODS)),
    _q("timezone", "IANA zone where days begin (default: the workspace's)"),
)
SCOPE = tuple(
    _q(n, f"Only this {n} (comma-separated for several)")
    for n in ("project_id", "folder_id", "video_id", "stream_id", "event_id", "external_id")
)
PAGE = (
    _q("page", "Page number, from 1", {"type": "integer", "minimum": 1, "maximum": 1_000_000}),
    _q("per_page", "Rows per page (default 10)", {"type": "integer", "minimum": 1, "maximum": 1000}),
    _q("order", "field.dir[,field.dir…], dir asc (default) or desc; only the answer's own fields sort"),
)
_CONTENT = (
    _q("stream_id", "A stream (its broadcast events included)"),
    _q("event_id", "A broadcast event"),
    _q("video_id", "A video"),
)


def _catalog_operations() -> dict[str, Operation]:
    out: dict[str, Operation] = {}
    bases = {entity: "/v1/streams/{stream_id}/events" if entity == "events" else f"/v1/{entity}" for entity in SCHEMAS}
    for entity, struct in SCHEMAS.items():
        out |= _catalog_entity(bases[entity], entity, struct.__name__)
    out |= _catalog_entity("/v1/projects/{project_id}/folders", "folders", NestedFolderIn.__name__)
    return out


def _catalog_entity(base: str, entity: str, struct: str) -> dict[str, Operation]:
    ref = {"$ref": f"#/components/schemas/{struct}"}
    patch = {"$ref": f"#/components/schemas/{struct}Changes"}
    filters = tuple(_q(name, f"Only rows with this {name}") for name in FILTERS[entity])
    extra = tuple(_q(name, "Kinescope's list filter (docs/kinescope-compat.md)") for name in EXTRA_PARAMS[entity])
    direction = _q("direction", "asc or desc, with a bare order=field (Kinescope's PHP SDK)", _enum(("asc", "desc")))
    return {
        f"GET {base}": Operation(PAGE + (direction,) + filters + extra),
        f"POST {base}": Operation(body=ref, status=201),
        f"PATCH {base}/{{id}}": Operation(body=patch),
        f"PUT {base}/{{id}}": Operation(body=patch),
        f"DELETE {base}/{{id}}": Operation(status=204),
    }


#: "METHOD /path" -> what the route table cannot say. A route missing here is still described.
OPERATIONS: dict[str, Operation] = {
    "POST /collect": Operation(
        body={"type": ["object", "array"], "description": "One tracker event or a batch"}, status=202
    ),
    "OPTIONS /collect": Operation(status=204),
    "POST /v1/events/import": Operation(
        body={"type": "string", "description": "NDJSON: one event per line with ts, ip, user_agent"},
        status=202,
        body_media_type="application/x-ndjson",
    ),
    "GET /v1/analytics/overview": Operation(
        PERIOD
        + SCOPE
        + (
            _q("group_time", "Timeline bucket (default day)", _enum(GROUP_TIMES)),
            _q("parts", "Comma-separated subset of " + ", ".join(OVERVIEW_PARTS) + " to answer (default all)"),
        )
    ),
    "GET /v1/analytics": Operation(
        PERIOD
        + SCOPE
        + PAGE
        + (
            _q("group_by", "Comma-separated dimensions: " + ", ".join(GROUPS)),
            _q("group_entities", "Kinescope's name of group_by (its custom form's groups included)"),
            _q("group_time", "Size of the date group (default day)", _enum(GROUP_TIMES)),
            _q("group", "Kinescope's custom form: group by date of this size", _enum(GROUP_TIMES)),
            _q(
                "fields",
                "Comma-separated metrics to answer: " + ", ".join(METRIC_FIELDS) + "; quality of experience "
                "(docs/metrics.md §7, by name only): "
                + ", ".join(QUALITY_FIELDS)
                + "; or Kinescope's singular "
                + ", ".join(SINGULAR)
                + " (rows use the names given); without per_page, the custom form answers "
                "all rows (at most 1000)",
            ),
        )
    ),
    "GET /v1/analytics/referrers": Operation(PERIOD + SCOPE + PAGE),
    "GET /v1/analytics/referrers.csv": Operation(PERIOD + SCOPE + PAGE, media_type="text/csv"),
    "GET /v1/analytics/referrers.xlsx": Operation(
        PERIOD + SCOPE + PAGE, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ),
    "GET /v1/analytics/retention": Operation(PERIOD + (_q("video_id", "The video", required=True),)),
    "GET /v1/analytics/realtime": Operation(SCOPE),
    "GET /v1/analytics/realtime/stream": Operation(SCOPE, media_type="text/event-stream"),
    "GET /v1/analytics/concurrency": Operation(
        PERIOD + _CONTENT + (_q("step", "Bucket in seconds (default 60)", {"type": "integer", "minimum": 1}),)
    ),
    "POST /v1/analytics/exports": Operation(
        body={
            "type": "object",
            "description": (
                "period or from/to, folder_ids, fields (default all: " + ", ".join(EXPORT_FIELDS) + "), format (csv or "
                "xlsx), email"
            ),
        },
        status=202,
    ),
    "POST /v1/analytics/exports/{id}/retry": Operation(status=202),
    "GET /exports/download/{token}": Operation(media_type="application/zip"),
    "GET /metrics": Operation(media_type="text/plain"),
    "GET /docs": Operation(media_type="text/html"),
    **_catalog_operations(),
}

_PATH_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


class Endpoint(NamedTuple):
    path: str  # as OpenAPI writes it: "{name}", no converter
    method: str  # upper case
    func: Any


def endpoints(routes: Sequence[BaseRoute]) -> Iterator[Endpoint]:
    """Every path + method the routes answer (HEAD is GET's), mounts included."""
    for info in BaseSchemaGenerator().get_endpoints(list(routes)):
        yield Endpoint(info.path, info.http_method.upper(), info.func)


def summary_of(func: Any) -> tuple[str, str]:
    """The docstring's first paragraph (the summary) and the rest, or ``("", "")`` without one."""
    doc = (inspect.getdoc(func) or "").replace("``", "`")
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), rest.strip()


def error_codes() -> dict[int, tuple[int, str]]:
    """Every API error code the code defines: code -> (HTTP status, class name)."""
    out: dict[int, tuple[int, str]] = {}
    todo: list[type[WatchdepthError]] = [WatchdepthError]
    while todo:
        cls = todo.pop()
        out.setdefault(cls.code, (cls.status, cls.__name__))
        todo += cls.__subclasses__()
    return out


def _operation(ep: Endpoint) -> Schema:
    summary, description = summary_of(ep.func)
    meta = OPERATIONS.get(f"{ep.method} {ep.path}", Operation())
    path_params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in _PATH_PARAM.findall(ep.path)
    ]
    ok: Schema = {"description": "OK"}
    if meta.status != 204:
        ok["content"] = {meta.media_type: {}}
    op: Schema = {
        "summary": summary or f"{ep.method} {ep.path}",
        "responses": {
            str(meta.status): ok,
            "default": {
                "description": "An error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    if description:
        op["description"] = description
    if path_params or meta.params:
        op["parameters"] = path_params + list(meta.params)
    if meta.body is not None:
        op["requestBody"] = {"required": True, "content": {meta.body_media_type: {"schema": meta.body}}}
    if ep.path.startswith("/v1/"):
        op["security"] = [{"bearer": []}]
    return op


def _error_schema() -> Schema:
    param = {
        "type": "object",
        "required": ["name", "reason", "message"],
        "properties": {
            "name": {"type": "string"},
            "reason": {"type": "string"},
            "message": {"type": "string"},
            "index": {"type": "integer", "description": "The event's index in a batch"},
        },
    }
    error = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "integer", "enum": sorted(error_codes())},
            "message": {"type": "string"},
            "detail": {"type": "string"},
            "invalid_params": {"type": "array", "items": param},
        },
    }
    return {"type": "object", "required": ["error"], "properties": {"error": error}}


def _components() -> Schema:
    structs: list[type[msgspec.Struct]] = [*SCHEMAS.values(), NestedFolderIn]
    _, schemas = msgspec.json.schema_components(structs, ref_template="#/components/schemas/{name}")
    for struct in structs:
        whole = schemas[struct.__name__]
        schemas[f"{struct.__name__}Changes"] = {k: v for k, v in whole.items() if k not in ("required", "title")}
    schemas["Error"] = _error_schema()
    return {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}


def spec(routes: Sequence[BaseRoute]) -> Schema:
    """The OpenAPI document of exactly these routes."""
    paths: dict[str, Schema] = {}
    for ep in endpoints(routes):
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "watchdepth",
            "version": __version__,
            "description": "Video analytics compatible with Kinescope's Analytics API. "
            "The reference in words: docs/api.md.",
        },
        "paths": dict(sorted(paths.items())),
        "components": _components(),
    }
