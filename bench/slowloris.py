"""Slow-header clients past the file limit (issue 13, row 5): is ``/healthz`` still answered?

Starts ``watchdepth serve`` under ``ulimit -n FD_LIMIT`` on a fresh data dir, opens
``--connections`` sockets that each send the start of a request and never finish its
headers (a few keep trickling a byte), then times ``GET /healthz`` on fresh connections
while they hang, and counts how many of them the server has closed once its header
timeout (``WATCHDEPTH_HEADER_TIMEOUT``, default 10 s) has passed.

    python bench/slowloris.py [--connections 1100] [--fd-limit 1024] [--probes 10]
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.ingest_bench import wait


def open_slow(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nx-slow: ")
        socks.append(s)
    return socks


def probe(url: str, socks: list[socket.socket], n: int) -> list[str]:
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        try:
            result = str(httpx.get(url + "/healthz", timeout=10).status_code)
        except httpx.HTTPError as exc:
            result = type(exc).__name__
        out.append(f"{result} {1000 * (time.monotonic() - t0):.0f} ms")
        for s in socks[:50]:  # some slow clients keep trickling bytes
            try:
                s.send(b"a")
            except OSError:
                pass
    return out


def closed_by_server(socks: list[socket.socket]) -> int:
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(4096)  # b"" (closed) or the 408 before the close
            n += 1
        except BlockingIOError:
            pass
        except OSError:
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=1100)
    ap.add_argument("--fd-limit", type=int, default=1024)
    ap.add_argument("--probes", type=int, default=10)
    ap.add_argument("--port", type=int, default=8971)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp())
    serve = [sys.executable, "-m", "watchdepth.cli", "serve", "--data", str(data), "--port", str(args.port)]
    proc = subprocess.Popen(
        ["bash", "-c", f"ulimit -n {args.fd_limit}; exec {shlex.join(serve)}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ,
    )
    url = f"http://127.0.0.1:{args.port}"
    socks: list[socket.socket] = []
    try:
        wait(url + "/healthz")
        socks = open_slow(args.port, args.connections)
        during = probe(url, socks, args.probes)
        time.sleep(float(os.environ.get("WATCHDEPTH_HEADER_TIMEOUT", "10")) + 2)
        closed = closed_by_server(socks)
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait()
    print(
        f"{args.connections} slow-header connections, serve under ulimit -n {args.fd_limit}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print("GET /healthz meanwhile:", ", ".join(during))
    print(f"closed by the server after its header timeout: {closed} of {len(socks)}")


if __name__ == "__main__":
    main()
