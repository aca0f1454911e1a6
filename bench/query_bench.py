"""Dashboard queries at N stored events: rollup-backed store queries vs the same question in raw SQL.

Builds a DuckDB store whose facts (≈0.8 per event: loads, impressions, views, watch-time pieces)
are synthesised with SQL over 30 days, 1,000 videos, 20 countries, 60 pages; then rolls them up
exactly as ``maintain`` does, and times each dashboard question (median of 7) both through
``DuckDBStore.aggregate`` and as one raw SQL query over the unrolled ``facts`` table.

    python bench/query_bench.py 1000000 10000000
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from watchdepth.store.base import Aggregate
from watchdepth.store.duckdb import DuckDBStore

DAY = 86_400_000
END = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp() * 1000)
START = END - 30 * DAY


def build(n_events: int) -> DuckDBStore:
    store = DuckDBStore(Path(tempfile.mkdtemp()) / "bench.duckdb")
    cur = store._cur()
    n_facts = int(n_events * 0.8)
    cur.execute(f"""
        INSERT INTO content SELECT 'v' || i, 'video', 'p' || (i % 5), NULL, 'Video ' || i, 60 + (i % 50) * 30, NULL, now()
        FROM range(1000) t(i)""")
    cur.execute(f"""
        INSERT INTO facts SELECT
            make_timestamptz(({START} + (hash(i) % {30 * DAY}))::BIGINT * 1000),
            'v' || (hash(i * 7) % 1000), 's' || (i // 20), 'l' || (i // 20),
            (i % 20 = 0)::UTINYINT, (i % 20 = 1)::UTINYINT, (i % 40 = 2)::UTINYINT,
            CASE WHEN i % 20 > 2 THEN 5.0 ELSE 0 END, NULL, NULL,
            ['RU','US','DE','FR','GB','BR','IN','JP','KZ','UA','PL','TR','IT','ES','NL','CA','AU','MX','ID','KR'][(1 + hash(i // 20) % 20)::BIGINT],
            ['desktop','smartphone','tablet','tv'][(1 + hash(i // 20 + 1) % 4)::BIGINT],
            ['Windows','macOS','Android','iOS','Linux'][(1 + hash(i // 20 + 2) % 5)::BIGINT],
            ['Chrome','Safari','Firefox','Edge','Yandex Browser'][(1 + hash(i // 20 + 3) % 5)::BIGINT],
            'site' || (hash(i // 20 + 4) % 6) || '.com',
            'site' || (hash(i // 20 + 4) % 6) || '.com/page' || (hash(i // 20 + 5) % 10),
            NULL
        FROM range({n_facts}) t(i)""")
    cur.execute("INSERT INTO agg_hour SELECT date_trunc('hour', t), content_id, sum(player_loads), sum(unique_views), "
                "sum(views), sum(watch_time) FROM facts GROUP BY ALL")
    for dim in ("country", "platform", "os", "browser", "domain", "page"):
        cur.execute(f"INSERT INTO agg_day SELECT date_trunc('day', t), content_id, '{dim}', {dim}, sum(player_loads), "
                    f"sum(unique_views), sum(views), sum(watch_time) FROM facts GROUP BY ALL")
    cur.execute("CHECKPOINT")
    return store


QUESTIONS = {
    "overview of a month": (Aggregate(START, END), "SELECT sum(player_loads), sum(unique_views), sum(views), sum(watch_time) FROM facts WHERE t >= $s AND t < $e"),
    "top 25 videos": (Aggregate(START, END, dims=("content_id",), order=(("views", True),), limit=25),
                      "SELECT content_id, sum(views) v FROM facts WHERE t >= $s AND t < $e GROUP BY 1 ORDER BY v DESC LIMIT 25"),
    "by day": (Aggregate(START, END, bucket="day"), "SELECT date_trunc('day', t), sum(views), sum(player_loads) FROM facts WHERE t >= $s AND t < $e GROUP BY 1"),
    "by country": (Aggregate(START, END, dims=("country",)), "SELECT country, sum(views), sum(player_loads) FROM facts WHERE t >= $s AND t < $e GROUP BY 1"),
    "referrers (domain, page)": (Aggregate(START, END, dims=("page",)), "SELECT domain, page, sum(views), sum(player_loads) FROM facts WHERE t >= $s AND t < $e GROUP BY 1, 2"),
}


def median_ms(fn: object, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1_000_000]
    results: dict[str, list[tuple[float, float]]] = {q: [] for q in QUESTIONS}
    for n in sizes:
        t = time.perf_counter()
        store = build(n)
        print(f"built {n:,} events in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        cur = store._cur()
        params = {"s": datetime.fromtimestamp(START / 1000, timezone.utc), "e": datetime.fromtimestamp(END / 1000, timezone.utc)}
        for name, (agg, raw) in QUESTIONS.items():
            ours = median_ms(lambda a=agg: store.aggregate(a))
            plain = median_ms(lambda r=raw: cur.execute(r, params).fetchall())
            results[name].append((ours, plain))
        store.close()
    head = "".join(f" | {n:>11,} store | raw SQL" for n in sizes)
    print(f"{'question':26}{head}")
    for name, row in results.items():
        print(f"{name:26}" + "".join(f" | {a:14.1f} | {b:7.1f}" for a, b in row))
    print("(milliseconds, median of 7; store = rollup-backed DuckDBStore.aggregate, raw = same question over facts)")


if __name__ == "__main__":
    main()
