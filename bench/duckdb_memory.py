"""What in DuckDB grows under the soak's traffic? Three standalone experiments, no server.

- ``written``: 1,500 rows/s of an events-like table into a file, a checkpoint every 30 s of rows,
  no reads. Prints DuckDB's cache of the file (``duckdb_memory()``'s ``BASE_TABLE``) against the
  file's size: does a checkpoint leave what it wrote in the cache?
- ``merge``: the rollups' pattern each maintain (``rollup._merge``): delete today's rows, insert
  them re-summed, checkpoint, read. Does the table, its cache or malloc grow?
- ``aggregates``: one grouped aggregate, repeated on one cursor (the API reads' shape). glibc
  malloc in use per 4,000 queries; ``--set threads=1`` or ``--set memory_limit=200MB`` to compare.

    python bench/duckdb_memory.py written|merge|aggregates [--queries N] [--set NAME=VALUE ...]

Results and what they mean: docs/benchmarks.md, "Soak", "Where the growth is".
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.soak import MB, malloc_mb  # noqa: E402  (glibc malloc's account, as the soak reads it)


def cache_mb(con: duckdb.DuckDBPyConnection) -> float:
    return (
        float(con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'").fetchone()[0])
        / MB
    )  # type: ignore[index]


def written(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute(
        "CREATE TABLE events (log_seq BIGINT, t TIMESTAMPTZ, session_id VARCHAR, load_id VARCHAR, content_id VARCHAR,"
        " type VARCHAR, position DOUBLE, country VARCHAR, browser VARCHAR, page VARCHAR, seq BIGINT)"
    )
    seq = 0
    for minute in range(1, 21):
        for batch in range(60):  # a minute at 1,500 rows/s, in batches of a second
            con.execute(
                "INSERT INTO events SELECT $s + i, now() + i * INTERVAL 1 MILLISECOND, 's' || (($s + i) // 200),"
                " 'l' || (($s + i) // 200), 'video' || (i % 50), 'progress', i * 0.5, 'DE', 'Chrome',"
                " 'https://example.com/p/' || (i % 100), i FROM range(1500) r(i)",
                {"s": seq},
            )
            seq += 1500
            if batch % 30 == 29:
                con.execute("CHECKPOINT")
        print(
            f"minute {minute:2}: cache {cache_mb(con):5.1f} MB, file {path.stat().st_size / MB:5.1f} MB, malloc in use {malloc_mb()['malloc_used_mb']:5.1f} MB",
            flush=True,
        )


def merge(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute("CREATE TABLE r (day DATE, content_id VARCHAR, dim VARCHAR, value VARCHAR, views BIGINT, wt DOUBLE)")
    con.execute(  # 300 days of history, 5,000 rows a day
        "INSERT INTO r SELECT DATE '2026-01-01' + (i // 5000)::INT, 'v' || (i % 50), 'country', 'c' || (i % 100), 1, 1.0 FROM range(1500000) t(i)"
    )
    con.execute("CHECKPOINT")
    today = "DATE '2026-12-05'"
    for n in range(1, 121):  # 120 maintains: an hour at one every 30 s
        con.execute("BEGIN")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE merged AS SELECT day, content_id, dim, value, sum(views) + 1 AS views, sum(wt) + 1 AS wt FROM r WHERE day = {today} GROUP BY ALL"
        )
        if not con.execute("SELECT count(*) FROM merged").fetchone()[0]:  # type: ignore[index]
            con.execute(
                f"INSERT INTO merged SELECT {today}, 'v' || (i % 50), 'country', 'c' || (i % 100), 1, 1.0 FROM range(5000) t(i)"
            )
        con.execute(f"DELETE FROM r WHERE day = {today}")
        con.execute("INSERT INTO r SELECT * FROM merged ORDER BY day")
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
        con.execute("SELECT sum(views) FROM r WHERE day >= DATE '2026-11-01'").fetchall()
        if n % 20 == 0:
            groups = con.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('r')").fetchone()[0]  # type: ignore[index]
            print(
                f"merge {n:3}: cache {cache_mb(con):4.1f} MB, file {path.stat().st_size / MB:4.1f} MB, row groups {groups}, malloc in use {malloc_mb()['malloc_used_mb']:5.1f} MB",
                flush=True,
            )


def aggregates(con: duckdb.DuckDBPyConnection, queries: int) -> None:
    con.execute(
        "CREATE TABLE f AS SELECT (i % 500)::VARCHAR AS c, (i % 7)::VARCHAR AS d, i * 1.0 AS w FROM range(200000) t(i)"
    )
    cur = con.cursor()
    base, began = malloc_mb()["malloc_used_mb"], time.perf_counter()
    for n in range(1, queries + 1):
        cur.execute("SELECT c, d, sum(w), count(*) FROM f GROUP BY ALL ORDER BY 3 DESC LIMIT 25").fetchall()
        if n % 4000 == 0:
            print(
                f"{n:6} queries: malloc in use +{malloc_mb()['malloc_used_mb'] - base:5.1f} MB, {time.perf_counter() - began:4.0f} s",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiment", choices=("written", "merge", "aggregates"))
    ap.add_argument("--queries", type=int, default=20000, help="aggregates: how many queries")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a DuckDB setting, e.g. threads=1")
    args = ap.parse_args()
    if not malloc_mb():
        raise SystemExit("needs glibc 2.33+ (mallinfo2)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.duckdb"
        con = duckdb.connect(str(path))
        for setting in args.set:
            name, _, value = setting.partition("=")
            con.execute(f"SET {name} = ?", [value])
        print(f"DuckDB {duckdb.__version__}; {', '.join(args.set) or 'default settings'}", flush=True)
        experiments = {
            "written": lambda: written(con, path),
            "merge": lambda: merge(con, path),
            "aggregates": lambda: aggregates(con, args.queries),
        }
        experiments[args.experiment]()
        con.close()


if __name__ == "__main__":
    main()
