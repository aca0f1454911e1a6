"""Query-string parsing for analytics: period, scope, pagination, group_by, fields.

Input: a request's query parameters and its token. Output: typed values for
``query.analytics`` (``Scope``, ``TableRequest``); bad values raise 400400 naming the
parameter, and every number is bounded here (page, per_page, buckets per answer; dates
in ``query.periods``). One parser reads both forms of ``/v1/analytics`` (docs/api.md: the
plural ``group_by``/``views`` and Kinescope's custom ``group``/singular ``fields``).
It does not run queries.
"""

from __future__ import annotations

import re
import time

from starlette.requests import Request

from watchdepth.catalog.tokens import Token, require_project

__all__ = ["bad", "group_time", "page", "paged", "period", "require_project", "scope", "table_request"]
from watchdepth.catalog.service import Catalog
from watchdepth.errors import InvalidParam, NotFound, ValidationFailed
from watchdepth.query import metrics
from watchdepth.query.analytics import (
    CUSTOM_DEFAULT_FIELDS,
    GROUP_NO_OPS,
    GROUPS,
    LATER_FIELDS,
    MAX_PER_PAGE,
    SINGULAR,
    Scope,
    TableRequest,
    available_metrics,
    metric_of,
    parse_order,
)
from watchdepth.query.periods import (
    GROUP_TIMES,
    MAX_BUCKETS,
    Period,
    bucket_count,
    parse_period,
    zone,
)
from watchdepth.store.base import Store


def bad(name: str, message: str, reason: str = "invalid") -> ValidationFailed:
    return ValidationFailed("parameters did not validate", invalid_params=[InvalidParam(name, reason, message)])


def period(request: Request, default_tz: str, store: Store | None = None) -> Period:
    """The request's period; ``all_time`` starts at the store's first data."""
    q = request.query_params
    first_ms = store.first_event_ms() if store is not None and q.get("period") == "all_time" else None
    tz = zone(q.get("timezone"), default_tz)
    return parse_period(
        from_=q.get("from"),
        to=q.get("to"),
        period=q.get("period"),
        tz=tz,
        now_ms=int(time.time() * 1000),
        first_ms=first_ms,
    )


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


def group_time(request: Request, p: Period | None = None, default: str = "day") -> str:
    """``group_time`` (or Kinescope's ``group``); with a period, at most MAX_BUCKETS buckets."""
    q = request.query_params
    name = "group_time" if "group_time" in q or "group" not in q else "group"
    value = q.get(name) or default
    if value not in GROUP_TIMES:
        raise bad(name, f"{name} must be one of {', '.join(GROUP_TIMES)}")
    if "group" in q and "group_time" in q and q["group"] != q["group_time"]:
        raise bad("group", "group and group_time name different sizes; give one")
    if p is not None:
        check_buckets(p, value, name)
    return value


def check_buckets(p: Period, size: str, name: str = "group_time") -> None:
    if bucket_count(p, size) > MAX_BUCKETS:
        raise bad(
            name,
            f"at most {MAX_BUCKETS} {size} buckets per answer; choose a larger {name} or a shorter period",
            "too_many",
        )


_WHOLE = re.compile(r"^[0-9]{1,9}$")
#: The last page a request may ask for (page × per_page stays far inside a 64-bit offset).
MAX_PAGE = 1_000_000


def page(request: Request, default_per_page: int | None = 10) -> tuple[int, int | None]:
    """``page`` (1 .. MAX_PAGE) and ``per_page`` (1 .. MAX_PER_PAGE; None when absent and no default)."""
    q = request.query_params
    pg = _whole(q.get("page"), "page", 1) or 0
    if not 1 <= pg <= MAX_PAGE:
        raise bad("page", f"page must be between 1 and {MAX_PAGE}")
    per = _whole(q.get("per_page"), "per_page", default_per_page)
    if per is not None and not 1 <= per <= MAX_PER_PAGE:
        raise bad("per_page", f"per_page must be between 1 and {MAX_PER_PAGE}")
    return pg, per


def paged(request: Request) -> tuple[int, int]:
    """``page`` and ``per_page`` with the default of 10 rows."""
    pg, per = page(request)
    assert per is not None
    return pg, per


def _whole(text: str | None, name: str, default: int | None) -> int | None:
    if text is None:
        return default
    if not _WHOLE.match(text.strip()):
        raise bad(name, f"{name} must be a whole number" + (" of at most 9 digits" if text.strip().isdigit() else ""))
    return int(text)


def table_request(request: Request, p: Period) -> TableRequest:
    """Either form of ``/v1/analytics`` (docs/api.md: plural ``group_by``/``views`` or Kinescope's custom
    ``group``/``group_entities``/singular ``fields``, or a mix) as one ``TableRequest``."""
    q = request.query_params
    custom = "group" in q or "group_entities" in q or any(f in SINGULAR for f in listed(request, "fields"))
    groups = _groups(request)
    if not groups and not custom:
        raise bad("group_by", f"group_by is required: one or more of {', '.join(GROUPS)}", "required")
    size = group_time(request, p if "date" in groups else None)
    fields = _fields(request, custom)
    sortable = list(groups) + list(fields) + (["title", "duration"] if "video_id" in groups else [])
    order = parse_order(q.get("order"), sortable)
    if not order and "date" in groups:
        order = (("date", False),)
    pg, per = page(request, None if custom else 10)
    return TableRequest(groups, size, order, pg, per if per is not None else MAX_PER_PAGE, fields)


def _groups(request: Request) -> tuple[str, ...]:
    """The groups as the request named them; ``group`` adds ``date``; Kinescope's
    ``group_entities=watch_time`` (a metric, not an entity) is a no-op."""
    q = request.query_params
    name = "group_by" if "group_by" in q else "group_entities"
    raw = [g for g in listed(request, "group_by") + listed(request, "group_entities") if g not in GROUP_NO_OPS]
    unknown = sorted({g for g in raw if g not in GROUPS})
    if unknown:
        raise bad(name, f"{name} takes values among {', '.join(GROUPS)}; unknown: {', '.join(unknown)[:200]}")
    if len(raw) > len(GROUPS):
        raise bad(name, f"{name} names at most {len(GROUPS)} groups")
    groups = list(dict.fromkeys(raw))
    if "group" in q and "date" not in groups:
        groups.append("date")
    return tuple(groups)


def _fields(request: Request, custom: bool) -> tuple[str, ...]:
    """Metric names as asked (plural or singular); a dimension named among them is a no-op."""
    asked = [f for f in dict.fromkeys(listed(request, "fields")) if f not in GROUPS]
    unknown = sorted(f for f in asked if metric_of(f) is None and f not in LATER_FIELDS)
    if unknown:
        known = ", ".join([*metrics.METRIC_FIELDS, *metrics.QUALITY_FIELDS, *SINGULAR])
        raise bad("fields", f"unknown fields {', '.join(unknown)[:200]}; metrics are {known}")
    missing = [f for f in asked if f in LATER_FIELDS or metric_of(f) not in available_metrics()]
    if missing:
        raise bad("fields", f"{', '.join(missing)} not available yet on this server", "not_available")
    if asked:
        return tuple(asked)
    return CUSTOM_DEFAULT_FIELDS if custom else metrics.METRIC_FIELDS
