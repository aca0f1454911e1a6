"""Keeping the DuckDB rollups: folding the facts tail into every rollup table, in ``maintain``.

Input: a DuckDB cursor inside a transaction (the caller holds the write lock). Output: the
rollup tables of ``duckdb_schema.sql`` updated so that facts rows ``[0, wm)`` are in all of
them, and ``rollup_state.wm`` moved on. ``facts`` is append-only, so its ``rowid`` numbers
rows in commit order and ``rowid >= wm`` is the tail not rolled up yet (queries read it from
facts, so lagging rollups never make a number wrong).
Every sum goes to the unit of its fact's time ``t``, except ``cohort_wt`` (a pair's watch
time, docs/metrics.md §5's cohort), which goes to the unit of the pair's impression ``imp_t``:
``credited`` gives each facts row twice, once per time.
``agg_startup`` keeps startups alone per UTC hour, content and 10 ms bin (docs/metrics.md §7's
percentiles in any zone's buckets), ``startup_day`` / ``startup_hour`` the same of all content
per UTC day / hour (a workspace's without a filter); ``agg_startup_dim`` keeps them per UTC day,
content, one device dimension (STARTUP_DIMS) and bin, ``startup_dim_day`` the same of all content
(the percentiles by browser, say). A file from before them gets agg_startup and startup_day /
startup_hour filled on open (seconds at 100M), agg_startup_dim / startup_dim_day by the next
``roll`` (``rollup_pending``; a minute at 100M: plans read facts for them meanwhile).
It does not plan queries (``duckdb_plan``) and is not called on the commit path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import duckdb

from watchdepth.store.base import ROLLUP_DIMENSIONS

DAY_MS = 86_400_000
#: The dimensions ws_hour_dim keeps per hour (the overview's top lists).
HOUR_DIMS = ("country", "platform", "os", "browser")
SLICE_ROWS = 5_000_000  # a tail longer than this is folded a week at a time
#: Event-count columns of facts and rollups (``store.rows.FACT_COUNTS``).
COUNTS = ("play", "pause", "seek", "replay", "player_init")
#: Quality sums (docs/metrics.md §7; ``store.rows.FACT_QUALITY``); ``exits`` is keyed by imp_t, like cohort_wt.
QUALITY = ("startups", "stalls", "stall_ms", "failures", "exits")
#: Sums credited at ``imp_t`` (the cohort's time), not at ``t``.
AT_IMP = ("cohort_wt", "exits")
#: The sums of facts and of the per-content rollups.
SUMS4 = ("player_loads", "unique_views", "views", "watch_time", "cohort_wt", *COUNTS, *QUALITY)
#: The ws_* rollups add what the catalog's duration gives (view_duration, watch depth's two).
SUMS5 = (*SUMS4, "view_duration", "depth_wt", "depth_duration")
_S4 = ", ".join(f"sum({c}) AS {c}" for c in SUMS4)
_VD = (
    "sum(r.views * coalesce(c.duration, 0)) AS view_duration, "
    "sum(CASE WHEN c.duration > 0 THEN r.cohort_wt ELSE 0 END) AS depth_wt, "
    "sum(CASE WHEN c.duration > 0 THEN r.unique_views * c.duration ELSE 0 END) AS depth_duration"
)
_R4 = ", ".join(f"sum(r.{c}) AS {c}" for c in SUMS4)
#: Facts columns a rollup keeps (its keys).
_KEPT = ("content_id", "country", "platform", "os", "browser", "domain", "page", "startup_bin", "city")


def credited(where: str, cols: tuple[str, ...] = _KEPT) -> str:
    """A relation of facts rows (selected by ``where``, written with ``{t}`` for the time
    column) as credits: each row at ``t`` with its sums, and again at ``imp_t`` with its
    ``cohort_wt`` and ``exits`` alone (AT_IMP). Columns: t, ``cols``, SUMS4."""
    keep = ", ".join(cols)
    at_t = ", ".join(_zero(c) if c in AT_IMP else c for c in SUMS4)
    at_imp = ", ".join(c if c in AT_IMP else f"0 AS {c}" for c in SUMS4)
    return (
        f"(SELECT t, {keep}, {at_t} FROM facts WHERE {where.format(t='t')} UNION ALL "
        f"SELECT imp_t AS t, {keep}, {at_imp} FROM facts WHERE {where.format(t='imp_t')} "
        "AND (cohort_wt <> 0 OR exits <> 0) AND imp_t IS NOT NULL)"
    )


def _zero(c: str) -> str:
    return f"0.0 AS {c}" if c == "cohort_wt" else f"0 AS {c}"


def tables(cur: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables the file has (before the schema script runs: to spot new rollups)."""
    return {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


@contextlib.contextmanager
def _transaction(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back (and the error raised) if it fails."""
    cur.execute("BEGIN")
    try:
        yield
        cur.execute("COMMIT")
    except duckdb.Error:
        cur.execute("ROLLBACK")
        raise


def _row(cur: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> tuple[Any, ...]:
    """The one row of an aggregate query (``count``, ``min``/``max``: always one)."""
    got = cur.execute(sql, params).fetchone()
    assert got is not None, sql
    return got


def upgrade(cur: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Bring a file made by an older version to ``schema`` (the script just run, whose
    ``CREATE TABLE IF NOT EXISTS`` left old tables as they were): add the columns it lacks.

    Facts without ``imp_t`` are given their pair's impression time and ``cohort_wt`` (= their
    watch time, with the row's own dimensions: a pair seen on two pages is credited where it
    was watched), and every rollup is emptied so that the next ``roll`` rebuilds them with the
    new sums. Files from before ``city`` gain NULL-city rows in the per-day rollups (``_city_rows``).
    Event counts cannot be recovered from facts: they start at the upgrade (the
    events log holds them; ``watchdepth copy`` into a fresh store does not replay it either).
    Returns the columns added (``table.column``)."""
    want = duckdb.connect(":memory:")
    try:
        want.execute(schema)
        wanted = want.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() ORDER BY column_index"
        ).fetchall()
    finally:
        want.close()
    have = {(t, c) for t, c in cur.execute("SELECT table_name, column_name FROM duckdb_columns()").fetchall()}
    added = []
    for table, column, typ in wanted:
        if (table, column) not in have:
            numeric = typ in ("DOUBLE", "BIGINT", "UTINYINT", "INTEGER", "UINTEGER", "TINYINT")
            default = " DEFAULT 0" if numeric and table != "events" else ""
            cur.execute(f"ALTER TABLE {table} ADD COLUMN {column} {typ}{default}")
            added.append(f"{table}.{column}")
    if "facts.imp_t" in added:
        with _transaction(cur):
            cur.execute(
                "UPDATE facts SET imp_t = p.imp, cohort_wt = facts.watch_time FROM (SELECT session_id, content_id, "
                "min(t) AS imp FROM facts WHERE unique_views = 1 GROUP BY ALL) p "
                "WHERE facts.session_id = p.session_id AND facts.content_id = p.content_id AND facts.watch_time <> 0"
            )
            for table in ROLLUPS:
                cur.execute(f"DELETE FROM {table}")
            cur.execute("UPDATE rollup_state SET wm = 0, ws_valid = true")
    elif "facts.city" in added:
        _city_rows(cur)
    return added


def _city_rows(cur: duckdb.DuckDBPyConnection) -> None:
    """Facts from before ``city`` all have it NULL: the per-day rollups gain their 'city' rows
    (one NULL city per key, the sums of its 'country' rows) without refolding the facts."""
    with _transaction(cur):
        for table, keys, sums in (("agg_day", "day, content_id", SUMS4), ("ws_day", "day, project_id", SUMS5)):
            cur.execute(
                f"INSERT INTO {table} BY NAME SELECT {keys}, 'city' AS dim, NULL AS value, "
                f"{', '.join(f'sum({c}) AS {c}' for c in sums)} FROM {table} WHERE dim = 'country' GROUP BY ALL"
            )


#: Every rollup table.
ROLLUPS = (
    "agg_hour",
    "agg_day",
    "agg_cday",
    "agg_startup",
    "startup_day",
    "startup_hour",
    "agg_startup_dim",
    "startup_dim_day",
    "ws_hour",
    "ws_day",
    "ws_page",
    "ws_hour_dim",
)
#: agg_startup's keys: startups alone per UTC hour, content and 10 ms bin (the §7 percentiles).
STARTUP_KEYS = ("hour", "content_id", "startup_bin")
#: The device dimensions agg_startup_dim / startup_dim_day keep startups by (few values each).
STARTUP_DIMS = ("browser", "os", "platform", "country")


def startup_dims_select(where: str) -> str:
    """agg_startup_dim rows of the facts rows ``where`` selects: per UTC day, content, STARTUP_DIMS dim, value, bin."""
    value = "CASE k.d " + " ".join(f"WHEN '{d}' THEN f.{d}" for d in STARTUP_DIMS) + " END"
    keys = ", ".join(f"('{d}')" for d in STARTUP_DIMS)
    return (
        f"SELECT f.day, f.content_id, k.d AS dim, {value} AS value, f.startup_bin, sum(f.startups) AS startups "
        f"FROM (SELECT time_bucket(INTERVAL '1 day', t, 'UTC') AS day, content_id, {', '.join(STARTUP_DIMS)}, "
        f"startup_bin, sum(startups) AS startups FROM facts WHERE ({where}) AND startups <> 0 GROUP BY ALL) f, "
        f"(VALUES {keys}) k(d) GROUP BY ALL"
    )


#: Per-content and all-content startups by dimension: table, keys.
_DIM_TABLES = (
    ("agg_startup_dim", ("day", "content_id", "dim", "value", "startup_bin")),
    ("startup_dim_day", ("day", "dim", "value", "startup_bin")),
)


def _fold_startup_dims(cur: duckdb.DuckDBPyConnection, where: str, insert: bool = False) -> None:
    """Add the startups of the facts rows ``where`` selects to agg_startup_dim and startup_dim_day
    (``insert``: the tables are empty, no day to merge with)."""
    cur.execute(f"CREATE OR REPLACE TEMP TABLE tail_sdim AS {startup_dims_select(where)}")
    for table, keys in _DIM_TABLES:
        select = f"SELECT {', '.join(keys)}, sum(startups) AS startups FROM tail_sdim GROUP BY ALL"
        if insert:
            cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM ({select}) ORDER BY day")
        else:
            _merge(cur, table, "day", keys, ("startups",), select)
    cur.execute("DROP TABLE tail_sdim")


def startups_select(where: str) -> str:
    """agg_startup rows of the facts rows ``where`` selects (startups are credited at ``t``)."""
    return (
        "SELECT time_bucket(INTERVAL '1 hour', t, 'UTC') AS hour, content_id, startup_bin, sum(startups) AS startups "
        f"FROM facts WHERE ({where}) AND startups <> 0 GROUP BY ALL"
    )


def ensure_state(cur: duckdb.DuckDBPyConnection, had: set[str] | None = None) -> None:
    """Create the state row. A data dir from before the watermark had per-commit rollups of
    agg_hour/agg_day only: they are dropped and rebuilt from facts by the next ``roll``.
    A dir from before ``ws_hour_dim`` (``had`` lacks it) gets its ws_* marked invalid: queries
    use agg_* until the next ``roll`` rebuilds ws_* (ws_hour_dim included)."""
    if _row(cur, "SELECT count(*) FROM rollup_state")[0]:
        if had is not None and "ws_hour_dim" not in had:
            invalidate_ws(cur)
        if had is not None and "agg_startup" not in had:
            _backfill_startups(cur)
        if had is not None and "startup_hour" not in had:
            _backfill_all_content(cur)
        if had is not None and not {"agg_startup_dim", "startup_dim_day"} <= had:
            # from facts: ~65 s at 100M events, so not at open (serve would not answer meanwhile)
            cur.execute(f"INSERT OR IGNORE INTO rollup_pending VALUES ('{STARTUP_DIMS_PENDING}')")
        return
    with _transaction(cur):
        if _row(cur, "SELECT count(*) FROM facts")[0]:
            for table in ROLLUPS:
                cur.execute(f"DELETE FROM {table}")
        cur.execute("INSERT INTO rollup_state VALUES (1, 0, true)")


def _backfill_startups(cur: duckdb.DuckDBPyConnection) -> None:
    """A file from before agg_startup: fill it from the facts already rolled up (``[0, wm)``)."""
    with _transaction(cur):
        wm = state(cur)[0]
        cur.execute(f"INSERT INTO agg_startup BY NAME SELECT * FROM ({startups_select(f'rowid < {wm}')}) ORDER BY hour")


#: rollup_pending's name for agg_startup_dim and startup_dim_day (plans read facts while it is there).
STARTUP_DIMS_PENDING = "startup_dims"


def pending(cur: duckdb.DuckDBPyConnection) -> set[str]:
    """The rollups still to fill (rollup_pending)."""
    return {r[0] for r in cur.execute("SELECT name FROM rollup_pending").fetchall()}


def _backfill_startup_dims(cur: duckdb.DuckDBPyConnection) -> None:
    """A file from before agg_startup_dim / startup_dim_day: fill them from facts' startup rows
    (``[0, wm)``), a month of UTC days at a time (bounds memory), within ``roll``'s transaction."""
    wm = state(cur)[0]
    for table, _ in _DIM_TABLES:
        cur.execute(f"DELETE FROM {table}")
    lo, hi = _row(cur, f"SELECT epoch_ms(min(t)), epoch_ms(max(t)) FROM facts WHERE rowid < {wm} AND startups <> 0")
    if lo is not None:
        step = 30 * DAY_MS
        for a in range(lo // DAY_MS * DAY_MS, hi + 1, step):
            span = f"t >= make_timestamptz({a * 1000}) AND t < make_timestamptz({(a + step) * 1000})"
            _fold_startup_dims(cur, f"rowid < {wm} AND {span}", insert=True)


def _backfill_all_content(cur: duckdb.DuckDBPyConnection) -> None:
    """A file from before startup_day / startup_hour: fill them from agg_startup (``[0, wm)``)."""
    with _transaction(cur):
        _all_content(cur, "agg_startup", insert=True)


def _all_content(cur: duckdb.DuckDBPyConnection, src: str, insert: bool = False) -> None:
    """Add the rows of ``src`` (agg_startup's shape) to startup_hour and startup_day, summed over content."""
    hour = f"SELECT hour, startup_bin, sum(startups) AS startups FROM {src} GROUP BY ALL"
    day = (
        f"SELECT time_bucket(INTERVAL '1 day', hour, 'UTC') AS day, startup_bin, sum(startups) AS startups "
        f"FROM {src} GROUP BY ALL"
    )
    for table, unit, select in (("startup_hour", "hour", hour), ("startup_day", "day", day)):
        if insert:  # the table is empty: no unit to merge with
            cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM ({select}) ORDER BY {unit}")
        else:
            _merge(cur, table, unit, (unit, "startup_bin"), ("startups",), select)


def state(cur: duckdb.DuckDBPyConnection) -> tuple[int, bool]:
    got = cur.execute("SELECT wm, ws_valid FROM rollup_state WHERE id = 1").fetchone()
    return (int(got[0]), bool(got[1])) if got else (0, False)


def invalidate_ws(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute("UPDATE rollup_state SET ws_valid = false WHERE id = 1")


def roll(cur: duckdb.DuckDBPyConnection) -> int:
    """Fold facts ``[wm, count)`` into the rollups (and rebuild ws_* if invalid); rows folded."""
    wm, ws_valid = state(cur)
    n = int(_row(cur, "SELECT count(*) FROM facts")[0])
    if n > wm:
        tail = f"rowid >= {wm} AND rowid < {n}"
        if n - wm <= SLICE_ROWS:
            _fold(cur, tail, ws_valid)
        else:  # a big tail (a copy, an old data dir): a week of UTC days at a time bounds memory
            lo, hi = _row(cur, f"SELECT epoch_ms(min(t)), epoch_ms(max(t)) FROM facts WHERE {tail}")
            for a in range(lo // DAY_MS * DAY_MS, hi + 1, 7 * DAY_MS):
                # the week is the rows' own time t (each row once), also in the half keyed by imp_t
                _fold(
                    cur,
                    f"{tail} AND t >= make_timestamptz({a * 1000}) AND t < make_timestamptz({(a + 7 * DAY_MS) * 1000})".replace(
                        "{", "{{"
                    ).replace("}", "}}"),
                    ws_valid,
                )
        cur.execute(f"UPDATE rollup_state SET wm = {n} WHERE id = 1")
    if not ws_valid:
        rebuild_ws(cur, n)
    if STARTUP_DIMS_PENDING in pending(cur):  # after the fold: [0, n) from facts, the tables replaced
        _backfill_startup_dims(cur)
        cur.execute(f"DELETE FROM rollup_pending WHERE name = '{STARTUP_DIMS_PENDING}'")
    return n - wm


def _fold(cur: duckdb.DuckDBPyConnection, tail: str, ws_valid: bool) -> None:
    """Fold the facts rows selected by ``tail`` (a WHERE condition, ``credited``'s form) into every rollup."""
    dims = ", ".join(ROLLUP_DIMENSIONS)
    src = credited(tail)
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE tail_hour AS SELECT time_bucket(INTERVAL '1 hour', t, 'UTC') AS hour, "
        f"content_id, {_S4} FROM {src} GROUP BY ALL"
    )
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE tail_full AS SELECT time_bucket(INTERVAL '1 day', t, 'UTC') AS day, "
        f"content_id, {dims}, {_S4} FROM {src} GROUP BY ALL"
    )
    by_dim = " UNION ALL ".join(
        f"SELECT day, content_id, '{d}' AS dim, {d} AS value, {_S4} FROM tail_full GROUP BY ALL"
        for d in ROLLUP_DIMENSIONS
    )
    cur.execute(f"CREATE OR REPLACE TEMP TABLE tail_day AS {by_dim}")
    if ws_valid:
        _hour_dims(cur, src, "tail_hdim")
    _merge(cur, "agg_hour", "hour", ("hour", "content_id"), SUMS4, "SELECT * FROM tail_hour")
    _merge(
        cur,
        "agg_cday",
        "day",
        ("day", "content_id"),
        SUMS4,
        f"SELECT time_bucket(INTERVAL '1 day', hour, 'UTC') AS day, content_id, {_S4} FROM tail_hour GROUP BY ALL",
    )
    _merge(cur, "agg_day", "day", ("day", "content_id", "dim", "value"), SUMS4, "SELECT * FROM tail_day")
    cur.execute(f"CREATE OR REPLACE TEMP TABLE tail_startup AS {startups_select(tail.format(t='t'))}")
    _merge(cur, "agg_startup", "hour", STARTUP_KEYS, ("startups",), "SELECT * FROM tail_startup")
    _all_content(cur, "tail_startup")
    _fold_startup_dims(cur, tail.format(t="t"))
    if ws_valid:
        _fold_ws(cur, "tail_hour", "tail_day", "tail_full")
        _fold_hour_dims(cur, "tail_hdim")
    for t in ("tail_hour", "tail_full", "tail_day", "tail_hdim", "tail_startup"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")


def _hour_dims(cur: duckdb.DuckDBPyConnection, src: str, into: str) -> None:
    """``into``: credits of ``src`` (a ``credited`` relation) per UTC hour, content, HOUR_DIMS dim and value."""
    dims = ", ".join(HOUR_DIMS)
    value = "CASE k.d " + " ".join(f"WHEN '{d}' THEN f.{d}" for d in HOUR_DIMS) + " END"
    keys = ", ".join(f"('{d}')" for d in HOUR_DIMS)
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT f.hour, f.content_id, k.d AS dim, {value} AS value, "
        f"{', '.join(f'sum(f.{c}) AS {c}' for c in SUMS4)} FROM (SELECT time_bucket(INTERVAL '1 hour', t, 'UTC') AS hour, "
        f"content_id, {dims}, {_S4} FROM {src} GROUP BY ALL) f, (VALUES {keys}) k(d) GROUP BY ALL"
    )


def _fold_hour_dims(cur: duckdb.DuckDBPyConnection, src: str) -> None:
    _merge(
        cur,
        "ws_hour_dim",
        "hour",
        ("hour", "project_id", "dim", "value"),
        SUMS5,
        f"SELECT r.hour, c.project_id, r.dim, r.value, {_R4}, {_VD} FROM {src} r "
        "LEFT JOIN content c ON c.id = r.content_id GROUP BY ALL",
    )


def _fold_ws(cur: duckdb.DuckDBPyConnection, hour_src: str, day_src: str, page_src: str) -> None:
    join = "r LEFT JOIN content c ON c.id = r.content_id"
    _merge(
        cur,
        "ws_hour",
        "hour",
        ("hour", "project_id"),
        SUMS5,
        f"SELECT r.hour, c.project_id, {_R4}, {_VD} FROM {hour_src} {join} GROUP BY ALL",
    )
    _merge(
        cur,
        "ws_day",
        "day",
        ("day", "project_id", "dim", "value"),
        SUMS5,
        f"SELECT r.day, c.project_id, r.dim, r.value, {_R4}, {_VD} FROM {day_src} {join} GROUP BY ALL",
    )
    _merge(
        cur,
        "ws_page",
        "day",
        ("day", "project_id", "domain", "page"),
        SUMS5,
        f"SELECT r.day, c.project_id, r.domain, r.page, {_R4}, {_VD} FROM {page_src} {join} GROUP BY ALL",
    )


def rebuild_ws(cur: duckdb.DuckDBPyConnection, n: int) -> None:
    """Rebuild ws_* with the catalog as it is now (after a content's project or duration changed)."""
    for table in ("ws_hour", "ws_day", "ws_page", "ws_hour_dim"):
        cur.execute(f"DELETE FROM {table}")
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE all_pages AS SELECT time_bucket(INTERVAL '1 day', t, 'UTC') AS day, "
        f"content_id, domain, page, {_S4} FROM {credited(f'rowid < {n}')} GROUP BY ALL"
    )
    _fold_ws(cur, "agg_hour", "agg_day", "all_pages")
    cur.execute("DROP TABLE all_pages")
    if n:  # a week of UTC days at a time bounds memory
        lo, hi = _row(cur, f"SELECT epoch_ms(min(t)), epoch_ms(max(t)) FROM facts WHERE rowid < {n}")
        for a in range(lo // DAY_MS * DAY_MS, hi + 1, 7 * DAY_MS):
            week = (
                f"rowid < {n} AND t >= make_timestamptz({a * 1000}) AND t < make_timestamptz({(a + 7 * DAY_MS) * 1000})"
            )
            _hour_dims(cur, credited(week.replace("{", "{{").replace("}", "}}")), "all_hdim")
            _fold_hour_dims(cur, "all_hdim")
            cur.execute("DROP TABLE all_hdim")
    cur.execute("UPDATE rollup_state SET ws_valid = true WHERE id = 1")


def _merge(
    cur: duckdb.DuckDBPyConnection, table: str, unit: str, keys: tuple[str, ...], sums: tuple[str, ...], select: str
) -> None:
    """Add ``select``'s rows to ``table``: units already present are re-summed, new ones appended
    in time order (so zone maps prune by time)."""
    cur.execute(f"CREATE OR REPLACE TEMP TABLE new_rows AS {select}")
    lo, hi = _row(cur, f"SELECT min({unit}), max({unit}) FROM new_rows")
    if lo is None:
        cur.execute("DROP TABLE new_rows")
        return
    touched = f"{unit} BETWEEN $lo AND $hi AND {unit} IN (SELECT DISTINCT {unit} FROM new_rows)"
    params = {"lo": lo, "hi": hi}
    cols = ", ".join((*keys, *sums))
    if _row(cur, f"SELECT count(*) FROM {table} WHERE {touched}", params)[0]:
        summed = ", ".join(f"sum({c}) AS {c}" for c in sums)
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE merged AS SELECT {', '.join(keys)}, {summed} FROM "
            f"(SELECT {cols} FROM {table} WHERE {touched} UNION ALL SELECT {cols} FROM new_rows) GROUP BY ALL",
            params,
        )
        cur.execute(f"DELETE FROM {table} WHERE {touched}", params)
        cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM merged ORDER BY {unit}")
        cur.execute("DROP TABLE merged")
    else:
        cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_rows ORDER BY {unit}")
    cur.execute("DROP TABLE new_rows")
