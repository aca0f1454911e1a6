"""ClickHouse (chDB) next to DuckDB: ingest through ``write_batch``, bytes per event, dashboard queries.

Input: ``insert`` builds realistic write batches (events and facts from ``bench/datagen.py``'s
generator) and times ``Store.write_batch`` into a fresh chDB database and a fresh DuckDB file,
at a given group-commit size (after one untimed warm-up batch). ``query DIR...`` takes data dirs made by ``bench/datagen.py``,
copies each into chDB with ``watchdepth copy`` (timed; skipped when already there), then asks
the dashboard questions of ``bench/query_bench.py`` through ``query.analytics`` on both stores
(p50 / p95 of ``--runs`` after one warm-up, one question on both stores before the next) and
checks the two stores' answers are equal, and prints bytes on disk per event for both.
``replicate`` builds a 100M chDB database from the 10M one inside ClickHouse, as
``datagen.py --replicate`` does in DuckDB (``--check DIR`` compares totals with that dir).
Output: markdown tables on stdout. chDB hosts one engine per process: every size lives in
its own database of one chDB directory (``--chdb``).

    python bench/clickhouse_bench.py insert --events 200000 --batch 100 --batch 1000
    python bench/clickhouse_bench.py query /work/benchdata/1M /work/benchdata/10M --chdb /work/benchdata/chdb
    python bench/clickhouse_bench.py replicate --chdb /work/benchdata/chdb --source e10M --target e100M --times 10 \
        --check /work/benchdata/100M
    python bench/clickhouse_bench.py query /work/benchdata/100M --chdb /work/benchdata/chdb --duck-copy /work/benchdata/duckcopy
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from bench import datagen, query_bench  # noqa: E402
from watchdepth.catalog.service import Catalog  # noqa: E402
from watchdepth.collect.event import Event  # noqa: E402
from watchdepth.sessionize import Credit  # noqa: E402
from watchdepth.store import rows  # noqa: E402
from watchdepth.store.base import WriteBatch  # noqa: E402
from watchdepth.store.clickhouse import ClickHouseStore, Target  # noqa: E402
from watchdepth.store.duckdb import DuckDBStore  # noqa: E402


def load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


# -- insert ---------------------------------------------------------------------------------


def batches(n_events: int, size: int) -> list[WriteBatch]:
    """``n_events`` generated events and their facts, cut into write batches of ``size`` events."""
    cat = datagen.catalog(1)
    world = datagen.World(1, cat["content"])
    rng = np.random.default_rng(1)
    n_loads = int(n_events / datagen.MEAN_K * 1.02) + 10
    ev, fa = datagen.chunk(world, rng, 0, n_loads, datagen.START_MS, datagen.START_MS + 30 * datagen.DAY_MS, 1)
    ev = ev.slice(0, n_events)
    evs = ev.to_pydict()
    for c in ("t", "received_at"):
        evs[c] = ev.column(c).cast(pa.int64()).to_pylist()
    events = [Event(**{attr: evs[col][i] for attr, col, _ in rows.EVENT_COLUMNS}) for i in range(ev.num_rows)]
    fas = fa.to_pydict()
    fas["t"] = fa.column("t").cast(pa.int64()).to_pylist()
    credits = [
        Credit(
            fas["t"][i],
            fas["content_id"][i],
            fas["session_id"][i],
            fas["load_id"][i],
            fas["player_loads"][i],
            fas["unique_views"][i],
            fas["views"][i],
            fas["watch_time"][i],
            fas["seg_start"][i],
            fas["seg_end"][i],
            tuple(fas[d][i] for d in rows.FACT_DIMS),
        )
        for i in range(fa.num_rows)
    ]
    out = []
    n_batches = max(1, len(events) // size)
    per_fact = len(credits) / len(events)
    for b in range(n_batches):
        lo, hi = b * size, min(len(events), (b + 1) * size)
        flo, fhi = int(lo * per_fact), int(hi * per_fact)
        out.append(
            WriteBatch(events[lo:hi], evs["status"][lo:hi], evs["run"][lo:hi], evs["log_seq"][lo:hi], credits[flo:fhi])
        )
    return out


def bench_insert(n_events: int, sizes: list[int], chdb_dir: Path) -> None:
    print(f"insert, {load()}")
    print("| store | events per write_batch | batches timed | events/s (median of 3 rounds) | ms per batch |")
    print("|---|---:|---:|---:|---:|")
    for size in sizes:
        wbs = batches(n_events, size)
        n = sum(len(b.events) for b in wbs)
        for name in ("chDB", "DuckDB"):
            rates = []
            for r in range(3):
                tmp = Path(tempfile.mkdtemp())
                store: Any = (
                    ClickHouseStore(Target("chdb", f"ins{size}_{r}", path=str(chdb_dir)))
                    if name == "chDB"
                    else DuckDBStore(tmp / "w.duckdb")
                )
                store.write_batch(wbs[0])  # warm-up: the first insert creates parts and partitions
                t = time.perf_counter()
                for b in wbs[1:]:
                    store.write_batch(b)
                rates.append((n - len(wbs[0].events)) / (time.perf_counter() - t))
                store.close()
                shutil.rmtree(tmp)
            rate = sorted(rates)[1]
            print(f"| {name} | {size} | {len(wbs) - 1} | {rate:,.0f} | {size / rate * 1000:.1f} |", flush=True)
    print(f"after: {load()}")


# -- replicate ------------------------------------------------------------------------------

#: ``datagen.replicate``'s video permutation (r -> (r × 7919 + i × 1237) mod 10,000 for the
#: ids v00000..v09999; other ids unchanged) and time shift (i × 6 minutes), in ClickHouse SQL.
_NEW_CONTENT = (
    "if(match(content_id, '^v[0-9]{{5}}$') AND toUInt32(substring(content_id, 2)) < 10000, "
    "concat('v', leftPad(toString((toUInt64(substring(content_id, 2)) * 7919 + {i} * 1237) % 10000), 5, '0')), "
    "content_id)"
)
_SUMS = (
    "toInt64(sum(player_loads)) AS player_loads, toInt64(sum(unique_views)) AS unique_views, "
    "toInt64(sum(views)) AS views, sum(watch_time) AS watch_time"
)


def bench_replicate(chdb_dir: Path, source: str, target: str, times: int, check: Path | None) -> None:
    """``target`` = ``source``'s catalog and events once, its facts ``times`` times transformed
    as ``datagen.replicate`` does in DuckDB, all inside ClickHouse; rollups summed from each
    copy's facts with INSERT … SELECT … GROUP BY (SummingMergeTree adds up the copies).
    Copied rows keep ``ingest_batch`` 0: committed without a marker."""
    print(f"replicate {source} -> {target} x{times}, {load()}", flush=True)
    ch = ClickHouseStore.from_dsn(f"chdb://{chdb_dir}?database={target}")  # creates and migrates
    if ch.count("facts"):
        print(f"{target} already holds facts; drop it first (DROP DATABASE {target})", file=sys.stderr)
        raise SystemExit(1)
    started = time.perf_counter()
    for table in ("projects", "folders", "content", "tokens", "settings", "events"):
        cols = ", ".join(n for n, _ in ch.columns(table))
        ch._command(f"INSERT INTO {target}.{table} ({cols}) SELECT {cols} FROM {source}.{table}")
    events_s = time.perf_counter() - started
    print(f"  catalog and events: {events_s:.0f} s", flush=True)
    fcols = [n for n, _ in ch.columns("facts")]
    for i in range(times):
        t0 = time.perf_counter()
        repl = {"t": f"t + toIntervalMinute({i * 6})", "content_id": _NEW_CONTENT.format(i=i)}
        select = ", ".join(f"{repl[c]} AS {c}" if c in repl else c for c in fcols)
        ch._command(
            f"INSERT INTO {target}.facts ({', '.join(fcols)}) SELECT {select} FROM {source}.facts",
        )
        t1 = time.perf_counter()
        shifted = f"(SELECT {select} FROM {source}.facts)"
        ch._command(
            f"INSERT INTO {target}.agg_hour SELECT toStartOfHour(toDateTime(t, 'UTC')) AS hour, content_id, {_SUMS} "
            f"FROM {shifted} GROUP BY hour, content_id"
        )
        ch._command(
            f"INSERT INTO {target}.agg_day SELECT toStartOfDay(toDateTime(t, 'UTC')) AS day, content_id, "
            f"kv.1 AS dim, kv.2 AS value, {_SUMS} FROM {shifted} ARRAY JOIN [('country', country), "
            "('platform', platform), ('os', os), ('browser', browser), ('domain', domain), ('page', page)] AS kv "
            "GROUP BY day, content_id, dim, value"
        )
        print(
            f"  copy {i + 1}/{times}: facts {t1 - t0:.0f} s, rollups {time.perf_counter() - t1:.0f} s, "
            f"total {time.perf_counter() - started:.0f} s, {load()}",
            flush=True,
        )
    total = time.perf_counter() - started
    n_ev, n_fa = ch.count("events"), ch.count("facts")
    print(f"{target}: {n_ev:,} events, {n_fa:,} facts in {total:.0f} s ({(n_ev + n_fa) / total:,.0f} rows/s), {load()}")
    if check is not None:
        check_totals(ch, check)
    ch.close()


def check_totals(ch: ClickHouseStore, duck_dir: Path) -> None:
    """Counts and sums of facts and rollups in chDB next to the same over a DuckDB dir (read only)."""
    import duckdb

    vnum = "sum(views * CAST(substring(content_id, 2) AS BIGINT))"  # catches a wrong permutation
    q = (
        "SELECT count(*), sum(player_loads), sum(unique_views), sum(views), round(sum(watch_time), 3), "
        f"{vnum}, count(DISTINCT content_id), min(t), max(t) FROM facts WHERE content_id LIKE 'v%'"
    )
    con = duckdb.connect(str(duck_dir / "watchdepth.duckdb"), read_only=True)
    duck = tuple(con.execute(q).fetchone() or ())
    con.close()
    got = ch._run(
        q.replace("CAST(substring(content_id, 2) AS BIGINT)", "toInt64(substring(content_id, 2))")
        .replace("count(*)", "count()")
        .replace("count(DISTINCT content_id)", "uniqExact(content_id)")
    )[0]
    hour = ch._run("SELECT sum(views), round(sum(watch_time), 3) FROM agg_hour WHERE content_id LIKE 'v%'")[0]
    day = ch._run(
        "SELECT sum(views), round(sum(watch_time), 3) FROM agg_day WHERE dim = 'country' AND content_id LIKE 'v%'"
    )[0]
    names = (
        "facts",
        "player_loads",
        "unique_views",
        "views",
        "watch_time",
        "sum(views × video number)",
        "videos",
        "first t",
        "last t",
    )
    print("| facts of videos | chDB | DuckDB |\n|---|---:|---:|")
    for n, a, b in zip(names, got, duck):
        print(
            f"| {n} | {a} | {b} |{'' if str(a)[:19] == str(b)[:19] or (isinstance(a, float) and abs(a - b) < 1e-3 * max(1, abs(b))) else ' **differ**'}"
        )
    print(f"rollups (views, watch_time): agg_hour {hour}, agg_day country {day}")


# -- query ----------------------------------------------------------------------------------


def chdb_bytes(store: ClickHouseStore) -> dict[str, int]:
    got = store._run(
        "SELECT table, sum(bytes_on_disk) FROM system.parts WHERE database = {d:String} AND active GROUP BY table",
        {"d": store.database},
    )
    return {t: int(b) for t, b in got}


def normal(x: Any) -> Any:
    """An answer in comparable form: floats to 9 significant digits, tuples as lists."""
    if isinstance(x, float):
        return float(f"{x:.9g}")
    if isinstance(x, dict):
        return {k: normal(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [normal(v) for v in x]
    return x


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two normalised answers differ (paths and both values)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only in {'chDB' if k in a else 'DuckDB'}" for k in set(a) ^ set(b)]
        for k in a.keys() & b.keys():
            out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = [f"{path}: {len(a)} vs {len(b)} items"] if len(a) != len(b) else []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: chDB {a!r} vs DuckDB {b!r}"]


def bench_query(dirs: list[Path], chdb_dir: Path, runs: int, duck_copy: Path | None) -> None:
    from watchdepth.store.copy import copy

    print(f"query, before: {load()}")
    results = []
    for d in dirs:
        db = "e" + d.name.replace("-", "_")
        dsn = f"chdb://{chdb_dir}?database={db}"
        ch = ClickHouseStore.from_dsn(dsn)
        have = ch.count("events")
        ch.close()
        copy_s = None
        if not have:
            t = time.perf_counter()
            copy(d, dsn, progress=True)
            copy_s = time.perf_counter() - t
        duck_file = d / "watchdepth.duckdb"
        if duck_copy is not None:  # DuckDBStore opens read-write: leave the shared dir to others
            (duck_copy / d.name).mkdir(parents=True, exist_ok=True)
            dst = duck_copy / d.name / "watchdepth.duckdb"
            if not dst.exists() or dst.stat().st_size != duck_file.stat().st_size:
                shutil.copyfile(duck_file, dst)
            duck_file = dst
        ch = ClickHouseStore.from_dsn(dsn)
        duck = DuckDBStore(duck_file)
        duck.maintain()  # an older dir is brought to the current rollup layout (a no-op otherwise)
        info = {
            "events": ch.count("events"),
            "facts": ch.count("facts"),
            "copy_s": copy_s,
            "duck_bytes": duck_file.stat().st_size,
            "ch_bytes": chdb_bytes(ch),
        }
        res: dict[tuple[str, str], tuple[float, float]] = {}
        qs = {
            name: query_bench.questions(store, Catalog(store))
            for name, store in (("chDB", ch), ("DuckDB", duck))  # type: ignore[arg-type]
        }
        for q in query_bench.RAW:
            diff = differences(normal(qs["chDB"][q]()), normal(qs["DuckDB"][q]()))
            print(
                f"  {q}: answers " + ("equal" if not diff else f"DIFFER in {len(diff)} places: " + "; ".join(diff[:6])),
                flush=True,
            )
            for name in ("chDB", "DuckDB"):  # one question on both stores before the next: same load
                res[(name, q)] = query_bench.timed(qs[name][q], runs)
        duck.close()
        ch.close()
        results.append((d, info, res))
        cb = info["ch_bytes"]
        print(
            f"{d}: {info['events']:,} events, {info['facts']:,} facts"
            + (
                f"; copied in {copy_s:.0f} s ({(info['events'] + info['facts']) / copy_s:,.0f} rows/s)"
                if copy_s
                else ""
            ),
            flush=True,
        )
        print(
            f"  bytes per event: DuckDB file {info['duck_bytes'] / info['events']:.1f}; chDB "
            f"{sum(cb.values()) / info['events']:.1f} (events {cb.get('events', 0) / info['events']:.1f}, "
            f"facts {cb.get('facts', 0) / info['events']:.1f}, rollups "
            f"{(cb.get('agg_hour', 0) + cb.get('agg_day', 0)) / info['events']:.1f}); per fact: DuckDB "
            f"{info['duck_bytes'] / info['facts']:.1f}, chDB {sum(cb.values()) / info['facts']:.1f}",
            flush=True,
        )
    print(f"after: {load()}")
    print()
    print("| question | events | chDB p50 | chDB p95 | DuckDB p50 | DuckDB p95 | chDB / DuckDB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for q in query_bench.RAW:
        for d, _info, res in results:
            c50, c95 = res[("chDB", q)]
            d50, d95 = res[("DuckDB", q)]
            print(f"| {q} | {d.name} | {c50:.1f} | {c95:.1f} | {d50:.1f} | {d95:.1f} | {c50 / d50:.2f} |")
    print("(milliseconds, query.analytics over each store: what the API serves)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ins = sub.add_parser("insert")
    ins.add_argument("--events", type=int, default=200_000)
    ins.add_argument("--batch", type=int, action="append", default=[])
    ins.add_argument("--chdb", type=Path, default=None, help="chDB directory (default: a temporary one)")
    qry = sub.add_parser("query")
    qry.add_argument("dirs", nargs="+", type=Path)
    qry.add_argument("--chdb", type=Path, required=True, help="chDB directory holding one database per size")
    qry.add_argument("--runs", type=int, default=9)
    qry.add_argument(
        "--duck-copy",
        type=Path,
        default=None,
        help="open copies of the DuckDB files made under this directory (DuckDBStore opens read-write)",
    )
    rep = sub.add_parser("replicate")
    rep.add_argument("--chdb", type=Path, required=True, help="chDB directory holding the source database")
    rep.add_argument("--source", default="e10M")
    rep.add_argument("--target", default="e100M")
    rep.add_argument("--times", type=int, default=10)
    rep.add_argument("--check", type=Path, default=None, help="a DuckDB data dir to compare totals with (read only)")
    args = ap.parse_args()
    if args.cmd == "replicate":
        bench_replicate(args.chdb.resolve(), args.source, args.target, args.times, args.check)
    elif args.cmd == "insert":
        chdb_dir = args.chdb or Path(tempfile.mkdtemp())
        bench_insert(args.events, args.batch or [100, 1000], chdb_dir)
    else:
        bench_query(args.dirs, args.chdb.resolve(), args.runs, args.duck_copy)


if __name__ == "__main__":
    main()
