"""Report export benchmark: time and peak memory of a whole export job, CSV and XLSX.

Input: row counts (default 10,000 and 100,000). Output: a table on stdout. Each
(format, rows) runs in a fresh subprocess: an ``ExportWorker`` (no e-mail) builds
the ZIP from a synthetic in-memory source of 15-field rows (Cyrillic titles, one
row in ten a stream, one in a hundred formula-looking), and reports wall time,
CPU seconds (the honest figure on a shared machine), the process's peak RSS, and, in a second run under ``tracemalloc``, the peak of
Python allocations during the job. Flat memory: the 10k and 100k peaks match.
It does not measure the query layer: the source costs ~1 µs per row.

    /work/venv/bin/python bench/export_bench.py [--rows 10000 100000] [--formats csv xlsx] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

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
        "title": f"Видео номер {i}" if i % 100 else f"=HYPERLINK(\"http://x/{i}\")",
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


def child(fmt: str, n: int, trace: bool) -> dict[str, object]:
    """One export in this process: wall and CPU seconds, peak RSS (MiB), traced peak (MiB) when ``trace``."""
    with tempfile.TemporaryDirectory() as data:
        worker = ExportWorker(Synthetic(n), Path(data), None, "http://localhost", workers=1)
        worker.start()
        if trace:
            tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        job = worker.wait(worker.submit(parse_spec({"period": "all_time", "format": fmt})).id, timeout=600, poll=0.01)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
        size = worker.store.zip_path(job.id).stat().st_size / 2**20
        worker.stop()
    assert job.status == "done" and job.rows_done == n, job
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "cpu": cpu, "rss_mib": rss, "traced_mib": traced, "zip_mib": size}


def source_only(n: int) -> float:
    t0 = time.perf_counter()
    for _ in Synthetic(n).export_rows(parse_spec({"period": "all_time"})):
        pass
    return time.perf_counter() - t0


def run(fmt: str, n: int, trace: bool) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", fmt, str(n)] + (["--trace"] if trace else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--formats", nargs="+", default=["csv", "xlsx"])
    p.add_argument("--repeat", type=int, default=1, help="runs per cell; the fastest is shown (shared machines)")
    p.add_argument("--child", nargs=2, metavar=("FORMAT", "ROWS"), help=argparse.SUPPRESS)
    p.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], int(a.child[1]), a.trace)))
        return
    print(f"{'format':<6} {'rows':>8} {'wall s':>7} {'CPU s':>6} {'rows/s':>8} {'peak RSS MiB':>13} "
          f"{'traced peak MiB':>16} {'zip MiB':>8}")
    for fmt in a.formats:
        for n in a.rows:
            timed = min((run(fmt, n, False) for _ in range(a.repeat)), key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
            traced = run(fmt, n, True)
            s = float(timed["seconds"])  # type: ignore[arg-type]
            print(f"{fmt:<6} {n:>8,} {s:>7.2f} {timed['cpu']:>6.2f} {n / s:>8,.0f} {timed['rss_mib']:>13.1f} "
                  f"{traced['traced_mib']:>16.2f} {timed['zip_mib']:>8.2f}")
    print(f"(the synthetic source alone: {source_only(max(a.rows)):.2f} s for {max(a.rows):,} rows)")


if __name__ == "__main__":
    main()
