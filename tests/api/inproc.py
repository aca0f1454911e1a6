"""A real uvicorn on loopback, in this process, configured as ``serve`` configures it.

``running(tmp_path, **settings)`` builds the services on a fresh data dir, wraps the public
app in the /collect fast path, and serves it with ``server.public_config`` (the guarded
protocol: timeouts, connection cap) on a thread. Tests talk raw sockets or httpx to it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.routing import BaseRoute

from tests.conftest import free_port
from watchdepth import config
from watchdepth.api.collect_fast import FastCollect
from watchdepth.serve import services
from watchdepth.serve.app import create_app
from watchdepth.serve.server import public_config
from watchdepth.serve.services import Services


class Running:
    def __init__(self, svc: Services, port: int) -> None:
        self.services = svc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def connect(self, timeout: float = 10) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


@contextmanager
def running(
    tmp_path: Path, routes: Callable[[Services], list[BaseRoute]] | None = None, *, seed: bool = True, **settings: Any
) -> Iterator[Running]:
    """Serve on a fresh data dir; ``routes(services)`` adds routes; ``seed``: project p1 and video v1."""
    svc = services.build(config.load(data_dir=tmp_path, port=free_port(), **settings))
    if seed:
        svc.catalog.create("projects", {"id": "p1", "name": "P"})
        svc.catalog.create("videos", {"id": "v1", "project_id": "p1", "title": "V", "duration": 100})
    app = create_app(svc, extra_routes=routes(svc) if routes is not None else None)
    server = uvicorn.Server(public_config(FastCollect(app, svc), svc.settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield Running(svc, svc.settings.port)
    finally:
        server.should_exit = True
        thread.join(30)
        svc.close()


def request(method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: wd", f"content-length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response (status, lower-cased headers, body) off ``sock``; AssertionError if it closes first."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "the connection was closed before a response"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines)}
    size = int(headers.get("content-length", "0"))
    while len(rest) < size:
        chunk = sock.recv(65536)
        assert chunk, "the connection was closed inside a response"
        rest += chunk
    return int(status_line.split()[1]), headers, rest[:size]


def closed(sock: socket.socket, within: float) -> bool:
    """Whether the server closes ``sock`` within ``within`` seconds (whatever it sends first is read)."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True
