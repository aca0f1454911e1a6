"""SQL for an ``Aggregate`` on ClickHouse: picks the smallest table that can answer it.

Input: a logical ``Aggregate``. Output: a ``Plan`` (SQL with ``{name:Type}`` server-side
parameters, the parameters, the output columns). Sources, smallest first: ``agg_hour``
(no fact dimensions, hour-aligned period and zone), ``agg_day`` (one breakdown dimension,
UTC days), else ``facts``: the same choice as the DuckDB backend, so both give the same
numbers. Time buckets are computed in the query's time zone; the result carries
``count() OVER ()`` so the total number of groups costs no second query.
Cohort watch time (docs/metrics.md §5) is keyed by the pair's impression time: the rollups keep it
by ``imp_t``'s unit, and facts are read as ``credited`` (each row at ``t``, and again at
``imp_t`` with its cohort watch time alone), as on DuckDB.
It does not run anything (``store.clickhouse`` does) nor derive metrics.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from watchdepth.schema import FACT_DIMENSIONS
from watchdepth.store.base import QUALITY_SUMS, ROLLUP_DIMENSIONS, SUMS, Aggregate

#: Sums of facts and rollups (``store.rows``): the cohort's watch time and the event counts too.
STORED = (
    "player_loads",
    "unique_views",
    "views",
    "watch_time",
    "cohort_wt",
    "play",
    "pause",
    "seek",
    "replay",
    "player_init",
    *QUALITY_SUMS,
)
#: Sums credited at ``imp_t`` (the cohort's time: a pair's impression, a load's first play), not ``t``.
AT_IMP = ("cohort_wt", "exits")
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
FACT_DIMS = frozenset(FACT_DIMENSIONS)
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
        where: list[str] = []
        dims = tuple(d for d in FACT_DIMENSIONS if d in set(q.dims) | set(q.filters))
        table = startups_only(dims) if q.sums == ("startups",) and "startup_bin" in q.dims else credited(dims)
    else:  # rollups hold whole UTC hours/days and the period is aligned to them
        where = [
            f"{src.tcol} >= toDateTime(intDiv({{start:Int64}}, 1000), 'UTC')",
            f"{src.tcol} < toDateTime(intDiv({{end:Int64}}, 1000), 'UTC')",
        ]
        table = src.table
    if src.dim is not None:
        params["dim"] = src.dim
        where.append("dim = {dim:String}")
    where += _filters(q, src, params)
    inner_cols, outer_cols, names = _columns(q, src)
    sums = ", ".join(f"sum({c}) AS s_{c}" for c in STORED)
    inner = (
        f"SELECT {', '.join(inner_cols)}, {sums} FROM {table} WHERE {' AND '.join(where) or '1'} "
        f"GROUP BY {', '.join(str(i + 1) for i in range(len(inner_cols)))}"
    )
    body = f"SELECT {', '.join(outer_cols + _SUM_EXPRS)}{{window}} FROM ({inner}) AS g LEFT JOIN {CONTENT} AS c ON c.id = g.content_id"
    if outer_cols:
        body += f" GROUP BY {', '.join(str(i + 1) for i in range(len(outer_cols)))}"
    settings = " SETTINGS join_use_nulls = 1"
    sql = body.replace("{window}", ", count() OVER () AS total") + _order(q, names) + _page(q) + settings
    count_sql = f"SELECT count() FROM ({body.replace('{window}', '')}){settings}"
    return Plan(sql, count_sql, params, names + list(SUMS))


def credited(dims: tuple[str, ...]) -> str:
    """Facts of the period ``[{start}, {end})`` as credits: each row at ``t`` with its sums, and
    the rows whose pair's impression ``imp_t`` falls in the period at ``imp_t``, with their
    ``cohort_wt`` and ``exits`` alone (found through the minmax index on ``imp_t``)."""
    keep = ", ".join(("content_id", *dims))
    at_t = ", ".join(zero_sql(c) if c in AT_IMP else c for c in STORED)
    at_imp = ", ".join(c if c in AT_IMP else f"0 AS {c}" for c in STORED)
    start, end = "fromUnixTimestamp64Milli({start:Int64}, 'UTC')", "fromUnixTimestamp64Milli({end:Int64}, 'UTC')"
    return (
        f"(SELECT t, {keep}, {at_t} FROM facts WHERE t >= {start} AND t < {end} UNION ALL "
        f"SELECT assumeNotNull(imp_t) AS t, {keep}, {at_imp} FROM facts "
        f"WHERE imp_t >= {start} AND imp_t < {end} AND (cohort_wt != 0 OR exits != 0))"
    )


def startups_only(dims: tuple[str, ...]) -> str:
    """The startup histogram's facts (``Aggregate.sums`` is startups alone, by startup_bin): the
    period's startup rows at ``t`` with ``startups`` and every other sum 0, as on DuckDB; no
    second read by ``imp_t`` (startups are credited at ``t``)."""
    keep = ", ".join(("content_id", *dims))
    cols = ", ".join(c if c == "startups" else zero_sql(c) for c in STORED)
    start, end = "fromUnixTimestamp64Milli({start:Int64}, 'UTC')", "fromUnixTimestamp64Milli({end:Int64}, 'UTC')"
    return f"(SELECT t, {keep}, {cols} FROM facts WHERE t >= {start} AND t < {end} AND startups != 0)"


def zero_sql(c: str) -> str:
    """A zero of the column's type (Float64 for cohort_wt)."""
    return "toFloat64(0) AS cohort_wt" if c == "cohort_wt" else f"0 AS {c}"


_DURATION = "ifNull(c.duration, 0)"
#: ``SUMS`` from the per-content sums ``g.s_…`` and the catalog's duration ``c.duration``.
_SUM_EXPRS = [
    "toInt64(sum(g.s_player_loads)) AS player_loads",
    "toInt64(sum(g.s_unique_views)) AS unique_views",
    "toInt64(sum(g.s_views)) AS views",
    "toFloat64(sum(g.s_watch_time)) AS watch_time",
    f"toFloat64(sum(g.s_views * {_DURATION})) AS view_duration",
    "toFloat64(sum(g.s_cohort_wt)) AS cohort_watch_time",
    f"toFloat64(sum(if({_DURATION} > 0, g.s_cohort_wt, 0))) AS depth_watch_time",
    f"toFloat64(sum(if({_DURATION} > 0, g.s_unique_views * {_DURATION}, 0))) AS depth_duration",
    *(f"toInt64(sum(g.s_{c})) AS {c}" for c in ("play", "pause", "seek", "replay", "player_init")),
    *(f"toInt64(sum(g.s_{c})) AS {c}" for c in QUALITY_SUMS),
]
if [e.rsplit(" AS ", 1)[1] for e in _SUM_EXPRS] != list(SUMS):
    raise RuntimeError("_SUM_EXPRS and SUMS disagree")


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
        at = datetime.fromtimestamp(min(ms, end_ms) / 1000, tz=UTC).astimezone(zone)
        off = at.utcoffset() or timedelta(0)
        found.add(int(off.total_seconds() * 1000))
    return found
