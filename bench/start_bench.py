"""How long ``serve`` takes to start, by the number of events in the last 90 minutes.

On start the sessionizer's state comes back from the log of the sessions active in the last
90 minutes (``Ingest`` in ``ingest.py``): the more recent events, the more to replay. For each
count asked this script fills a fresh data dir with that many events timed in the last 90
minutes (``bench.datagen``'s events and facts, straight into DuckDB; ~8 events per load,
~2.5 loads per session), starts ``watchdepth serve`` on it and reports, from the spawn:

- ``healthz``: seconds until ``/healthz`` answers 200 (the server listens and says ok);
- ``first 202``: seconds until a ``/collect`` of the next event of one of those sessions (a
  session the sessionizer must have rebuilt to count it right) is acknowledged;
- ``rebuilt``: seconds the background rebuild of all those sessions took, as the server logs
  it (it runs after the server listens; ``-`` when the server replays them before listening).

Each figure is the best of ``--repeat`` starts (a shared machine adds noise, never removes it).

    python bench/start_bench.py [--events 0,50000,200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow.compute as pc

from bench import datagen
from watchdepth.store.duckdb import DuckDBStore

ROOT = Path(__file__).resolve().parents[1]
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


def fill(data: Path, n_events: int, now_ms: int) -> dict[str, object]:
    """A data dir whose log holds ``n_events`` events in (now − 85 min, now − 5 min); the last
    load's ids, for the probe event."""
    store = DuckDBStore(data / "watchdepth.duckdb")
    try:
        cat = datagen.catalog(1)
        for table in ("projects", "folders", "content"):
            store.catalog_bulk(table, cat[table])
        probe: dict[str, object] = {
            "video_id": cat["content"][0]["id"],
            "session_id": "none",
            "load_id": "none",
            "seq": 1,
        }
        if n_events:
            world = datagen.World(1, cat["content"])
            n_loads = int(n_events / datagen.MEAN_K * 1.05) + 10
            ev, fa = datagen.chunk(
                world, np.random.default_rng(1), 0, n_loads, now_ms - 85 * 60_000, now_ms - 5 * 60_000, 1
            )
            ev = ev.slice(0, n_events)
            fa = fa.filter(pc.less_equal(fa["t"], ev["t"][n_events - 1]))
            store.bulk_load(ev, fa)
            last = ev.slice(n_events - 1, 1).to_pylist()[0]
            probe = {
                "video_id": last["content_id"],
                "session_id": last["session_id"],
                "load_id": last["load_id"],
                "seq": int(last["seq"]) + 1,
            }
        store.maintain()
    finally:
        store.close()
    return probe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_once(data: Path, probe: dict[str, object], sessions: int) -> tuple[float, float, float | None]:
    """(seconds to /healthz 200, seconds to the probe's 202, from the spawn; the rebuild's seconds)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    (data / "server.log").unlink(missing_ok=True)  # a fresh log per start
    started = time.perf_counter()
    with open(data / "server.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "watchdepth.cli", "serve", "--data", str(data), "--port", str(port)],
            stdout=log,
            stderr=log,
            env=env,
        )
    try:
        healthy = _until(lambda: httpx.get(url + "/healthz", timeout=1).status_code == 200, proc) - started
        event = {"type": "progress", "position": 1000, **probe}
        body = httpx.Client(timeout=60)
        r = body.post(url + "/collect", json=[event], headers={"user-agent": UA})
        acked = time.perf_counter() - started
        if r.status_code != 202:
            raise SystemExit(f"the probe event got {r.status_code}: {r.text}")
        return healthy, acked, _rebuilt(data / "server.log", sessions, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _rebuilt(log: Path, sessions: int, proc: subprocess.Popen[bytes]) -> float | None:
    """The seconds of the background rebuild, from the server's log line (None if it logs none)."""
    if not sessions:
        return 0.0
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline and proc.poll() is None:
        found = re.findall(rb"rebuilt (\d+) recent sessions from the log in ([\d.]+) s", log.read_bytes())
        if found and int(found[-1][0]) == sessions:
            return float(found[-1][1])
        time.sleep(0.05)
    return None


def _until(ok: object, proc: subprocess.Popen[bytes]) -> float:
    deadline = time.perf_counter() + 300
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise SystemExit("serve exited; see server.log")
        try:
            if ok():  # type: ignore[operator]
                return time.perf_counter()
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    raise SystemExit("serve did not start in 300 s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", default="0,50000,200000", help="comma-separated event counts")
    p.add_argument("--repeat", type=int, default=3, help="starts per count (the best is shown)")
    args = p.parse_args(argv)
    print(f"{'events (90 min)':>16} {'sessions':>9} {'healthz s':>10} {'first 202 s':>12} {'rebuilt s':>10}")
    for n in (int(x) for x in args.events.split(",")):
        with tempfile.TemporaryDirectory(prefix="wd-start-") as tmp:
            data = Path(tmp)
            probe = fill(data, n, int(time.time() * 1000))
            store = DuckDBStore(data / "watchdepth.duckdb")
            sessions = store._run("SELECT count(DISTINCT session_id) FROM events")[0][0]
            store.close()
            runs = [start_once(data, probe, sessions) for _ in range(args.repeat)]
            rebuilt = [r[2] for r in runs if r[2] is not None]
            shown = f"{min(rebuilt):.2f}" if rebuilt else "-"
            print(
                f"{n:>16,} {sessions:>9,} {min(r[0] for r in runs):>10.2f} {min(r[1] for r in runs):>12.2f} {shown:>10}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
