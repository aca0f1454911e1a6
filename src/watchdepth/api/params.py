"""Query-string parsing for analytics: period, scope, pagination, group_by, fields.

Input: a request's query parameters and its token. Output: typed values for
``query.analytics`` (``Scope``, ``TableRequest``); bad values raise 400400 naming the
parameter. It does not run queries.
"""

from __future__ import annotations

import time

from starlette.requests import Request

from watchdepth.api.auth import Token, require_project

__all__ = ["bad", "group_time", "page", "period", "require_project", "scope", "table_request"]
from watchdepth.catalog.service import Catalog
from watchdepth.errors import InvalidParam, NotFound, ValidationFailed
from watchdepth.query import metrics
from watchdepth.query.analytics import GROUPS, Scope, TableRequest, parse_order
from watchdepth.query.periods import GROUP_TIMES, Period, parse_period, zone
from watchdepth.store.base import Store


def bad(name: str, message: str, reason: str = "invalid") -> ValidationFailed:
    return ValidationFailed("parameters did not validate", invalid_params=[InvalidParam(name, reason, message)])


def period(request: Request, default_tz: str, store: Store | None = None) -> Period:
    """The request's period; ``all_time`` starts at the store's first data."""
    q = request.query_params
    first_ms = store.first_event_ms() if store is not None and q.get("period") == "all_time" else None
    tz = zone(q.get("timezone"), default_tz)
    return parse_period(from_=q.get("from"), to=q.get("to"), period=q.get("period"), tz=tz,
                        now_ms=int(time.time() * 1000), first_ms=first_ms)


def listed(request: Request, name: str) -> list[str]:
    """A parameter given once with commas or repeated: ``a,b`` or ``x=a&x=b``."""
    values = request.query_params.getlist(name)
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


def scope(request: Request, token: Token, catalog: Catalog, p: Period) -> Scope:
    """Filters from ``project_id``, ``folder_id``, ``video_id``, ``stream_id``, ``event_id``, ``external_id``."""
    filters: dict[str, tuple[str, ...]] = {}
    projects = listed(request, "project_id")
    for pid in projects:
        if pid not in catalog.projects:
            raise NotFound(f"no project with id {pid!r}")
        require_project(token, pid)
    if projects:
        filters["project_id"] = tuple(projects)
    elif token.projects is not None:
        filters["project_id"] = token.projects
    folders = listed(request, "folder_id")
    for fid in folders:
        if fid not in catalog.folders:
            raise NotFound(f"no folder with id {fid!r}")
        require_project(token, catalog.folders[fid]["project_id"])
    if folders:
        filters["folder_id"] = tuple(sorted(catalog.subfolders(folders)))
    content = _content_filter(request, token, catalog)
    if content is not None:
        filters["content_id"] = content
    external = listed(request, "external_id")
    if external:
        filters["external_id"] = tuple(external)
    return Scope(p, filters)


def _content_filter(request: Request, token: Token, catalog: Catalog) -> tuple[str, ...] | None:
    ids: set[str] = set()
    given = False
    for name in ("video_id", "event_id"):
        for cid in listed(request, name):
            given = True
            ids.add(_known(catalog, cid, token, name))
    for sid in listed(request, "stream_id"):
        given = True
        _known(catalog, sid, token, "stream_id")
        ids |= catalog.content_ids(stream_id=sid)
    return tuple(sorted(ids)) if given else None


def _known(catalog: Catalog, cid: str, token: Token, name: str) -> str:
    info = catalog.content.get(cid)
    if info is None:
        raise NotFound(f"no {name.removesuffix('_id')} with id {cid!r}")
    require_project(token, info.project_id)
    return cid


def group_time(request: Request, default: str = "day") -> str:
    value = request.query_params.get("group_time") or default
    if value not in GROUP_TIMES:
        raise bad("group_time", f"group_time must be one of {', '.join(GROUP_TIMES)}")
    return value


def page(request: Request) -> tuple[int, int]:
    q = request.query_params
    try:
        pg = int(q.get("page", "1"))
        per = int(q.get("per_page", "10"))
    except ValueError:
        raise bad("page", "page and per_page must be whole numbers") from None
    if pg < 1:
        raise bad("page", "page starts at 1")
    if not 1 <= per <= 1000:
        raise bad("per_page", "per_page must be between 1 and 1000")
    return pg, per


def table_request(request: Request) -> TableRequest:
    q = request.query_params
    raw = q.get("group_by") or q.get("group_entities")
    if not raw:
        raise bad("group_by", f"group_by is required: one or more of {', '.join(GROUPS)}", "required")
    groups = tuple(g.strip() for g in raw.split(",") if g.strip())
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups or len(set(groups)) != len(groups):
        raise bad("group_by", f"group_by takes distinct values among {', '.join(GROUPS)}; got {raw!r}")
    fields = tuple(f.strip() for f in (q.get("fields") or "").split(",") if f.strip()) or metrics.METRIC_FIELDS
    wrong = [f for f in fields if f not in metrics.METRIC_FIELDS]
    if wrong:
        raise bad("fields", f"unknown fields {', '.join(wrong)}; one or more of {', '.join(metrics.METRIC_FIELDS)}")
    sortable = list(groups) + list(fields) + (["title", "duration"] if "video_id" in groups else [])
    pg, per = page(request)
    return TableRequest(groups, group_time(request), parse_order(q.get("order"), sortable), pg, per, fields)
