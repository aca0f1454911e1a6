"""SQL for an ``Aggregate`` on ClickHouse: picks the smallest table that can answer it.

Input: a logical ``Aggregate``. Output: a ``Plan`` (SQL with ``{name:Type}`` server-side
parameters, the parameters, the output columns). Sources, smallest first: ``agg_hour``
(no fact dimensions, hour-aligned period and zone), ``agg_day`` (one breakdown dimension,
UTC days), else ``facts``: the same choice as the DuckDB backend, so both give the same
numbers. Time buckets are computed in the query's time zone; the result carries
``count() OVER ()`` so the total number of groups costs no second query.
It does not run anything (``store.clickhouse`` does) nor derive metrics.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from watchdepth.store.base import ROLLUP_DIMENSIONS, SUMS, Aggregate

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
FACT_DIMS = frozenset({"country", "platform", "os", "browser", "domain", "page", "external_id"})
CATALOG_DIMS = ("project_id", "folder_id")
#: The live catalog rows (ReplacingMergeTree with a deleted flag: FINAL drops replaced and deleted rows).
CONTENT = "(SELECT id, project_id, folder_id, duration FROM content FINAL)"
#: Bucket start (ms) of a DateTime expression in the zone ``{tz:String}``.
BUCKETS = {
    "hour": "toUnixTimestamp(toStartOfHour({x}, {{tz:String}})) * 1000",
    "day": "toUnixTimestamp(toStartOfDay({x}, {{tz:String}})) * 1000",
    "week": "toUnixTimestamp(toDateTime(toMonday({x}, {{tz:String}}), {{tz:String}})) * 1000",
    "month": "toUnixTimestamp(toDateTime(toStartOfMonth({x}, {{tz:String}}), {{tz:String}})) * 1000",
}


class Plan(NamedTuple):
    sql: str
    count_sql: str
    params: dict[str, Any]
    columns: list[str]


class Source(NamedTuple):
    table: str
    tcol: str  # a DateTime (rollups) or DateTime64 (facts) column
    dim: str | None  # agg_day: the one dimension its ``value`` column holds


def plan_aggregate(q: Aggregate) -> Plan:
    src = choose_source(q)
    params: dict[str, Any] = {"start": q.start_ms, "end": q.end_ms, "tz": q.timezone}
    if src.table == "facts":
        where = ["t >= fromUnixTimestamp64Milli({start:Int64}, 'UTC')", "t < fromUnixTimestamp64Milli({end:Int64}, 'UTC')"]
    else:  # rollups hold whole UTC hours/days and the period is aligned to them
        where = [f"{src.tcol} >= toDateTime(intDiv({{start:Int64}}, 1000), 'UTC')",
                 f"{src.tcol} < toDateTime(intDiv({{end:Int64}}, 1000), 'UTC')"]
    if src.dim is not None:
        params["dim"] = src.dim
        where.append("dim = {dim:String}")
    where += _filters(q, src, params)
    inner_cols, outer_cols, names = _columns(q, src)
    inner = (
        f"SELECT {', '.join(inner_cols)}, sum(player_loads) AS pl, sum(unique_views) AS uv, sum(views) AS v, "
        f"sum(watch_time) AS wt FROM {src.table} WHERE {' AND '.join(where)} "
        f"GROUP BY {', '.join(str(i + 1) for i in range(len(inner_cols)))}"
    )
    body = f"SELECT {', '.join(outer_cols + _SUM_EXPRS)}{{window}} FROM ({inner}) AS g LEFT JOIN {CONTENT} AS c ON c.id = g.content_id"
    if outer_cols:
        body += f" GROUP BY {', '.join(str(i + 1) for i in range(len(outer_cols)))}"
    settings = " SETTINGS join_use_nulls = 1"
    sql = body.replace("{window}", ", count() OVER () AS total") + _order(q, names) + _page(q) + settings
    count_sql = f"SELECT count() FROM ({body.replace('{window}', '')}){settings}"
    return Plan(sql, count_sql, params, names + list(SUMS))


_SUM_EXPRS = [
    "toInt64(sum(g.pl)) AS player_loads",
    "toInt64(sum(g.uv)) AS unique_views",
    "toInt64(sum(g.v)) AS views",
    "toFloat64(sum(g.wt)) AS watch_time",
    "toFloat64(sum(g.v * ifNull(c.duration, 0))) AS view_duration",
]


def _columns(q: Aggregate, src: Source) -> tuple[list[str], list[str], list[str]]:
    """Inner select columns, outer group columns, and their output names."""
    inner = ["content_id"]
    outer: list[str] = []
    names: list[str] = []
    if q.bucket is not None:
        x = "toDateTime(t, 'UTC')" if src.table == "facts" else src.tcol
        inner.append(BUCKETS[q.bucket].format(x=x) + " AS bucket")
        outer.append("g.bucket AS bucket")
        names.append("bucket")
    for d in q.dims:
        if d == "content_id":
            outer.append("g.content_id AS content_id")
        elif d in CATALOG_DIMS:
            outer.append(f"c.{d} AS {d}")
        else:
            inner.append(f"value AS {d}" if src.dim == d else d)
            outer.append(f"g.{d} AS {d}")
        names.append(d)
    return inner, outer, names


def _filters(q: Aggregate, src: Source, params: dict[str, Any]) -> list[str]:
    out = []
    for i, (name, values) in enumerate(sorted(q.filters.items())):
        params[f"f{i}"] = list(values)
        ref = f"{{f{i}:Array(String)}}"
        if name == "content_id":
            out.append(f"content_id IN {ref}")
        elif name in CATALOG_DIMS:
            out.append(f"content_id IN (SELECT id FROM {CONTENT} WHERE {name} IN {ref})")
        else:
            col = "value" if src.dim == name else name
            out.append(f"{col} IN {ref}")
    return out


def _order(q: Aggregate, names: list[str]) -> str:
    terms = [f"{field} {'DESC' if desc else 'ASC'} NULLS LAST" for field, desc in q.order]
    terms += [f"{g} ASC NULLS LAST" for g in names]
    return f" ORDER BY {', '.join(terms)}" if terms else ""


def _page(q: Aggregate) -> str:
    if q.limit is None:
        return f" LIMIT {int(q.offset)}, 18446744073709551615" if q.offset else ""
    return f" LIMIT {int(q.limit)} OFFSET {int(q.offset)}"


def choose_source(q: Aggregate) -> Source:
    used = (set(q.dims) | set(q.filters)) & FACT_DIMS
    if not used and _fits(q, HOUR_MS):
        return Source("agg_hour", "hour", None)
    if len(used) == 1 and next(iter(used)) in ROLLUP_DIMENSIONS and _fits(q, DAY_MS, utc_only=True):
        return Source("agg_day", "day", next(iter(used)))
    return Source("facts", "t", None)


def _fits(q: Aggregate, unit_ms: int, utc_only: bool = False) -> bool:
    """Can buckets of ``unit_ms`` (UTC-aligned) answer this period and bucketing exactly?"""
    if q.start_ms % unit_ms or q.end_ms % unit_ms:
        return False
    if q.bucket is None:
        return True
    if unit_ms == DAY_MS and q.bucket == "hour":
        return False
    offsets = _offsets(q.timezone, q.start_ms, q.end_ms)
    if utc_only:
        return offsets == {0}
    return all(o % HOUR_MS == 0 for o in offsets)


def _offsets(tz: str, start_ms: int, end_ms: int) -> set[int]:
    """UTC offsets (ms) the zone uses over the period, sampled every 6 hours."""
    zone = ZoneInfo(tz)
    step = 6 * HOUR_MS
    span = range(start_ms, end_ms + step, step) if end_ms - start_ms < 400 * DAY_MS else (start_ms, end_ms)
    found = set()
    for ms in span:
        at = datetime.fromtimestamp(min(ms, end_ms) / 1000, tz=timezone.utc).astimezone(zone)
        off = at.utcoffset() or timedelta(0)
        found.add(int(off.total_seconds() * 1000))
    return found
