"""Analytics answers: overview, grouped tables, referrers, retention, concurrency.

Input: a ``Scope`` (period, content filters) and the request's shape (group_by, order,
page). Output: plain dicts in the shapes of docs/api.md, every derived figure from
``query.metrics``. It asks the store for sums only; it does not parse HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from watchdepth.catalog.service import Catalog
from watchdepth.errors import BadOrder, InvalidParam, ValidationFailed
from watchdepth.query import metrics
from watchdepth.query.periods import Period, buckets, iso
from watchdepth.store.base import SUMS, Aggregate, AggregateResult, Store

#: API group name -> store dimension ("date" is the time bucket; None: no stored dimension).
#: The plural form's names, then Kinescope's custom form's (docs/api.md).
GROUPS: dict[str, str | None] = {
    "video_id": "content_id",
    "project_id": "project_id",
    "folder_id": "folder_id",
    "country": "country",
    "platform": "platform",
    "os": "os",
    "browser": "browser",
    "domain": "domain",
    "page": "page",
    "external_id": "external_id",
    "date": "bucket",
    "country_code": "country",
    "device": "platform",
    "folder_name": "folder_id",
    "project_name": "project_id",
    "city": "city",  # null unless the GeoIP file has cities (docs/kinescope-compat.md)
    "workspace_id": None,  # one workspace per server: a constant
}
#: Groups whose value is computed from another's, many to one: rows are merged here.
MERGED_GROUPS = {"folder_name", "project_name"}
#: Kinescope lists ``watch_time`` among ``group_entities``; it is a metric, so grouping by it is a no-op.
GROUP_NO_OPS = frozenset({"watch_time"})
#: The one workspace a server holds, as ``workspace_id`` rows name it.
WORKSPACE_ID = "default"
#: docs/metrics.md §6 platform class -> Kinescope's device name.
DEVICE_NAMES = {"smartphone": "mobile"}
#: The devices overview's ``top.devices`` always lists, zeros included.
DEVICES = ("desktop", "mobile", "tablet", "tv")
TOP_DIMENSIONS = {"countries": "country", "devices": "platform", "oses": "os", "browsers": "browser"}
#: A timeline bucket's metric fields (and ``duration``); avg_watch_time and watch_depth of the
#: bucket's cohort (docs/metrics.md §5).
_TIMELINE = ("views", "unique_views", "player_loads", "watch_time", "view_rate", "avg_watch_time", "watch_depth")
#: Kinescope's singular metric names -> the metric they name.
SINGULAR = {
    "view": "views",
    "unique_view": "unique_views",
    "player_load": "player_loads",
    "watch_time": "watch_time",
    "play": "play",
    "pause": "pause",
    "seek": "seek",
    "replay": "replay",
    "player_init": "player_init",
}
#: The event counts (docs/metrics.md §4): stored sums once the store keeps them (``SUMS``).
EVENT_COUNTS = ("play", "pause", "seek", "replay", "player_init")
#: Known to the parser, not answered yet (400400 naming them): none since the quality fields (issue 16).
LATER_FIELDS: tuple[str, ...] = ()
#: Fields of a custom-form request that names no metric.
CUSTOM_DEFAULT_FIELDS = ("view", "unique_view", "player_load", "watch_time")
#: Rows per answer at most (``per_page``; the custom form's "all rows").
MAX_PER_PAGE = 1000
#: Groups read into memory at most, when the store cannot sort and page them itself.
MAX_SORTED_GROUPS = 100_000


def metric_of(name: str) -> str | None:
    """The metric a field name means (plural or singular), or None if it names none."""
    if name in metrics.METRIC_FIELDS or name in metrics.QUALITY_FIELDS:
        return name
    return SINGULAR.get(name)


def available_metrics() -> set[str]:
    """Metrics this server can answer: the derived fields and the event counts the store sums."""
    return set(metrics.METRIC_FIELDS) | set(metrics.QUALITY_FIELDS) | {c for c in EVENT_COUNTS if c in SUMS}


@dataclass(frozen=True)
class Scope:
    """What the numbers cover: a period and filters (store dimension -> allowed values)."""

    period: Period
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def aggregate(self, **kw: Any) -> Aggregate:
        return Aggregate(
            start_ms=self.period.start_ms,
            end_ms=self.period.end_ms,
            timezone=self.period.timezone,
            filters=self.filters,
            **kw,
        )


@dataclass(frozen=True)
class TableRequest:
    """A grouped table; ``group_by``, ``fields`` and ``order`` keep the names the request used."""

    group_by: tuple[str, ...]
    group_time: str = "day"
    order: tuple[tuple[str, bool], ...] = ()
    page: int = 1
    per_page: int = 10
    fields: tuple[str, ...] = metrics.METRIC_FIELDS


#: The parts of an overview answer (API ext ``parts``); all by default.
OVERVIEW_PARTS = ("total", "timeline", "top")
#: Overview's store queries run side by side here (each thread reads through its own cursor /
#: client); kept across calls so the stores' per-thread cursors are reused.
_POOL = ThreadPoolExecutor(max_workers=6, thread_name_prefix="wd-overview")
_NONE: Future[Any] = Future()
_NONE.set_result(None)


def overview(
    store: Store, scope: Scope, group_time: str, online: int, parts: Sequence[str] = OVERVIEW_PARTS
) -> dict[str, Any]:
    """Totals, timeline and top-10 lists (only the ``parts`` asked), their store queries concurrent."""
    jobs: dict[str, Future[Any]] = {}
    if "total" in parts and "timeline" not in parts:  # else: the sum of the timeline's buckets
        jobs["total"] = _POOL.submit(store.aggregate, scope.aggregate())
    if "timeline" in parts:
        jobs["timeline"] = _POOL.submit(store.aggregate, scope.aggregate(bucket=group_time))
    # startup counts per bin, for the startup time percentiles (docs/metrics.md §7): the total's are
    # the sum of the timeline's when both are asked (the buckets cover the period)
    if "timeline" in parts:
        jobs["timeline_bins"] = _POOL.submit(
            store.aggregate, scope.aggregate(dims=(BIN,), bucket=group_time, sums=STARTUPS)
        )
    elif "total" in parts:
        jobs["total_bins"] = _POOL.submit(store.aggregate, scope.aggregate(dims=(BIN,), sums=STARTUPS))
    dims = tuple(TOP_DIMENSIONS.values())
    together = getattr(store, "top_lists", None)  # DuckDB: the four lists in one scan
    if "top" in parts:
        if together is not None:  # the lists show views and player loads alone
            jobs["top"] = _POOL.submit(together, scope.aggregate(sums=TOP_SUMS), dims, 10)
        for dim in dims:
            jobs[dim] = _POOL.submit(_top_rows, store, scope, dim) if together is None else _NONE
    got = {k: f.result() for k, f in jobs.items()}
    out: dict[str, Any] = {}
    bins = _bins(got["timeline_bins"], 1) if "timeline" in parts else {}
    if "total" in parts:
        if "timeline" in parts:
            total = _added(_sums(r, 1) for r in got["timeline"].rows)
        else:
            rows = got["total"].rows
            total = _sums(rows[0] if rows else None, 0)
        m = metrics.derive(
            total, _merged(bins.values()) if "timeline" in parts else _bins(got["total_bins"], 0).get((), {})
        )
        out["total"] = {
            **{k: m[k] for k in metrics.METRIC_FIELDS},
            "duration": metrics.duration_total(total),
            "online": online,
            **{k: m[k] for k in metrics.QUALITY_FIELDS},
        }
    if "timeline" in parts:
        by_bucket = {r[0]: _sums(r, 1) for r in got["timeline"].rows}
        series = []
        for b in buckets(scope.period, group_time):
            sums = by_bucket.get(b, _ZERO)
            m = metrics.derive(sums, bins.get((b,), {}))
            series.append(
                {
                    "date": iso(b),
                    **{k: m[k] for k in _TIMELINE},
                    "duration": metrics.duration_total(sums),
                    **{k: m[k] for k in metrics.QUALITY_FIELDS},
                }
            )
        out["timeline"] = series
    if "top" in parts:
        rows = got.get("top")  # None: the store could not answer them together
        if rows is None:
            rows = {dim: got[dim] if got[dim] is not None else _top_rows(store, scope, dim) for dim in dims}
        out["top"] = {name: _top(dim, rows[dim]) for name, dim in TOP_DIMENSIONS.items()}
        out["top"]["devices"] = _devices(out["top"]["devices"])
    return out


#: The store dimension holding a startup's 10 ms bin (``sessionize.startup_bin``).
BIN = "startup_bin"
#: The one sum the histogram reads (``Aggregate.sums``): stores may leave the rest out.
STARTUPS = ("startups",)


def _bins(got: AggregateResult, keys: int) -> dict[tuple[Any, ...], dict[int, int]]:
    """Rows of (``keys`` group columns, startup_bin, SUMS…) -> group key -> {bin ms: startups}."""
    at = got.columns.index("startups")
    out: dict[tuple[Any, ...], dict[int, int]] = {}
    for r in got.rows:
        n, b = r[at], r[keys]
        if n and b is not None:
            h = out.get(key := r[:keys])
            if h is None:
                h = out[key] = {}
            b = int(b)
            h[b] = h.get(b, 0) + int(n)
    return out


def _added(groups: Iterable[dict[str, float]]) -> dict[str, float]:
    """The sums of several groups, added (a period's from its buckets': all of SUMS are additive)."""
    out: dict[str, float] = dict(_ZERO)
    for g in groups:
        for k in SUMS:
            out[k] += g[k]
    return out


def _merged(histograms: Iterable[dict[int, int]]) -> dict[int, int]:
    """Startup counts per bin of several groups, added."""
    out: dict[int, int] = {}
    for h in histograms:
        for b, n in h.items():
            out[b] = out.get(b, 0) + n
    return out


#: The sums the top lists show (``_top``).
TOP_SUMS = ("views", "player_loads")


def _top_rows(store: Store, scope: Scope, dim: str) -> list[tuple[Any, ...]]:
    return store.aggregate(
        scope.aggregate(dims=(dim,), order=(("views", True), ("player_loads", True)), limit=10, sums=TOP_SUMS)
    ).rows


def _top(dim: str, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        s = _sums(r, 1)
        item: dict[str, Any] = {"name": r[0], "views": int(s["views"]), "player_loads": int(s["player_loads"])}
        if dim == "country":
            item = {"name": country_name(r[0]), "code": r[0], **{k: item[k] for k in ("views", "player_loads")}}
        out.append(item)
    return out


def _devices(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Kinescope's device names, and every one of ``DEVICES`` listed, zeros included."""
    named = [{**i, "name": DEVICE_NAMES.get(i["name"], i["name"])} for i in items]
    seen = {i["name"] for i in named}
    return named + [{"name": d, "views": 0, "player_loads": 0} for d in DEVICES if d not in seen]


def table(store: Store, catalog: Catalog, scope: Scope, req: TableRequest) -> tuple[list[dict[str, Any]], int]:
    """Rows grouped by ``req.group_by``, sorted and paginated, and the number of groups.

    The store sorts and pages when every order key is a stored sum or a stored dimension
    and no group merges rows (``MERGED_GROUPS``); otherwise all groups are read, merged,
    sorted and cut here.
    """
    dims = tuple(dict.fromkeys(d for g in req.group_by if (d := GROUPS[g]) not in (None, "bucket")))
    bucket = req.group_time if "date" in req.group_by else None
    offset = (req.page - 1) * req.per_page
    store_order = _store_order(req)
    bins = None
    if any(metric_of(f) in metrics.STARTUP_FIELDS for f in req.fields):
        keys = len(dims) + (1 if bucket else 0)
        bins = _bins(store.aggregate(scope.aggregate(dims=(*dims, BIN), bucket=bucket, sums=STARTUPS)), keys)
    if store_order is not None:
        q = scope.aggregate(dims=dims, bucket=bucket, order=store_order, limit=req.per_page, offset=offset)
        got = store.aggregate(q)
        return _rows(catalog, req, got.columns, got.rows, bins), got.total
    got = store.aggregate(scope.aggregate(dims=dims, bucket=bucket, limit=MAX_SORTED_GROUPS))
    if got.total > MAX_SORTED_GROUPS:
        name = next((f for f, _ in req.order if _store_key(f) is None), "group_by")
        raise ValidationFailed(
            "parameters did not validate",
            invalid_params=[
                InvalidParam(
                    name,
                    "too_many",
                    f"{got.total} groups: sorting by {name} or grouping by a catalog name reads every group, "
                    f"at most {MAX_SORTED_GROUPS}; sort by a sum or a group, or narrow the period or the filters",
                )
            ],
        )
    rows = _rows(catalog, req, got.columns, got.rows, bins)
    return sort_rows(rows, req.order)[offset : offset + req.per_page], len(rows)


def _store_order(req: TableRequest) -> tuple[tuple[str, bool], ...] | None:
    """The order in store names, or None when the store cannot sort it (see ``table``)."""
    if any(g in MERGED_GROUPS for g in req.group_by):
        return None
    keys = [(_store_key(name), desc) for name, desc in req.order]
    return tuple((k, d) for k, d in keys if k is not None) if all(k is not None for k, _ in keys) else None


def _store_key(name: str) -> str | None:
    """The store's name for an order key, or None when only this module can sort by it."""
    if name in GROUPS:
        return None if name in ("device", "workspace_id") else GROUPS[name]
    metric = metric_of(name)
    if metric is not None and (metric in metrics.SUM_FIELDS or (metric in EVENT_COUNTS and metric in SUMS)):
        return metric
    return None


def _rows(
    catalog: Catalog,
    req: TableRequest,
    columns: list[str],
    rows: Sequence[Sequence[Any]],
    bins: dict[tuple[Any, ...], dict[int, int]] | None = None,
) -> list[dict[str, Any]]:
    """Named rows, one per distinct group value (store rows that name the same group are summed,
    and their startup bins merged). ``bins``: store group key -> startup counts per bin."""
    merged: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, float], dict[int, int]]] = {}
    nkeys = len(columns) - len(SUMS)
    for r in rows:
        values = dict(zip(columns, r))
        groups = _group_values(catalog, req.group_by, values)
        key = tuple(groups[g] for g in req.group_by)
        sums = {k: values[k] for k in SUMS}
        own = (bins or {}).get(tuple(r[:nkeys]), {})
        if key in merged:
            prior, pbins = merged[key][1], merged[key][2]
            sums = {k: prior[k] + sums[k] for k in SUMS}
            own = {b: pbins.get(b, 0) + own.get(b, 0) for b in pbins.keys() | own.keys()}
        merged[key] = (groups, sums, own)
    out = []
    for groups, sums, own in merged.values():
        derived = metrics.derive(sums, own if bins is not None else None)
        out.append({**groups, **{f: _metric(f, derived, sums) for f in req.fields}})
    return out


def _group_values(catalog: Catalog, names: Sequence[str], values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for g in names:
        dim = GROUPS[g]
        v: Any = values.get(dim) if dim is not None else None
        if g == "date":
            v = iso(v)
        elif g == "device":
            v = DEVICE_NAMES.get(v, v)
        elif g == "folder_name":
            v = catalog.folder_path(v)
        elif g == "project_name":
            v = catalog.projects.get(v, {}).get("name") if v is not None else None
        elif g == "workspace_id":
            v = WORKSPACE_ID
        out[g] = v
        if g == "video_id":
            info = catalog.content.get(v)
            out["title"] = info.title if info else None
            out["duration"] = info.duration if info else None
    return out


def _metric(name: str, derived: dict[str, Any], sums: dict[str, float]) -> Any:
    metric = metric_of(name)
    assert metric is not None
    if metric in derived:
        return derived[metric]
    return int(sums[metric])


def sort_rows(rows: list[dict[str, Any]], order: Sequence[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Stable multi-key sort; None sorts last whatever the direction."""
    for name, desc in reversed(order):
        present = [r for r in rows if r.get(name) is not None]
        missing = [r for r in rows if r.get(name) is None]
        rows = sorted(present, key=lambda r: r[name], reverse=desc) + missing
    return rows


def parse_order(text: str | None, allowed: Sequence[str]) -> tuple[tuple[str, bool], ...]:
    """``field.dir[,field.dir…]``; an unknown field is 400216."""
    if not text:
        return ()
    out = []
    for part in text.split(","):
        name, _, direction = part.strip().partition(".")
        direction = direction or "asc"
        if name not in allowed:
            raise BadOrder(
                "order names a field that cannot be sorted",
                invalid_params=[
                    InvalidParam("order", "unsortable", f"cannot sort by {name[:64]!r}; sortable: {', '.join(allowed)}")
                ],
            )
        if direction not in ("asc", "desc"):
            raise ValidationFailed(
                "parameters did not validate",
                invalid_params=[
                    InvalidParam("order", "invalid", f"direction must be asc or desc, got {direction[:64]!r}")
                ],
            )
        out.append((name, direction == "desc"))
    return tuple(out)


def referrers(
    store: Store, scope: Scope, order: tuple[tuple[str, bool], ...], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Rows per domain with their top pages (docs/api.md referrers), and the number of domains.

    When the order is on sums or the domain, the store sorts and pages the domains;
    otherwise (view_rate) at most ``MAX_SORTED_GROUPS`` domains are read and sorted here
    (more is 400400 naming ``order``). Only the domains shown get pages: each lists its
    ``MAX_REFERRER_PAGES`` pages with the most views (then player loads, then url), in the
    request's order, and ``pages_total`` counts all of its pages.
    """
    order_ = order or (("views", True), ("player_loads", True))
    if all(f in metrics.SUM_FIELDS or f == "domain" for f, _ in order_):
        got = store.aggregate(
            scope.aggregate(dims=("domain",), order=order_, limit=per_page, offset=(page - 1) * per_page)
        )
        shown: list[Sequence[Any]] = list(got.rows)
        total = got.total
    else:
        got = store.aggregate(scope.aggregate(dims=("domain",), limit=MAX_SORTED_GROUPS))
        if got.total > MAX_SORTED_GROUPS:
            name = next(f for f, _ in order_ if f not in metrics.SUM_FIELDS and f != "domain")
            raise ValidationFailed(
                "parameters did not validate",
                invalid_params=[
                    InvalidParam(
                        name,
                        "too_many",
                        f"{got.total} referrer domains: sorting by {name} reads every domain, "
                        f"at most {MAX_SORTED_GROUPS}; sort by views, player_loads or domain, or narrow the period or the filters",
                    )
                ],
            )
        start = (page - 1) * per_page
        shown, total = _domain_order(got.rows, order_)[start : start + per_page], got.total
    return _referrer_rows(shown, _top_pages(store, scope, shown), order), total


#: Pages listed under one referrer domain at most (the ones with the most views).
MAX_REFERRER_PAGES = 100
#: (domain, page) groups of the domains shown read in one query at most; past it, one query per domain.
MAX_PAGE_GROUPS = 20_000
#: The order in which a domain's pages are chosen (all stored, so the store sorts them).
_PAGE_CHOICE = (("views", True), ("player_loads", True), ("page", False))


def _domain_order(rows: Sequence[Sequence[Any]], order: tuple[tuple[str, bool], ...]) -> list[Sequence[Any]]:
    """Domain rows sorted by ``order`` (on the derived referrer metrics) as ``_referrer_rows`` sorts them."""
    keyed = [{"row": r, "domain": r[0], **_ref_metrics(_sums(r, 1))} for r in rows]
    return [k["row"] for k in sort_rows(keyed, order)]


def _top_pages(
    store: Store, scope: Scope, shown: Sequence[Sequence[Any]]
) -> dict[Any, tuple[list[Sequence[Any]], int]]:
    """Per domain shown: its first ``MAX_REFERRER_PAGES`` pages in ``_PAGE_CHOICE`` and its number of pages.

    No domain means no page (collect.referrer: both come from one URL), so the NULL domain's
    one page is the domain row itself; NULL never matches a filter anyway.
    """
    out: dict[Any, tuple[list[Sequence[Any]], int]] = {}
    if any(r[0] is None for r in shown):
        nameless = next(r for r in shown if r[0] is None)
        out[None] = ([(None, None, *nameless[1:])], 1)
    allowed = set(scope.filters.get("domain", [r[0] for r in shown]))
    named = tuple(r[0] for r in shown if r[0] is not None and r[0] in allowed)
    if not named:
        return out

    def of(domains: tuple[str, ...], limit: int) -> AggregateResult:
        q = Scope(scope.period, {**scope.filters, "domain": domains})
        return store.aggregate(q.aggregate(dims=("domain", "page"), order=_PAGE_CHOICE, limit=limit))

    together = of(named, MAX_PAGE_GROUPS)
    if together.total <= MAX_PAGE_GROUPS:
        by_domain: dict[Any, list[Sequence[Any]]] = {}
        for r in together.rows:
            by_domain.setdefault(r[0], []).append(r)
        out.update({d: (rows[:MAX_REFERRER_PAGES], len(rows)) for d, rows in by_domain.items()})
        return out
    for d in named:
        alone = of((d,), MAX_REFERRER_PAGES)
        out[d] = (list(alone.rows), alone.total)
    return out


def _referrer_rows(
    domains: Sequence[Sequence[Any]],
    pages: dict[Any, tuple[list[Sequence[Any]], int]],
    order: tuple[tuple[str, bool], ...],
) -> list[dict[str, Any]]:
    rows = []
    for r in domains:
        listed, count = pages.get(r[0], ([], 0))
        # by url first, so that ties in the request's order fall by url
        sub = [{"url": p[1], **_ref_metrics(_sums(p, 2))} for p in sorted(listed, key=lambda p: p[1] or "")]
        rows.append(
            {
                "domain": r[0],
                **_ref_metrics(_sums(r, 1)),
                "pages": sort_rows(sub, order or (("views", True),)),
                "pages_total": count,
            }
        )
    return sort_rows(rows, order or (("views", True), ("player_loads", True)))


def _ref_metrics(s: dict[str, float]) -> dict[str, int]:
    m = metrics.derive(s)
    return {"views": m["views"], "player_loads": m["player_loads"], "view_rate": m["view_rate"]}


def retention(store: Store, catalog: Catalog, video_id: str, period: Period) -> dict[str, Any]:
    """Per whole second k, the share of the period's impressions whose watched set covers [k, k+1)."""
    info = catalog.content.get(video_id)
    duration = info.duration if info and info.duration else 0.0
    sets = store.watched_sets(video_id, period.start_ms, period.end_ms)
    seconds = int(-(-duration // 1))  # ceil
    diff = [0] * (seconds + 1)
    for intervals in sets:
        for a, b in _merge(intervals):
            first = int(-(-a // 1))
            last = int(b // 1) if b < duration else seconds  # the last, partial second ends at duration
            if last > first:
                diff[first] += 1
                diff[min(last, seconds)] -= 1
    points, running, n = [], 0, len(sets)
    for k in range(seconds):
        running += diff[k]
        points.append({"second": k, "viewers": running, "share": round(running / n, 4) if n else 0.0})
    return {"duration": duration, "unique_views": n, "points": points}


def _merge(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


_ZERO = dict.fromkeys(SUMS, 0)


def _sums(row: Sequence[Any] | None, start: int) -> dict[str, float]:
    if row is None:
        return dict(_ZERO)
    return dict(zip(SUMS, row[start : start + len(SUMS)]))


@cache
def _countries() -> dict[str, str]:
    text = resources.files("watchdepth").joinpath("data/countries.tsv").read_text(encoding="utf-8")
    return dict(line.split("\t", 1) for line in text.splitlines() if line and not line.startswith("#"))


def country_name(code: str | None) -> str | None:
    return _countries().get(code, code) if code else None
