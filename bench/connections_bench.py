"""The connection guard's cost per request: uvicorn's httptools protocol alone vs ``api/connections.py``.

Serves ``bench/parse_only_app.raw_app`` (no Starlette, no store: uvicorn's HTTP cost and
little else) with each protocol in turn, in alternating pairs, and prints wrk's requests/s
and the server's CPU µs per request (user + system, from /proc), the steadier figure on a
shared machine.

    python bench/connections_bench.py [--pairs 3] [--seconds 4] [--connections 16]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time

import uvicorn

from bench.ingest_bench import cpu_seconds
from bench.parse_only_app import raw_app
from watchdepth.api import connections

HERE = os.path.dirname(__file__)


def serve(kind: str, port: int) -> None:
    http = "httptools" if kind == "plain" else connections.protocol_class(connections.Limits())
    uvicorn.Server(
        uvicorn.Config(
            raw_app, host="127.0.0.1", port=port, http=http, loop="uvloop", log_level="warning", access_log=False
        )
    ).run()


def listening(port: int) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} did not open")


def one(kind: str, port: int, seconds: int, conns: int) -> str:
    proc = subprocess.Popen([sys.executable, "-m", "bench.connections_bench", "--serve", kind, "--port", str(port)])
    try:
        listening(port)
        before = cpu_seconds(proc.pid)
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{conns}",
                f"-d{seconds}s",
                "-s",
                os.path.join(HERE, "collect.lua"),
                f"http://127.0.0.1:{port}/collect",
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "EVENTS": "1"},
        ).stdout
        used = cpu_seconds(proc.pid) - before
    finally:
        proc.terminate()
        proc.wait()
    requests = int(next(line for line in out.splitlines() if "requests in" in line).split()[0])
    return (
        f"{kind:8} {requests / seconds:8.0f} req/s {1e6 * used / requests:7.1f} µs/request  "
        f"load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--serve", choices=("plain", "guarded"))
    ap.add_argument("--port", type=int, default=8950)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    for i in range(args.pairs):
        for j, kind in enumerate(("plain", "guarded")):
            print(one(kind, args.port + 2 * i + j, args.seconds, args.connections), flush=True)


if __name__ == "__main__":
    main()
