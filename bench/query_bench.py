"""Dashboard queries at N stored events: the store's answers vs the same question as raw SQL.

Input: data dirs made by ``bench/datagen.py`` (1M, 10M, 100M events over a year ending
2026-11-01), or ``--build N`` to generate into a temporary dir first. For each dir, each
dashboard question over October 2026 (and the quality-of-experience ones: the overview's
total and days with startup median / p90 and rebuffer ratio, and browsers by startup time) is asked through ``query.analytics`` (what the API
serves: rollups, edges and tail from facts) and as raw SQL over the ``facts`` table of the
same DuckDB file (one GROUP BY per figure, joined to content for durations); p50 / p95 of
``--runs`` runs after one warm-up, the rollup tables each answer used, and the growth of
the p50 from the first to the last size.

    python bench/query_bench.py /work/benchdata/1M /work/benchdata/10M /work/benchdata/100M
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from watchdepth.catalog.service import Catalog  # noqa: E402
from watchdepth.query import analytics  # noqa: E402
from watchdepth.query.periods import Period  # noqa: E402
from watchdepth.store.duckdb import DuckDBStore  # noqa: E402
from watchdepth.store.duckdb import store as duckdb_store  # noqa: E402

START = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
END = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
BERLIN_START, BERLIN_END = START - 2 * 3_600_000, END - 3_600_000  # Oct 2026 in Europe/Berlin

_W = "t >= make_timestamptz({s}::BIGINT * 1000) AND t < make_timestamptz({e}::BIGINT * 1000)"
_SUMS = "sum(player_loads), sum(unique_views), sum(views), sum(watch_time)"
_VD = "sum(f.views * coalesce(c.duration, 0))"


def _raw_overview(s: int, e: int, tz: str) -> list[str]:
    w = _W.format(s=s, e=e)
    out = [
        f"SELECT {_SUMS}, {_VD} FROM facts f LEFT JOIN content c ON c.id = f.content_id WHERE {w}",
        f"SELECT time_bucket(INTERVAL '1 day', t, '{tz}') b, {_SUMS} FROM facts WHERE {w} GROUP BY 1",
    ]
    out += [
        f"SELECT {d}, sum(views) v, sum(player_loads) FROM facts WHERE {w} GROUP BY 1 ORDER BY v DESC LIMIT 10"
        for d in ("country", "platform", "os", "browser")
    ]
    return out


_M = _W.format(s=START, e=END)
RAW: dict[str, list[str]] = {
    "overview of a month": _raw_overview(START, END, "UTC"),
    "overview, Berlin month": _raw_overview(BERLIN_START, BERLIN_END, "Europe/Berlin"),
    "top 25 videos": [
        f"SELECT content_id, sum(views) v, {_SUMS}, {_VD} FROM facts f LEFT JOIN content c "
        f"ON c.id = f.content_id WHERE {_M} GROUP BY 1 ORDER BY v DESC LIMIT 25"
    ],
    "by day": [
        f"SELECT time_bucket(INTERVAL '1 day', t, 'UTC') b, {_SUMS}, {_VD} FROM facts f LEFT JOIN content c "
        f"ON c.id = f.content_id WHERE {_M} GROUP BY 1 ORDER BY 1"
    ],
    "by country": [
        f"SELECT country, sum(views) v, {_SUMS}, {_VD} FROM facts f LEFT JOIN content c "
        f"ON c.id = f.content_id WHERE {_M} GROUP BY 1 ORDER BY v DESC LIMIT 25"
    ],
    "referrers (domains, pages)": [
        f"SELECT domain, {_SUMS} FROM facts WHERE {_M} GROUP BY 1",
        f"SELECT domain, page, {_SUMS} FROM facts WHERE {_M} GROUP BY 1, 2",
    ],
}


# quality of experience (docs/metrics.md §7): the startup percentiles over the startup rows, the
# sums at t, the exits at the first play's time (imp_t)
_QS = "sum(stalls), sum(stall_ms), sum(failures), sum(player_loads), sum(watch_time)"
_QP = "quantile_cont(startup_bin::INTEGER, [0.5, 0.9]) FILTER (WHERE startups > 0)"
_QE = "sum(exits) FROM facts WHERE imp_t >= make_timestamptz({s}::BIGINT * 1000) AND imp_t < make_timestamptz({e}::BIGINT * 1000)"
RAW["quality: overview of a month"] = _raw_overview(START, END, "UTC") + [
    f"SELECT {_QP}, {_QS} FROM facts WHERE {_M}",
    f"SELECT time_bucket(INTERVAL '1 day', t, 'UTC') b, {_QP}, {_QS} FROM facts WHERE {_M} GROUP BY 1",
    "SELECT " + _QE.format(s=START, e=END),
]
RAW["quality: by browser (startup time)"] = [
    f"SELECT browser, {_QP}, {_QS} FROM facts WHERE {_M} GROUP BY 1",
    "SELECT browser, " + _QE.format(s=START, e=END) + " GROUP BY 1",
]
QUALITY_ASKED = (
    "startup_time",
    "startup_time_p90",
    "rebuffer_ratio",
    "buffering_count",
    "failure_rate",
    "exits_before_start",
)


def questions(store: DuckDBStore, catalog: Catalog) -> dict[str, Callable[[], Any]]:
    month = analytics.Scope(Period(START, END, "UTC"))
    berlin = analytics.Scope(Period(BERLIN_START, BERLIN_END, "Europe/Berlin"))
    tr = analytics.TableRequest
    return {
        "overview of a month": lambda: analytics.overview(store, month, "day", 0),
        "overview, Berlin month": lambda: analytics.overview(store, berlin, "day", 0),
        "top 25 videos": lambda: analytics.table(
            store, catalog, month, tr(("video_id",), order=(("views", True),), per_page=25)
        ),
        "by day": lambda: analytics.table(store, catalog, month, tr(("date",), group_time="day", per_page=31)),
        "by country": lambda: analytics.table(
            store, catalog, month, tr(("country",), order=(("views", True),), per_page=25)
        ),
        "referrers (domains, pages)": lambda: analytics.referrers(store, month, (), 1, 25),
        # the overview's total and each day carry the §7 fields (with the views and watch time)
        "quality: overview of a month": lambda: analytics.overview(store, month, "day", 0, ("total", "timeline")),
        "quality: by browser (startup time)": lambda: analytics.table(
            store, catalog, month, tr(("browser",), order=(("startup_time", True),), per_page=25, fields=QUALITY_ASKED)
        ),
    }


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def bench_dir(
    path: Path, runs: int, raw_runs: int
) -> tuple[dict[str, tuple[float, float, float, float, str]], dict[str, Any]]:
    db = path / "watchdepth.duckdb"
    store = DuckDBStore(db)
    t = time.perf_counter()
    store.maintain()  # a dir straight from datagen is rolled up (a no-op then); an older dir is migrated
    print(f"{path}: maintain before the runs took {time.perf_counter() - t:.1f} s", flush=True)
    cur = store._cur()
    info = {
        "events": cur.execute("SELECT count(*) FROM events").fetchone()[0],  # type: ignore[index]
        "facts": cur.execute("SELECT count(*) FROM facts").fetchone()[0],  # type: ignore[index]
        "size_gb": db.stat().st_size / 1e9,
        "label": path.name,
    }
    catalog = Catalog(store)
    sources: list[str] = []
    real_plan = duckdb_store.plan_aggregate

    def recording(*a: Any, **kw: Any) -> Any:
        plan = real_plan(*a, **kw)
        sources.append(plan.source)
        return plan

    real_tops = duckdb_store.plan_tops

    def recording_tops(*a: Any, **kw: Any) -> Any:
        plan = real_tops(*a, **kw)
        if plan is not None:
            sources.append(plan.source)
        return plan

    duckdb_store.plan_aggregate = recording  # type: ignore[assignment]
    duckdb_store.plan_tops = recording_tops  # type: ignore[assignment]
    out = {}
    for name, fn in questions(store, catalog).items():
        sources.clear()
        fn()
        used = "+".join(sorted(set(sources)))
        ours = timed(fn, runs)
        raw = timed(lambda r=RAW[name]: [cur.execute(sql).fetchall() for sql in r], raw_runs)
        out[name] = (*ours, *raw, used)
    duckdb_store.plan_aggregate = real_plan  # type: ignore[assignment]
    duckdb_store.plan_tops = real_tops  # type: ignore[assignment]
    store.close()
    return out, info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="*", type=Path, help="data dirs from bench/datagen.py")
    ap.add_argument("--build", type=int, action="append", default=[], help="generate N events into a temp dir first")
    ap.add_argument("--runs", type=int, default=15, help="timed runs of each question through the store")
    ap.add_argument("--raw-runs", type=int, default=5, help="timed runs of the raw SQL (slow at 100M)")
    args = ap.parse_args()
    dirs = list(args.dirs)
    for n in args.build:
        from bench import datagen

        d = Path(tempfile.mkdtemp())
        store = DuckDBStore(d / "watchdepth.duckdb")
        datagen.generate(store, n)
        store.close()
        dirs.append(d)
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    results = []
    for d in dirs:
        res, info = bench_dir(d, args.runs, args.raw_runs)
        results.append((d, res, info))
        print(f"{d}: {info['events']:,} events, {info['facts']:,} facts, {info['size_gb']:.2f} GB", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print()
    print("| question | data | store p50 | store p95 | raw SQL p50 | raw SQL p95 | rollups used |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in RAW:
        for _, res, info in results:
            a50, a95, r50, r95, used = res[name]
            print(f"| {name} | {info['label']} | {a50:.1f} | {a95:.1f} | {r50:.1f} | {r95:.1f} | {used} |")
    if len(results) > 1:
        print()
        first, last = results[0], results[-1]
        print(
            f"growth of the p50, {first[2]['label']} -> {last[2]['label']}: "
            + ", ".join(
                f"{name} {last[1][name][0] / first[1][name][0]:.2f}x (raw {last[1][name][2] / first[1][name][2]:.1f}x)"
                for name in RAW
            )
        )
    print("(milliseconds; store = query.analytics over DuckDBStore, raw = the same figures as SQL over facts)")


if __name__ == "__main__":
    main()
