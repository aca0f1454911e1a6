"""The OpenAPI 3.1 description of the API, built from the same structs the routes decode.

Input: route metadata below and msgspec schemas. Output: the ``/openapi.json`` document.
It does not route anything; ``tests/api/test_docs.py`` checks every route is described.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from watchdepth import __version__
from watchdepth.api.catalog import EXTRA_PARAMS, FILTERS, SCHEMAS
from watchdepth.query.analytics import GROUPS, SINGULAR
from watchdepth.query.metrics import METRIC_FIELDS
from watchdepth.query.periods import GROUP_TIMES, PERIODS


def _q(name: str, desc: str, schema: dict[str, Any] | None = None, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": desc, "schema": schema or {"type": "string"}}


_PERIOD = [
    _q("from", "Start: YYYY-MM-DD or RFC 3339 (2000-01-01 .. now + 1 year)"),
    _q("to", "End, exclusive: YYYY-MM-DD (the start of that day) or RFC 3339"),
    _q("period", "Instead of from/to", {"type": "string", "enum": list(PERIODS)}),
    _q("timezone", "IANA zone where days begin"),
]
_SCOPE = [_q(n, f"Filter by {n}") for n in ("project_id", "folder_id", "video_id", "stream_id", "event_id", "external_id")]
_PAGE = [
    _q("page", "From 1", {"type": "integer", "minimum": 1, "maximum": 1_000_000}),
    _q("per_page", "At most 1000", {"type": "integer", "minimum": 1, "maximum": 1000}),
    _q("order", "field.dir[,field.dir…]"),
]
_AUTH = [{"bearer": []}]


def _op(summary: str, parameters: list[dict[str, Any]] | None = None, body: dict[str, Any] | None = None,
        auth: bool = True, status: str = "200") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {status: {"description": "OK"},
                                                            "400": {"description": "Invalid input"}}}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if auth:
        op["security"] = _AUTH
        op["responses"]["401"] = {"description": "No or unknown token"}
    return op


@cache
def spec() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(list(SCHEMAS.values()), ref_template="#/components/schemas/{name}")
    paths: dict[str, Any] = {
        "/collect": {"post": _op("Tracker events (METRICS.md §2)", body={"type": ["object", "array"]}, auth=False, status="202")},
        "/v1/events/import": {"post": _op("Bulk import of NDJSON events with ts, ip, user_agent", status="202",
                                          body={"type": "string"})},
        "/v1/analytics/overview": {"get": _op("Totals, timeline and top breakdowns", _PERIOD + _SCOPE + [
            _q("group_time", "Timeline bucket", {"type": "string", "enum": list(GROUP_TIMES)}),
            _q("parts", "Ext: comma-separated subset of total, timeline, top to answer (default all; the "
               "others are left out of data); 400 invalid_params on an unknown part")])},
        "/v1/analytics": {"get": _op("Metrics grouped by one or more dimensions", _PERIOD + _SCOPE + _PAGE + [
            _q("group_by", "Comma-separated: " + ", ".join(GROUPS), required=False),
            _q("group_entities", "Synonym of group_by (Kinescope's custom form)"),
            _q("group_time", "Size of date (at most 10000 buckets)", {"type": "string", "enum": list(GROUP_TIMES)}),
            _q("group", "Kinescope's custom form: adds date of this size", {"type": "string", "enum": list(GROUP_TIMES)}),
            _q("fields", "Comma-separated metrics: " + ", ".join(METRIC_FIELDS) + ", or Kinescope's singular "
               + ", ".join(SINGULAR) + " (rows use the names given); without per_page, the custom form answers "
               "all rows (at most 1000)")])},
        "/v1/analytics/referrers": {"get": _op("Referrer domains with their pages", _PERIOD + _SCOPE + _PAGE)},
        "/v1/analytics/retention": {"get": _op("Retention per second of a video", _PERIOD + [_q("video_id", "The video", required=True)])},
        "/v1/analytics/realtime": {"get": _op("Watching now", _SCOPE)},
        "/v1/analytics/realtime/stream": {"get": _op(
            "Watching now as Server-Sent Events (text/event-stream) every 2 s; Last-Event-ID resumes the ids; "
            "429 when too many streams are open", _SCOPE)},
        "/v1/analytics/concurrency": {"get": _op(
            "Concurrent viewers series and peak_concurrent_viewers with its time", _PERIOD + [
                _q("stream_id", "A stream (its broadcast events included); or event_id, or video_id"),
                _q("event_id", "A broadcast event"), _q("video_id", "A video"),
                _q("step", "Bucket in seconds (default 60; at most 10080 points)", {"type": "integer", "minimum": 1})])},
        "/v1/analytics/referrers.csv": {"get": _op("The referrers table as CSV (same rows as the JSON)", _PERIOD + _SCOPE + _PAGE)},
        "/v1/analytics/referrers.xlsx": {"get": _op("The referrers table as XLSX (same rows as the JSON)", _PERIOD + _SCOPE + _PAGE)},
        "/v1/analytics/exports": {"post": _op(
            "Queue a report (period or from/to, folder_ids, fields, format csv|xlsx, email); a write: 403 for "
            "read-only tokens", body={"type": "object"}, status="202")},
        "/v1/analytics/exports/{id}": {"get": _op("A report's status, progress, reason and signed download_url",
                                                  [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}])},
        "/v1/analytics/exports/{id}/retry": {"post": _op("Retry a failed report, or mail again one whose mail may not have arrived",
                                                         [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                                                         status="202")},
        "/exports/download/{token}": {"get": _op("The report ZIP behind a signed link (404 tampered, 410 expired)",
                                                 [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                                                 auth=False)},
        "/healthz": {"get": _op("Liveness", auth=False)},
        "/metrics": {"get": _op("Prometheus metrics", auth=False)},
    }
    for entity, struct in SCHEMAS.items():
        base = "/v1/streams/{stream_id}/events" if entity == "events" else f"/v1/{entity}"
        ref = {"$ref": f"#/components/schemas/{struct.__name__}"}
        path_params = [{"name": "stream_id", "in": "path", "required": True, "schema": {"type": "string"}}] if entity == "events" else []
        item = path_params + [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
        filters = [_q(name, "Filter (Kinescope's)") for name in (*FILTERS[entity], *EXTRA_PARAMS[entity])]
        paths[base] = {"get": _op(f"List {entity}", path_params + _PAGE + filters),
                       "post": _op(f"Create a {entity[:-1]}", path_params, ref, status="201")}
        paths[base + "/{id}"] = {
            "get": _op(f"Get a {entity[:-1]}", item),
            "patch": _op(f"Update a {entity[:-1]}", item, {"type": "object"}),
            "delete": _op(f"Delete a {entity[:-1]}", item, status="204"),
        }
    project = [{"name": "project_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    folder = project + [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    paths["/v1/projects/{project_id}/folders"] = {
        "get": _op("List a project's folders (Kinescope's path)", project + _PAGE + [_q("parent_id", "Filter")]),
        "post": _op("Create a folder in the project", project, {"type": "object"}, status="201")}
    paths["/v1/projects/{project_id}/folders/{id}"] = {
        "get": _op("Get a folder of the project", folder), "put": _op("Update a folder", folder, {"type": "object"}),
        "patch": _op("Update a folder", folder, {"type": "object"}), "delete": _op("Delete a folder", folder, status="204")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "watchdepth", "version": __version__,
                 "description": "Video analytics compatible with Kinescope's Analytics API"},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
