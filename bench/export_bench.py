"""Report export benchmark: time and peak memory of a whole export job, CSV and XLSX.

Input: row counts (default 10,000 and 100,000) and a source. Output: a table on
stdout. Each (format, rows) runs in a fresh subprocess: an ``ExportWorker`` (no
e-mail) builds the ZIP and reports wall time, CPU seconds (the honest figure on a
shared machine), the process's peak RSS, and, in a second run under
``tracemalloc``, the peak of Python allocations during the job.

``--source synthetic`` (default): 15-field rows made in memory (Cyrillic titles,
one row in ten a stream, one in a hundred formula-looking); this measures the file
writers alone (the source costs ~1 µs per row). ``--source store``: the real
``query.report.StoreReportSource`` over a DuckDB data dir made before the timing
(one project, 50 folders two levels deep, N content items: one in ``--live-every``
a stream, as many broadcast events, the rest videos; every other item has a load
and a view); this measures the catalog walk, the store's sums, the peaks (one
store query per stream or event with data) and the file.

    /work/venv/bin/python bench/export_bench.py [--rows 10000 100000] [--formats csv xlsx] [--source store] [--repeat 3]
    /work/venv/bin/python bench/export_bench.py --compare-xlsx --rows 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from watchdepth.export.jobs import ExportWorker
from watchdepth.export.source import ExportSpec, parse_spec


def row(i: int) -> dict[str, object]:
    live = i % 10 == 0
    views = i % 7
    duration = 60.0 + i % 600
    return {
        "project_id": "p1",
        "project_name": "Школа",
        "video_id": None if live else f"v{i}",
        "stream_id": f"s{i}" if live else None,
        "event_id": None,
        "title": f"Видео номер {i}" if i % 100 else f'=HYPERLINK("http://x/{i}")',
        "duration": None if live else duration,
        "folder_name": f"Курсы/Раздел {i % 50}",
        "folder_id": f"f{i % 50}",
        "player_loads": i % 13,
        "unique_views": i % 11,
        "views": views,
        "total_watch_time": views * 45,
        "watch_depth": 0 if live or not views else round(45 * 100 / duration),
        "peak_concurrent_viewers": i % 5 if live else None,
    }


class Synthetic:
    def __init__(self, n: int) -> None:
        self.n = n

    def export_rows(self, spec: ExportSpec) -> Iterator[dict[str, object]]:
        return (row(i) for i in range(self.n))

    def count_rows(self, spec: ExportSpec) -> int:
        return self.n


T0 = "2026-01-01 00:00:00+00"  # the store's facts: item i at T0 + i seconds


def fill_store(data: Path, n: int, live_every: int = 10) -> None:
    """A data dir with the catalog and facts described above, written with plain SQL (setup, not timed)."""
    import duckdb

    from watchdepth.store.duckdb import DuckDBStore

    path = data / "watchdepth.duckdb"
    DuckDBStore(path).close()  # the schema
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO projects VALUES ('p1', 'Школа', now())")
    con.execute("""INSERT INTO folders (id, project_id, parent_id, name, created_at)
                   SELECT 'f' || i, 'p1', CASE WHEN i < 10 THEN NULL ELSE 'f' || (i % 10) END,
                          'Раздел ' || i, now() FROM range(50) t(i)""")
    k, h = live_every, 1  # a stream at i % k == 0 (watched), its event at i % k == 1 (odd: never watched)
    con.execute(f"""INSERT INTO content (id, kind, project_id, folder_id, title, duration, stream_id, created_at)
        SELECT CASE i % {k} WHEN 0 THEN 's' WHEN {h} THEN 'e' ELSE 'v' END || i,
               CASE i % {k} WHEN 0 THEN 'stream' WHEN {h} THEN 'event' ELSE 'video' END,
               'p1', 'f' || (i % 50),
               CASE WHEN i % 100 = 3 THEN '=HYPERLINK("http://x/' || i || '")' ELSE 'Видео номер ' || i END,
               CASE WHEN i % {k} IN (0, {h}) THEN NULL ELSE 60 + i % 600 END,
               CASE WHEN i % {k} = {h} THEN 's' || (i - {h}) END, now()
        FROM range({n}) t(i)""")
    con.execute(f"""INSERT INTO facts (t, content_id, session_id, load_id, player_loads, unique_views, views, watch_time)
        SELECT TIMESTAMPTZ '{T0}' + to_seconds(i) + to_seconds(k),
               CASE i % {k} WHEN 0 THEN 's' WHEN {h} THEN 'e' ELSE 'v' END || i, 'S' || i, 'L' || i,
               CASE k WHEN 0 THEN 1 ELSE 0 END, k, k, 45.0 * k
        FROM range({n}) t(i), range(2) u(k) WHERE i % 2 = 0""")
    con.close()


def store_source(data: Path) -> tuple[object, object]:
    from watchdepth.catalog.service import Catalog
    from watchdepth.query.report import StoreReportSource
    from watchdepth.store.duckdb import DuckDBStore

    store = DuckDBStore(data / "watchdepth.duckdb")
    store.maintain()
    return StoreReportSource(store, Catalog(store)), store


def child(fmt: str, n: int, trace: bool, source_name: str = "synthetic", live_every: int = 10) -> dict[str, object]:
    """One export in this process: wall and CPU seconds, peak RSS (MiB), traced peak (MiB) when ``trace``."""
    with tempfile.TemporaryDirectory() as data:
        store = None
        if source_name == "store":
            fill_store(Path(data), n, live_every)
            source, store = store_source(Path(data))
            body = {"from": "2026-01-01", "to": "2026-01-03", "format": fmt}  # item i at T0 + i s: 100k s < 2 days
        else:
            source, body = Synthetic(n), {"period": "all_time", "format": fmt}
        if trace:  # before any thread starts: starting it under running threads crashes CPython 3.11 at times
            tracemalloc.start()
        worker = ExportWorker(source, Path(data), None, "http://localhost", workers=1)  # type: ignore[arg-type]
        worker.start()
        t0, c0 = time.perf_counter(), time.process_time()
        job = worker.wait(worker.submit(parse_spec(body)).id, timeout=600, poll=0.01)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
        size = worker.store.zip_path(job.id).stat().st_size / 2**20
        check = _check(worker.store.zip_path(job.id)) if source_name == "store" and fmt == "csv" else None
        worker.stop()
        if store is not None:
            store.close()  # type: ignore[attr-defined]
    assert job.status == "done" and job.rows_done == n, job
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "cpu": cpu, "rss_mib": rss, "traced_mib": traced, "zip_mib": size, "check": check}


def _check(zip_path: Path) -> dict[str, int]:
    """Sums over the report's rows, to see the store's numbers arrived (views: one per even item)."""
    import csv
    import io
    import zipfile

    with zipfile.ZipFile(zip_path) as z:
        text = z.read(z.namelist()[0]).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    return {
        "rows": len(rows),
        "views": sum(int(r["views"]) for r in rows),
        "peak_rows": sum(1 for r in rows if r["peak_concurrent_viewers"] not in ("", "0")),
    }


def source_only(n: int) -> float:
    t0 = time.perf_counter()
    for _ in Synthetic(n).export_rows(parse_spec({"period": "all_time"})):
        pass
    return time.perf_counter() - t0


def xlsx_loop_child(n: int, per_cell: bool) -> float:
    """CPU seconds of ``write_zip`` to XLSX with whole rows (``RowSheet``) or xlsxwriter's per-cell calls."""
    from watchdepth.export import files
    from watchdepth.export.source import EXPORT_FIELDS

    if per_cell:

        def per_cell_rows(book: Any, sheet: Any, columns: Any, cells: Any) -> int:
            for col, name in enumerate(columns):
                sheet.write_string(0, col, name, book.add_format({"bold": True}))
            k = 0
            for k, cells_of_row in enumerate(cells, 1):
                for c, value in enumerate(cells_of_row):
                    if value.__class__ is str:
                        sheet.write_string(k, c, value)
                    elif value is not None:
                        sheet.write_number(k, c, value)
            return k

        files._xlsx_rows = per_cell_rows  # type: ignore[assignment]
    rows = [row(i) for i in range(n)]
    with tempfile.TemporaryDirectory() as data:
        c0 = time.process_time()
        files.write_zip(rows, EXPORT_FIELDS, "xlsx", Path(data) / "x.zip", member="x.xlsx")
        return time.process_time() - c0


def compare_xlsx(n: int, repeat: int) -> None:
    """Alternate per-cell and whole-row XLSX writing in fresh processes; medians of CPU seconds."""
    got: dict[str, list[float]] = {"per cell": [], "whole rows": []}
    for _ in range(repeat):
        for name, flag in (("per cell", "1"), ("whole rows", "0")):
            out = subprocess.run(
                [sys.executable, __file__, "--xlsx-loop", str(n), flag], check=True, capture_output=True, text=True
            ).stdout
            got[name].append(float(out.split()[-1]))
    for name, values in got.items():
        print(f"xlsx {n:,} rows, {name:<10}: CPU s {sorted(values)}  median {statistics.median(values):.2f}")
    print(f"ratio of medians: {statistics.median(got['per cell']) / statistics.median(got['whole rows']):.1f}x")


def run(fmt: str, n: int, trace: bool, source: str, live_every: int) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", fmt, str(n), "--source", source, "--live-every", str(live_every)]
    cmd += ["--trace"] if trace else []
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--formats", nargs="+", default=["csv", "xlsx"])
    p.add_argument("--repeat", type=int, default=1, help="runs per cell; the fastest is shown (shared machines)")
    p.add_argument("--source", choices=("synthetic", "store"), default="synthetic")
    p.add_argument(
        "--live-every", type=int, default=10, help="store source: one stream and one event per this many items"
    )
    p.add_argument(
        "--compare-xlsx",
        action="store_true",
        help="instead: XLSX written per cell (xlsxwriter's calls) vs whole rows, --repeat times each",
    )
    p.add_argument("--child", nargs=2, metavar=("FORMAT", "ROWS"), help=argparse.SUPPRESS)
    p.add_argument("--xlsx-loop", nargs=2, metavar=("ROWS", "PER_CELL"), help=argparse.SUPPRESS)
    p.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.xlsx_loop:
        print(xlsx_loop_child(int(a.xlsx_loop[0]), a.xlsx_loop[1] == "1"))
        return
    if a.compare_xlsx:
        compare_xlsx(max(a.rows), a.repeat)
        return
    if a.child:
        print(json.dumps(child(a.child[0], int(a.child[1]), a.trace, a.source, a.live_every)))
        return
    print(
        f"{'format':<6} {'rows':>8} {'wall s':>7} {'CPU s':>6} {'rows/s':>8} {'peak RSS MiB':>13} "
        f"{'traced peak MiB':>16} {'zip MiB':>8}"
    )
    for fmt in a.formats:
        for n in a.rows:
            timed = min(
                (run(fmt, n, False, a.source, a.live_every) for _ in range(a.repeat)), key=lambda r: float(r["seconds"])
            )  # type: ignore[arg-type]
            traced = run(fmt, n, True, a.source, a.live_every)
            s = float(timed["seconds"])  # type: ignore[arg-type]
            print(
                f"{fmt:<6} {n:>8,} {s:>7.2f} {timed['cpu']:>6.2f} {n / s:>8,.0f} {timed['rss_mib']:>13.1f} "
                f"{traced['traced_mib']:>16.2f} {timed['zip_mib']:>8.2f}"
                + (f"  {timed['check']}" if timed["check"] else "")
            )
    if a.source == "synthetic":
        print(f"(the synthetic source alone: {source_only(max(a.rows)):.2f} s for {max(a.rows):,} rows)")


if __name__ == "__main__":
    main()
