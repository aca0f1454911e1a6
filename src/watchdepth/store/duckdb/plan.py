"""SQL for an ``Aggregate`` on DuckDB: the smallest rollup that can answer it, exactly.

Input: a logical ``Aggregate``, the rollup watermark ``wm`` (facts rows ``[0, wm)`` are rolled
up) and whether the workspace rollups match the catalog. Output: a ``Plan`` (SQL, its
parameters, the output columns).

A rollup with unit U (hour or UTC day) answers the whole units inside the period (the core);
the partial units at either end (the edges) and the facts not rolled up yet (the tail,
``rowid >= wm``) are read from ``facts``; the parts are summed together. With a time bucket,
a rollup is used only if every unit falls inside one bucket (the zone's offsets are whole
units over the period). Sources, smallest first: ``ws_hour`` / ``ws_day`` / ``ws_page``
(no content_id, per project, view_duration precomputed), ``agg_cday`` / ``agg_hour`` /
``agg_day`` (per content), else ``facts``. With ``ws_day``, the whole UTC hours of the edges
come from ``ws_hour_dim`` (its per-hour twin for HOUR_DIMS) and only sub-hour rests from facts.
Workspace rows of whole hours or days are bucketed by day / week / month through a map of
UTC noons (and the hours on the far side of a local midnight): the zone's rules run per map key.
``plan_tops`` answers several one-dimension top-N lists in one scan.
The startup histogram (``startups`` alone by ``startup_bin``, ``Aggregate.sums``) reads that one
column: ws_day / agg_day's startup_bin rows for whole UTC days (in a zone off the UTC day too,
the hours of a day in another bucket than its noon moved from ``agg_startup``), ``agg_startup``
for whole UTC hours, facts' startup rows for the rest; no catalog join, no read by ``imp_t``,
and its rows carry ``startups`` alone (``Plan.sums``; ``_plan_startups``).
Cohort watch time (docs/metrics.md §5) is summed by the pair's impression time: rollups keep it by
``imp_t``'s unit, and a facts part reads each row at ``t`` and again at ``imp_t``
(``duckdb_rollup.credited``), so the cohort costs what the edges already cost.
It does not run anything (``store.duckdb`` does) nor derive metrics.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import msgspec

from watchdepth.schema import FACT_DIMENSIONS
from watchdepth.store.base import QUALITY_SUMS, ROLLUP_DIMENSIONS, SUMS, Aggregate
from watchdepth.store.duckdb.rollup import STARTUP_DIMS, SUMS4, credited

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
FACT_DIMS = frozenset(FACT_DIMENSIONS)
CATALOG_DIMS = {"project_id": "c.project_id", "folder_id": "c.folder_id"}
INTERVALS = {"hour": "1 hour", "day": "1 day", "week": "7 days", "month": "1 month"}
#: Each part's columns after its keys: s_<stored sum>, then the three the catalog's duration gives.
_SUMS_SQL = ", ".join(f"sum({c}) AS s_{c}" for c in SUMS4)
_PART = [f"s_{c}" for c in SUMS4] + ["s_vd", "s_dw", "s_dd"]
_RESUM = ", ".join(f"sum({c}) AS {c}" for c in _PART)
#: ws_* columns holding s_vd, s_dw, s_dd.
_WS_SUMS = "sum(view_duration) AS s_vd, sum(depth_wt) AS s_dw, sum(depth_duration) AS s_dd"
#: s_vd, s_dw, s_dd of per-content rows ``g`` joined to the catalog as ``c``.
_JOINED = (
    "g.s_views * coalesce(c.duration, 0) AS s_vd, CASE WHEN c.duration > 0 THEN g.s_cohort_wt ELSE 0 END AS s_dw, "
    "CASE WHEN c.duration > 0 THEN g.s_unique_views * c.duration ELSE 0 END AS s_dd"
)
_G = ", ".join(f"g.s_{c}" for c in SUMS4)


class Plan(NamedTuple):
    sql: str
    count_sql: str
    params: dict[str, Any]
    columns: list[str]
    source: str
    #: The SUMS the SQL's rows carry (after the group keys, before the window's total); the
    #: store answers the others of ``columns`` as 0 (``ZEROS``).
    sums: tuple[str, ...] = SUMS


class Source(NamedTuple):
    table: str
    tcol: str
    unit_ms: int  # 0 for facts
    dim: str | None  # ws_day / agg_day: the one dimension their ``value`` column holds
    per_content: bool  # rows keyed by content_id (catalog dims and view_duration come from a join)


FACTS = Source("facts", "t", 0, None, True)


def plan_aggregate(
    q: Aggregate, wm: int | None = None, ws_valid: bool = True, tail: bool = True, dims_ready: bool = True
) -> Plan:
    """``wm`` None: no rollups are trusted (facts only). ``tail`` False: facts hold no row past
    ``wm`` (the caller counted them in the same snapshot), so the tail part is left out."""
    narrow = _plan_startups(q, wm, ws_valid, tail, dims_ready)
    if narrow is not None:
        return narrow
    src = choose_source(q, ws_valid) if wm is not None else FACTS
    src_table = src.table
    params: dict[str, Any] = {"start": q.start_ms * 1000, "end": q.end_ms * 1000, "tz": q.timezone}
    filters = _filters(q, params)
    if src.table == "facts":
        parts = [_part(q, FACTS, "{t} >= make_timestamptz($start) AND {t} < make_timestamptz($end)", filters)]
    else:
        u = src.unit_ms
        cs, ce = -(-q.start_ms // u) * u, q.end_ms // u * u
        params.update(cs=cs * 1000, ce=ce * 1000, wm=wm)
        core = f"{src.tcol} >= make_timestamptz($cs) AND {src.tcol} < make_timestamptz($ce)"
        if src.dim is not None:
            core += f" AND dim = '{src.dim}'"
        parts = [_part(q, src, core, filters)]
        hsrc = _hour_source(src)
        lo, hi = _hour_span(q, cs, ce, params) if hsrc else ("cs", "ce")
        if hsrc:
            for a, b in (("hs", "cs"), ("ce", "he")):
                if params[a] < params[b]:
                    src_table = f"{src.table}+{hsrc.table}"
                    parts.append(
                        _part(
                            q,
                            hsrc,
                            f"hour >= make_timestamptz(${a}) AND hour < make_timestamptz(${b}) AND dim = '{hsrc.dim}'",
                            filters,
                        )
                    )
        if params[lo] > params["start"]:
            parts.append(
                _part(q, FACTS, f"{{t}} >= make_timestamptz($start) AND {{t}} < make_timestamptz(${lo})", filters)
            )
        if params[hi] < params["end"]:
            parts.append(
                _part(q, FACTS, f"{{t}} >= make_timestamptz(${hi}) AND {{t}} < make_timestamptz($end)", filters)
            )
        if tail:
            parts.append(
                _part(
                    q,
                    FACTS,
                    f"rowid >= $wm AND {{t}} >= make_timestamptz(${lo}) AND {{t}} < make_timestamptz(${hi})",
                    filters,
                )
            )
    names = (["bucket"] if q.bucket else []) + list(q.dims)
    outer = (["epoch_ms(bucket) AS bucket"] if q.bucket else []) + [f"d_{d} AS {d}" for d in q.dims]
    select = ", ".join(outer + _SUM_EXPRS)
    body = f"SELECT {select}{{window}} FROM ({' UNION ALL '.join(parts)})"
    if outer:
        body += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(outer)))
    sql = body.format(window=", count(*) OVER () AS total") + _order(q, names) + _page(q)
    count_sql = f"SELECT count(*) FROM ({body.format(window='')})"
    params = {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}
    return Plan(sql, count_sql, params, names + list(SUMS), src_table)


#: The startup histogram's dims beside startup_bin that need no catalog join.
_STARTUP_DIMS = FACT_DIMS | {"content_id"}
AGG_STARTUP = Source("agg_startup", "hour", HOUR_MS, None, True)
#: The histogram's UTC-day sources: the startup_bin rows of ws_day (per project) and agg_day (per content).
WS_DAY_BINS = Source("ws_day", "day", DAY_MS, "startup_bin", False)
AGG_DAY_BINS = Source("agg_day", "day", DAY_MS, "startup_bin", True)
#: Startups of all content per UTC day / hour and bin: a histogram without a filter or a content dim.
STARTUP_DAY = Source("startup_day", "day", DAY_MS, None, False)
STARTUP_HOUR = Source("startup_hour", "hour", HOUR_MS, None, False)
#: Startups per UTC day, STARTUP_DIMS dim, value and bin: per content, and of all content (``dim`` set per question).
AGG_STARTUP_DIM = Source("agg_startup_dim", "day", DAY_MS, None, True)
STARTUP_DIM_DAY = Source("startup_dim_day", "day", DAY_MS, None, False)
#: Filters agg_startup_dim answers (catalog ones through the content ids, as agg_day).
_CONTENT_FILTERS = frozenset({"content_id", "project_id", "folder_id"})
DAY_US, HOUR_US = DAY_MS * 1000, HOUR_MS * 1000
#: The noon of the UTC day of a TIMESTAMPTZ expression ``{c}``.
_NOON = f"make_timestamptz(epoch_us({{c}}) // {DAY_US} * {DAY_US} + {DAY_US // 2})"
#: The start of the UTC hour of ``{c}``.
_HOUR = f"make_timestamptz(epoch_us({{c}}) // {HOUR_US} * {HOUR_US})"


def _plan_startups(q: Aggregate, wm: int | None, ws_valid: bool, tail: bool, dims_ready: bool = True) -> Plan | None:
    """``startups`` alone by ``startup_bin`` (``q.sums``): the startup histogram, its rows carrying
    ``startups`` alone (``Plan.sums``; the store answers the other sums as 0), without the catalog
    join or the cohort's second read (startups are credited at ``t``). None: not this question.

    Sources: the whole UTC days from startup_day (all content: no filter, no content dim), else
    the startup_bin rows of ws_day (per project, without a content-level filter) or agg_day; the
    whole UTC hours at the edges from startup_hour (all content) or agg_startup; the sub-hour
    rests and the tail from facts' startup rows. With day / week / month buckets in a
    zone whose offsets are whole hours but not whole days (Berlin), a UTC day counts in the
    bucket of its noon and the few hours of it that fall in another bucket are moved there
    from agg_startup (counted in theirs, taken from the noon's): exact, and ~1/12 of the hour
    rows. Hour buckets read agg_startup throughout; zones off the hour grid read facts.
    One of STARTUP_DIMS beside the bin (the percentiles by browser), with content / project /
    folder filters at most: the whole UTC days from startup_dim_day (no filter) or
    agg_startup_dim, the partial days and the tail from facts, when each UTC day lies in one
    bucket (else facts); any other fact dimension reads facts. Rows are bucketed through a map of the period's
    units (UTC days by their noon, or UTC hours): the zone's rules run once per unit, not
    once per (unit, bin) row.
    """
    orderable = set(q.dims) | {"bucket", "startups"}
    if (
        q.sums != ("startups",)
        or "startup_bin" not in q.dims
        or not set(q.dims) <= _STARTUP_DIMS
        or any(f not in orderable for f, _ in q.order)
    ):
        return None
    params: dict[str, Any] = {"start": q.start_ms * 1000, "end": q.end_ms * 1000, "tz": q.timezone}
    filters = _filters(q, params)
    rolled = wm is not None and not set(q.dims) - {"startup_bin", "content_id"} and not set(q.filters) & FACT_DIMS
    hours_fit = rolled and _fits(q, HOUR_MS)
    days_fit = _fits_bucket(q, DAY_MS)  # every UTC day inside one bucket (or no bucket)
    cs, ce = -(-q.start_ms // DAY_MS) * DAY_MS, q.end_ms // DAY_MS * DAY_MS
    day: Source | None = None
    moved: tuple[int, ...] = ()
    all_content = not q.filters and set(q.dims) == {"startup_bin"}
    hour_src = STARTUP_HOUR if all_content else AGG_STARTUP
    by_dim = [d for d in q.dims if d in STARTUP_DIMS]
    if (
        wm is not None
        and dims_ready  # else a file from before them: filled by the next maintain()
        and cs < ce
        and days_fit
        and len(q.dims) == 2
        and len(by_dim) == 1
        and set(q.filters) <= _CONTENT_FILTERS
    ):  # no hour rollup keeps the dim: the partial days come from facts
        day = (AGG_STARTUP_DIM if q.filters else STARTUP_DIM_DAY)._replace(dim=by_dim[0])
    elif rolled and cs < ce and (days_fit or (hours_fit and q.bucket in ("day", "week", "month"))):
        content_level = bool((set(q.dims) | set(q.filters)) & {"content_id", "folder_id"})
        day = STARTUP_DAY if all_content else AGG_DAY_BINS if content_level or not ws_valid else WS_DAY_BINS
        moved = () if days_fit else _moved_hours(q)
    if day is None and not hours_fit:
        return _startups_from_facts(q, params, filters)
    # rollup rows: (tb, d_<dim>…, s), tb the instant their unit is bucketed by (``units``);
    # facts rows: (b, d_<dim>…, s), their buckets their own (edges and tail: few groups)
    unit = _NOON if days_fit else _HOUR
    hs, he = -(-q.start_ms // HOUR_MS) * HOUR_MS, q.end_ms // HOUR_MS * HOUR_MS
    if by_dim and day is not None:
        hs, he = cs, ce
    params.update(hs=hs * 1000, he=he * 1000, wm=wm)
    parts: list[str] = []
    sources = []
    hour_spans = [(hs, he)]
    units: list[tuple[int, int, int]] = []  # (first, stop, step) ms: the units the rollup rows name
    if day is not None:
        params.update(cs=cs * 1000, ce=ce * 1000)
        sources.append(day.table)
        parts.append(
            _startup_rows(
                q,
                day,
                _NOON.format(c="day"),
                "day >= make_timestamptz($cs) AND day < make_timestamptz($ce)"
                + (f" AND dim = '{day.dim}'" if day.dim else ""),
                filters,
            )
        )
        if moved:
            parts.append(_moved_part(q, hour_src, moved, filters))
        hour_spans = [(a, b) for a, b in ((hs, cs), (ce, he)) if a < b]
        units += [(cs + DAY_MS // 2, ce, DAY_MS)] + [(cs + m // 1000, ce, DAY_MS) for m in moved]
    for a, b in hour_spans:
        params.update({f"h{a}": a * 1000, f"h{b}": b * 1000})
        parts.append(
            _startup_rows(
                q,
                hour_src,
                unit.format(c="hour"),
                f"hour >= make_timestamptz($h{a}) AND hour < make_timestamptz($h{b})",
                filters,
            )
        )
        units.append((a // DAY_MS * DAY_MS + DAY_MS // 2, b, DAY_MS) if days_fit else (a, b, HOUR_MS))
    if hour_spans or moved:
        sources.append(hour_src.table)
    facts = [
        "{t} >= make_timestamptz($start) AND {t} < make_timestamptz($hs)" if hs > q.start_ms else "",
        "{t} >= make_timestamptz($he) AND {t} < make_timestamptz($end)" if he < q.end_ms else "",
        "rowid >= $wm AND {t} >= make_timestamptz($hs) AND {t} < make_timestamptz($he)" if tail else "",
    ]
    names = (["bucket"] if q.bucket else []) + list(q.dims)
    keys = ", ".join(str(i + 1) for i in range(len(names)))
    facts_rows = [_bucketed(q, _startup_rows(q, FACTS, unit.format(c="t"), where, filters)) for where in facts if where]
    if q.bucket:
        each = " UNION ALL ".join(
            f"SELECT x FROM range({a * 1000}, {b * 1000}, {step * 1000}) r(x)" for a, b, step in units
        )
        mapped = (
            f"SELECT u.b, {', '.join(f'p.d_{d}' for d in q.dims)}, p.s FROM ({' UNION ALL '.join(parts)}) p "
            f"JOIN (SELECT make_timestamptz(x) AS tb, epoch_ms(time_bucket(INTERVAL '{INTERVALS[q.bucket]}', "
            f"make_timestamptz(x), $tz)) AS b FROM ({each})) u ON u.tb = p.tb"
        )
        parts = [mapped]
    outer = (["b AS bucket"] if q.bucket else []) + [f"d_{d} AS {d}" for d in q.dims]
    body = (
        f"SELECT {', '.join(outer)}, sum(s)::BIGINT AS startups{{window}} FROM ({' UNION ALL '.join(parts + facts_rows)}) "
        f"GROUP BY {keys} HAVING sum(s) <> 0"
    )
    return _startup_plan(q, body, params, names, "+".join(sources))


def _bucketed(q: Aggregate, rows: str) -> str:
    """Rows (tb, d_<dim>…, s) as (b, d_<dim>…, s): each group's bucket start in ms (or as they are, without a bucket)."""
    if not q.bucket:
        return rows
    dims = ", ".join(f"d_{d}" for d in q.dims)
    return f"SELECT epoch_ms(time_bucket(INTERVAL '{INTERVALS[q.bucket]}', tb, $tz)) AS b, {dims}, s FROM ({rows})"


def _startup_plan(q: Aggregate, body: str, params: dict[str, Any], names: list[str], source: str) -> Plan:
    sql = body.format(window=", count(*) OVER () AS total") + _order(q, names) + _page(q)
    count_sql = f"SELECT count(*) FROM ({body.format(window='')})"
    params = {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}
    return Plan(sql, count_sql, params, names + list(SUMS), source, ("startups",))


def _startups_from_facts(q: Aggregate, params: dict[str, Any], filters: list[tuple[str, str]]) -> Plan:
    """The histogram from facts' startup rows alone, grouped by a grain inside one bucket first."""
    grain = _grain(q)
    tb = f"make_timestamptz(epoch_ms(t) // {grain} * {grain * 1000})"
    rows = _bucketed(
        q, _startup_rows(q, FACTS, tb, "{t} >= make_timestamptz($start) AND {t} < make_timestamptz($end)", filters)
    )
    names = (["bucket"] if q.bucket else []) + list(q.dims)
    outer = (["b AS bucket"] if q.bucket else []) + [f"d_{d} AS {d}" for d in q.dims]
    body = (
        f"SELECT {', '.join(outer)}, sum(s)::BIGINT AS startups{{window}} FROM ({rows}) "
        f"GROUP BY {', '.join(str(i + 1) for i in range(len(names)))} HAVING sum(s) <> 0"
    )
    return _startup_plan(q, body, params, names, "facts")


def _moved_hours(q: Aggregate) -> tuple[int, ...]:
    """Hours of a UTC day (µs past its midnight) that may lie in another bucket than its noon.

    Buckets of a day or longer start at local midnights, which fall at UTC hour (-offset mod
    24) for the offsets the zone uses over the period: an hour on the far side of such a
    boundary from noon may be in another bucket; every other hour is in the noon's. A
    superset is harmless (an hour in the noon's bucket is moved to where it already is)."""
    out: set[int] = set()
    for off in _offsets(q.timezone, q.start_ms, q.end_ms):
        edge = (-off) % DAY_MS // HOUR_MS
        if edge:
            out.update(range(edge, 24) if edge > 12 else range(0, edge))
    return tuple(sorted(h * HOUR_US for h in out))


def _moved_part(q: Aggregate, src: Source, moved: tuple[int, ...], filters: list[tuple[str, str]]) -> str:
    """Rows of ``src`` (agg_startup or startup_hour) of the ``moved`` hours of the whole days [cs, ce), summed per hour: +startups
    at their hour, -startups at their day's noon (where the day's rows counted them). The hours are
    found by a semi-join on their list (a probe per row: a third of the cost of computing each
    row's hour of the day)."""
    conds = "".join(f" AND {_filter_sql(src, name, param)}" for name, param in filters)
    dims = ", ".join(f"{d} AS d_{d}" for d in q.dims)
    hours = " UNION ALL ".join(f"SELECT make_timestamptz(x) FROM range($cs + {m}, $ce, {DAY_US}) r(x)" for m in moved)
    inner = (
        f"SELECT hour, {dims}, sum(startups) AS s FROM {src.table} WHERE hour >= make_timestamptz($cs) "
        f"AND hour < make_timestamptz($ce) AND hour IN ({hours}){conds} GROUP BY ALL"
    )
    return (
        f"SELECT CASE WHEN k.home THEN {_NOON.format(c='g.hour')} ELSE g.hour END AS tb, "
        f"{', '.join(f'g.d_{d}' for d in q.dims)}, CASE WHEN k.home THEN -g.s ELSE g.s END AS s "
        f"FROM ({inner}) g, (VALUES (false), (true)) k(home)"
    )


def _startup_rows(q: Aggregate, src: Source, tb: str, where: str, filters: list[tuple[str, str]]) -> str:
    """One source's startup rows as (tb, d_<dim>…, s) (without a bucket: no tb); facts ``where``
    written with {t}, and grouped (a rollup's rows are read as they are)."""
    conds = "".join(f" AND {_filter_sql(src, name, param)}" for name, param in filters)
    keys = ([f"{tb} AS tb"] if q.bucket else []) + [f"{'value' if src.dim == d else d} AS d_{d}" for d in q.dims]
    if src.table == "facts":
        return (
            f"SELECT {', '.join(keys)}, sum(startups) AS s FROM facts "
            f"WHERE {where.format(t='t')} AND startups <> 0{conds} GROUP BY ALL"
        )
    return f"SELECT {', '.join(keys)}, startups AS s FROM {src.table} WHERE {where}{conds}"


#: ``ws_hour_dim`` (duckdb_rollup): ws_day per UTC hour for these dimensions.
HOUR_DIMS = frozenset({"country", "platform", "os", "browser"})


def _hour_source(src: Source) -> Source | None:
    """ws_day's hour-grain twin for the partial UTC days at the ends, when it has the dimension."""
    if src.table == "ws_day" and src.dim in HOUR_DIMS:
        return Source("ws_hour_dim", "hour", HOUR_MS, src.dim, False)
    return None


def _hour_span(q: Aggregate, cs: int, ce: int, params: dict[str, Any]) -> tuple[str, str]:
    """The whole UTC hours [hs, he) around the whole days [cs, ce): the rollups cover them."""
    hs, he = -(-q.start_ms // HOUR_MS) * HOUR_MS, q.end_ms // HOUR_MS * HOUR_MS
    params.update(hs=hs * 1000, he=he * 1000)
    return "hs", "he"


#: Store column (s_… of a part) -> the ``SUMS`` name it answers, and its SQL type.
_OUT = {
    "player_loads": ("s_player_loads", "BIGINT"),
    "unique_views": ("s_unique_views", "BIGINT"),
    "views": ("s_views", "BIGINT"),
    "watch_time": ("s_watch_time", "DOUBLE"),
    "view_duration": ("s_vd", "DOUBLE"),
    "cohort_watch_time": ("s_cohort_wt", "DOUBLE"),
    "depth_watch_time": ("s_dw", "DOUBLE"),
    "depth_duration": ("s_dd", "DOUBLE"),
    **{c: (f"s_{c}", "BIGINT") for c in ("play", "pause", "seek", "replay", "player_init")},
    **{c: (f"s_{c}", "BIGINT") for c in QUALITY_SUMS},
}
_SUM_EXPRS = [f"coalesce(sum({_OUT[name][0]}), 0)::{_OUT[name][1]} AS {name}" for name in SUMS]
#: Each of SUMS as 0 of its type (the sums a ``Plan`` leaves out).
ZEROS = {name: 0.0 if typ == "DOUBLE" else 0 for name, (_, typ) in _OUT.items()}


def _from(src: Source, where: str, dims: tuple[str, ...]) -> str:
    """``FROM … WHERE`` of a part: a rollup's rows, or facts as credits (``where`` written with {t})."""
    if src.table != "facts":
        return f"FROM {src.table} WHERE {where}"
    cols = ("content_id", *(d for d in FACT_DIMENSIONS if d in dims))
    return f"FROM {credited(where, cols)} WHERE true"


def _part(q: Aggregate, src: Source, where: str, filters: list[tuple[str, str]]) -> str:
    """One source's rows grouped to (bucket, d_<dim>…, s_<sum>…)."""
    used = tuple(q.dims) + tuple(name for name, _ in filters)
    conds = [_filter_sql(src, name, param) for name, param in filters]
    source = _from(src, where, used) + "".join(f" AND {c}" for c in conds)
    keys: list[str] = []
    bucket = f"time_bucket(INTERVAL '{INTERVALS[q.bucket]}', {{}}, $tz) AS bucket" if q.bucket else ""
    if not src.per_content:
        dims = [f"{'value' if src.dim == d else d} AS d_{d}" for d in q.dims]
        sums = [_SUMS_SQL, _WS_SUMS]
        if not bucket:
            return f"SELECT {', '.join(dims + sums)} {source}" + (" GROUP BY ALL" if dims else "")
        # sum per unit first: the zone-aware bucketing then runs once per unit, not per row
        inner = f"SELECT {', '.join([f'{src.tcol} AS tb'] + dims + sums)} {source} GROUP BY ALL"
        keyed = _unit_keys(q)
        if keyed is not None:  # fewer still: once per UTC day (and moved hour) through a map
            key, units = keyed
            outer = ["u.b AS bucket"] + [f"g.d_{d}" for d in q.dims]
            return (
                f"SELECT {', '.join(outer)}, {_RESUM} FROM ({inner}) g JOIN ({units}) u "
                f"ON u.k = {key.format(c='g.tb')} GROUP BY ALL"
            )
        outer = [bucket.format("tb")] + [f"d_{d}" for d in q.dims]
        return f"SELECT {', '.join(outer)}, {_RESUM} FROM ({inner}) GROUP BY ALL"
    if bucket:
        # group by a grain that lies inside one bucket first; zone-aware bucketing is per group
        grain = src.unit_ms or _grain(q)
        keys.append(f"{src.tcol} AS tb" if src.unit_ms else f"epoch_ms(t) // {grain} AS tb")
    inner_keys = (
        keys + ["content_id"] + [f"{'value' if src.dim == d else d} AS d_{d}" for d in q.dims if d in FACT_DIMS]
    )
    inner = f"SELECT {', '.join(inner_keys + [_SUMS_SQL])} {source} GROUP BY ALL"
    tb = "g.tb" if src.unit_ms else f"make_timestamptz(g.tb * {_grain(q) * 1000})"
    cols = ([bucket.format(tb)] if q.bucket else []) + [
        f"{CATALOG_DIMS[d]} AS d_{d}"
        if d in CATALOG_DIMS
        else ("g.content_id AS d_content_id" if d == "content_id" else f"g.d_{d}")
        for d in q.dims
    ]
    cols += [_G, _JOINED]
    return f"SELECT {', '.join(cols)} FROM ({inner}) g LEFT JOIN content c ON c.id = g.content_id"


def _unit_keys(q: Aggregate) -> tuple[str, str] | None:
    """For rows of whole UTC hours or days bucketed by day / week / month: a key expression
    (of ``{c}``, a unit's start) that lies in the unit's bucket, and SQL mapping each key of the
    period to its bucket start (k, b), so that the zone's rules run per key, not per unit. The
    key is the unit's UTC noon (``_moved_hours``: its hours in another bucket keep their own
    start). None: hour buckets, or a zone off the hour grid (bucket each unit)."""
    if q.bucket is None or q.bucket == "hour":
        return None
    if _fits_bucket(q, DAY_MS):
        moved: tuple[int, ...] = ()
    elif _fits_bucket(q, HOUR_MS):
        moved = _moved_hours(q)
    else:
        return None
    first, stop = q.start_ms // DAY_MS * DAY_US, q.end_ms * 1000
    keys = " UNION ALL ".join(
        f"SELECT x FROM range({first + at}, {stop}, {DAY_US}) r(x)" for at in (DAY_US // 2, *moved)
    )
    units = (
        f"SELECT make_timestamptz(x) AS k, time_bucket(INTERVAL '{INTERVALS[q.bucket]}', make_timestamptz(x), $tz) AS b "
        f"FROM ({keys})"
    )
    if not moved:
        return _NOON, units
    return f"CASE WHEN epoch_us({{c}}) % {DAY_US} IN ({', '.join(map(str, moved))}) THEN {{c}} ELSE {_NOON} END", units


def _grain(q: Aggregate) -> int:
    """The coarsest of day / hour / 15 minutes whose UTC-aligned units each fall in one bucket."""
    for grain in (DAY_MS, HOUR_MS, 15 * 60_000):
        if _fits_bucket(q, grain):
            return grain
    return 1


def _filters(q: Aggregate, params: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for i, (name, values) in enumerate(sorted(q.filters.items())):
        params[f"f{i}"] = list(values)
        out.append((name, f"$f{i}"))
    return out


def _filter_sql(src: Source, name: str, param: str) -> str:
    values = f"(SELECT unnest({param}::VARCHAR[]))"
    if name in CATALOG_DIMS and src.per_content:
        return f"content_id IN (SELECT id FROM content WHERE {name} IN {values})"
    col = "value" if src.dim == name else name
    return f"{col} IN {values}"


def _order(q: Aggregate, group_names: list[str]) -> str:
    terms = [f"{field} {'DESC' if desc else 'ASC'} NULLS LAST" for field, desc in q.order]
    terms += [f"{g} ASC NULLS LAST" for g in group_names]
    return f" ORDER BY {', '.join(terms)}" if terms else ""


def _page(q: Aggregate) -> str:
    if q.limit is None:
        return f" OFFSET {int(q.offset)}" if q.offset else ""
    return f" LIMIT {int(q.limit)} OFFSET {int(q.offset)}"


def candidates(q: Aggregate, ws_valid: bool = True) -> list[Source]:
    """Every rollup that holds the query's dimensions and filters, smallest first."""
    used = set(q.dims) | set(q.filters)
    fact = used & FACT_DIMS
    content_level = bool(used & {"content_id", "folder_id"})
    out = []
    if ws_valid and not content_level:
        if not fact:
            out.append(Source("ws_hour", "hour", HOUR_MS, None, False))
        elif len(fact) == 1 and next(iter(fact)) in ROLLUP_DIMENSIONS:
            out.append(Source("ws_day", "day", DAY_MS, next(iter(fact)), False))
        elif fact <= {"domain", "page"}:
            out.append(Source("ws_page", "day", DAY_MS, None, False))
    if not fact:
        if q.end_ms - q.start_ms >= 7 * DAY_MS:
            out.append(Source("agg_cday", "day", DAY_MS, None, True))
        out.append(Source("agg_hour", "hour", HOUR_MS, None, True))
    elif len(fact) == 1 and next(iter(fact)) in ROLLUP_DIMENSIONS:
        out.append(Source("agg_day", "day", DAY_MS, next(iter(fact)), True))
    return out


def choose_source(q: Aggregate, ws_valid: bool = True) -> Source:
    for src in candidates(q, ws_valid):
        if _fits(q, src.unit_ms):
            return src
    return FACTS


def _fits(q: Aggregate, unit_ms: int) -> bool:
    """Does the period hold a whole unit, and does every unit fall inside one bucket?"""
    if q.end_ms // unit_ms * unit_ms <= -(-q.start_ms // unit_ms) * unit_ms:
        return False
    return _fits_bucket(q, unit_ms)


def _fits_bucket(q: Aggregate, unit_ms: int) -> bool:
    if q.bucket is None:
        return True
    if unit_ms == DAY_MS and q.bucket == "hour":
        return False
    return all(o % unit_ms == 0 for o in _offsets(q.timezone, q.start_ms, q.end_ms))


@functools.lru_cache(maxsize=256)
def _offsets(tz: str, start_ms: int, end_ms: int) -> frozenset[int]:
    """UTC offsets (ms) the zone uses over the period, sampled every 6 hours (a plan asks
    several times, an overview's queries the same periods: kept)."""
    zone = ZoneInfo(tz)
    step = 6 * HOUR_MS
    if end_ms - start_ms >= 400 * DAY_MS:
        step = DAY_MS
    span = range(start_ms, end_ms + step, step)
    found = set()
    for ms in span:
        at = datetime.fromtimestamp(min(ms, end_ms) / 1000, tz=UTC).astimezone(zone)
        off = at.utcoffset() or timedelta(0)
        found.add(int(off.total_seconds() * 1000))
    return frozenset(found)


def plan_tops(
    q: Aggregate, dims: tuple[str, ...], limit: int, wm: int | None = None, ws_valid: bool = True, tail: bool = True
) -> Plan | None:
    """The top ``limit`` values of each of ``dims`` by views then player loads (ties by value), in
    one scan: ``q`` with ``dims=(d,), order=(views desc, player_loads desc)`` for each d, exactly
    (with ``q.sums``, those and the two ranked by; the others 0).

    Output rows: (dim, value, SUMS…, rank). None when the dims would not read one source of
    the same shape (a filter on a fact dimension, say): ask them one by one then.
    """
    each = [choose_source(msgspec.structs.replace(q, dims=(d,)), ws_valid) if wm is not None else FACTS for d in dims]
    src = each[0]
    if (
        any(s.table != src.table or s.dim != (d if src.dim else None) for s, d in zip(each, dims))
        or q.bucket
        or set(q.filters) & FACT_DIMS
        or (src.table != "facts" and src.dim is None)
    ):
        return None
    params: dict[str, Any] = {"start": q.start_ms * 1000, "end": q.end_ms * 1000}
    filters = _filters(q, params)
    names = ", ".join(f"'{d}'" for d in dims)
    source = src.table
    if src.table == "facts":
        parts = [_tops_facts(dims, "{t} >= make_timestamptz($start) AND {t} < make_timestamptz($end)", filters)]
    else:
        u = src.unit_ms
        cs, ce = -(-q.start_ms // u) * u, q.end_ms // u * u
        params.update(cs=cs * 1000, ce=ce * 1000, wm=wm)
        conds = [f"{src.tcol} >= make_timestamptz($cs) AND {src.tcol} < make_timestamptz($ce) AND dim IN ({names})"]
        conds += [_filter_sql(src, name, param) for name, param in filters]
        if src.per_content:
            inner = (
                f"SELECT content_id, dim, value, {_SUMS_SQL} FROM {src.table} WHERE {' AND '.join(conds)} GROUP BY ALL"
            )
            parts = [
                f"SELECT g.dim AS d, g.value AS x, {_G}, {_JOINED} "
                f"FROM ({inner}) g LEFT JOIN content c ON c.id = g.content_id"
            ]
        else:
            parts = [
                f"SELECT dim AS d, value AS x, {_SUMS_SQL}, {_WS_SUMS} FROM {src.table} "
                f"WHERE {' AND '.join(conds)} GROUP BY ALL"
            ]
        lo, hi = "cs", "ce"
        if src.table == "ws_day" and set(dims) <= HOUR_DIMS:
            lo, hi = _hour_span(q, cs, ce, params)
            for a, b in (("hs", "cs"), ("ce", "he")):
                if params[a] < params[b]:
                    source = "ws_day+ws_hour_dim"
                    hconds = [f"hour >= make_timestamptz(${a}) AND hour < make_timestamptz(${b}) AND dim IN ({names})"]
                    hconds += [_filter_sql(src, name, param) for name, param in filters]
                    parts.append(
                        f"SELECT dim AS d, value AS x, {_SUMS_SQL}, {_WS_SUMS} FROM ws_hour_dim "
                        f"WHERE {' AND '.join(hconds)} GROUP BY ALL"
                    )
        if params[lo] > params["start"]:
            parts.append(
                _tops_facts(dims, f"{{t}} >= make_timestamptz($start) AND {{t}} < make_timestamptz(${lo})", filters)
            )
        if params[hi] < params["end"]:
            parts.append(
                _tops_facts(dims, f"{{t}} >= make_timestamptz(${hi}) AND {{t}} < make_timestamptz($end)", filters)
            )
        if tail:
            parts.append(
                _tops_facts(
                    dims,
                    f"rowid >= $wm AND {{t}} >= make_timestamptz(${lo}) AND {{t}} < make_timestamptz(${hi})",
                    filters,
                )
            )
    rank = "row_number() OVER (PARTITION BY d ORDER BY views DESC, player_loads DESC, x ASC NULLS LAST)"
    # ``q.sums``: the others are answered as 0, and DuckDB drops their sums from the parts
    read = {*q.sums, "views", "player_loads"} if q.sums else set(SUMS)
    sums = [e if n in read else f"0::{_OUT[n][1]} AS {n}" for n, e in zip(SUMS, _SUM_EXPRS)]
    sql = (
        f"SELECT d, x, {', '.join(sums)}, {rank} AS rank FROM ({' UNION ALL '.join(parts)}) "
        f"GROUP BY d, x QUALIFY rank <= {int(limit)} ORDER BY d, rank"
    )
    params = {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}
    return Plan(sql, "", params, ["dim", "value", *SUMS], source)


def _tops_facts(dims: tuple[str, ...], where: str, filters: list[tuple[str, str]]) -> str:
    """Facts rows of one window (``where`` written with {t}), one row per (dim, its value), summed (NULL values kept)."""
    conds = "".join(f" AND {_filter_sql(FACTS, name, param)}" for name, param in filters)
    value = "CASE k.d " + " ".join(f"WHEN '{d}' THEN f.d_{d}" for d in dims) + " END"
    used = dims + tuple(name for name, _ in filters)
    inner = (
        f"SELECT content_id, {', '.join(f'{d} AS d_{d}' for d in dims)}, {_SUMS_SQL} "
        f"{_from(FACTS, where, used)}{conds} GROUP BY ALL"
    )
    f_sums = ", ".join(f"f.s_{c}" for c in SUMS4)
    keyed = (
        f"SELECT k.d, {value} AS x, f.content_id, {f_sums} FROM ({inner}) f, "
        f"(VALUES {', '.join(f'({chr(39)}{d}{chr(39)})' for d in dims)}) k(d)"
    )
    resum = ", ".join(f"sum(s_{c}) AS s_{c}" for c in SUMS4)
    grouped = f"SELECT d, x, content_id, {resum} FROM ({keyed}) GROUP BY ALL"
    return f"SELECT g.d, g.x, {_G}, {_JOINED} FROM ({grouped}) g LEFT JOIN content c ON c.id = g.content_id"
