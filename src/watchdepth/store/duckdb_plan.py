"""SQL for an ``Aggregate`` on DuckDB: picks the smallest table that can answer it.

Input: a logical ``Aggregate``. Output: a ``Plan`` (SQL, its parameters, the output
columns). Sources, smallest first: ``agg_hour`` (no fact dimensions, hour-aligned
period), ``agg_day`` (one breakdown dimension, UTC days), else ``facts``.
It does not run anything (``store.duckdb`` does) nor derive metrics.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from watchdepth.store.base import ROLLUP_DIMENSIONS, SUMS, Aggregate

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
FACT_DIMS = frozenset({"country", "platform", "os", "browser", "domain", "page", "external_id"})
CATALOG_DIMS = {"project_id": "c.project_id", "folder_id": "c.folder_id"}
INTERVALS = {"hour": "1 hour", "day": "1 day", "week": "7 days", "month": "1 month"}


class Plan(NamedTuple):
    sql: str
    count_sql: str
    params: dict[str, Any]
    columns: list[str]


class Source(NamedTuple):
    table: str
    tcol: str
    dim: str | None  # agg_day: the one dimension its ``value`` column holds


def plan_aggregate(q: Aggregate) -> Plan:
    src = choose_source(q)
    params: dict[str, Any] = {"start": q.start_ms * 1000, "end": q.end_ms * 1000}
    inner_cols, outer_cols, group_names = _columns(q, src)
    if q.bucket is not None and src.table != "agg_day":
        params["tz"] = q.timezone
    where = [f"{src.tcol} >= make_timestamptz($start)", f"{src.tcol} < make_timestamptz($end)"]
    if src.dim is not None:
        where.append(f"dim = '{src.dim}'")
    where += _filters(q, src, params)
    inner = (
        f"SELECT {', '.join(inner_cols)}, sum(player_loads) AS pl, sum(unique_views) AS uv, "
        f"sum(views) AS v, sum(watch_time) AS wt FROM {src.table} WHERE {' AND '.join(where)} GROUP BY ALL"
    )
    group_by = ", ".join(str(i + 1) for i in range(len(outer_cols)))
    select = ", ".join(outer_cols + _SUM_EXPRS)
    body = f"WITH g AS ({inner}) SELECT {select}{{window}} FROM g LEFT JOIN content c ON c.id = g.content_id"
    if group_by:
        body += f" GROUP BY {group_by}"
    sql = body.format(window=", count(*) OVER () AS total") + _order(q, group_names) + _page(q)
    count_sql = f"SELECT count(*) FROM ({body.format(window='')})"
    return Plan(sql, count_sql, params, group_names + list(SUMS))


_SUM_EXPRS = [
    "coalesce(sum(g.pl), 0)::BIGINT AS player_loads",
    "coalesce(sum(g.uv), 0)::BIGINT AS unique_views",
    "coalesce(sum(g.v), 0)::BIGINT AS views",
    "coalesce(sum(g.wt), 0)::DOUBLE AS watch_time",
    "coalesce(sum(g.v * coalesce(c.duration, 0)), 0)::DOUBLE AS view_duration",
]


def _columns(q: Aggregate, src: Source) -> tuple[list[str], list[str], list[str]]:
    """Inner select columns, outer group columns, and their output names."""
    inner = ["content_id"]
    outer: list[str] = []
    names: list[str] = []
    if q.bucket is not None:
        tz = "'UTC'" if src.table == "agg_day" else "$tz"
        inner.append(f"time_bucket(INTERVAL '{INTERVALS[q.bucket]}', {src.tcol}, {tz}) AS bucket")
        outer.append("epoch_ms(g.bucket) AS bucket")
        names.append("bucket")
    for d in q.dims:
        if d == "content_id":
            outer.append("g.content_id AS content_id")
        elif d in CATALOG_DIMS:
            outer.append(f"{CATALOG_DIMS[d]} AS {d}")
        else:
            inner.append(f"value AS {d}" if src.dim == d else d)
            outer.append(f"g.{d} AS {d}")
        names.append(d)
    return inner, outer, names


def _filters(q: Aggregate, src: Source, params: dict[str, Any]) -> list[str]:
    out = []
    for i, (name, values) in enumerate(sorted(q.filters.items())):
        params[f"f{i}"] = list(values)
        if name == "content_id":
            col = "content_id"
        elif name in CATALOG_DIMS:
            col = f"content_id IN (SELECT id FROM content WHERE {name} IN (SELECT unnest($f{i}::VARCHAR[])))"
            out.append(col)
            continue
        else:
            col = "value" if src.dim == name else name
        out.append(f"{col} IN (SELECT unnest($f{i}::VARCHAR[]))")
    return out


def _order(q: Aggregate, group_names: list[str]) -> str:
    terms = [f"{field} {'DESC' if desc else 'ASC'} NULLS LAST" for field, desc in q.order]
    terms += [f"{g} ASC NULLS LAST" for g in group_names]
    return f" ORDER BY {', '.join(terms)}" if terms else ""


def _page(q: Aggregate) -> str:
    if q.limit is None:
        return f" OFFSET {int(q.offset)}" if q.offset else ""
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
