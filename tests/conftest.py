"""Shared fixtures: a real ``watchdepth serve`` process on loopback with its own data dir.

``server`` starts the CLI as users do, creates a token through the CLI (the admin socket
path), and can be SIGKILLed and restarted on the same data. Tests talk HTTP to it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a Thursday


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, data: Path, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "watchdepth.cli", *args, "--data", str(data)]
    r = subprocess.run(cmd, capture_output=True, text=input is None, input=input, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} failed: {r.stderr!r}")
    return r  # type: ignore[return-value]


class Server:
    """A running ``watchdepth serve`` and an HTTP client with a token."""

    def __init__(self, data: Path, env: dict[str, str] | None = None, store: str | None = None) -> None:
        self.data = data
        #: ``--store`` DSN for serve (None: the embedded DuckDB file in ``data``).
        self.store = store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Tests poll the API as fast as they can: no per-token rate limit here unless a test
        # asks for one (the limits have their own tests, tests/api/test_limits.py).
        self.env = {"WATCHDEPTH_RATE_LIMIT_API": "off", **os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""
        self.client = httpx.Client(base_url=self.url, timeout=30)
        #: /healthz statuses that mean "started" (a test may start a server that is not ok).
        self.ready: tuple[int, ...] = (200,)

    def start(self) -> None:
        with open(self.data / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "watchdepth.cli",
                    "serve",
                    "--data",
                    str(self.data),
                    "--port",
                    str(self.port),
                    *(["--store", self.store] if self.store else []),
                ],
                stdout=log,
                stderr=log,
                env=self.env,
            )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {(self.data / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code in self.ready:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError("server did not start")
        if not self.token:
            out = cli("token", "create", "--name", "tests", data=self.data).stdout
            self.token = out.strip().splitlines()[-1]
        self.client.headers["Authorization"] = f"Bearer {self.token}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()

    # -- helpers for tests ------------------------------------------------------------------

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, path, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        r = self.api(method, path, **kw)
        assert r.status_code < 300, (r.status_code, r.text)
        return r.json() if r.content else None

    def collect(self, events: list[dict[str, Any]] | dict[str, Any], **headers: str) -> httpx.Response:
        h = {"content-type": "text/plain", "user-agent": DESKTOP_UA, **headers}
        return httpx.post(self.url + "/collect", content=_json(events), headers=h, timeout=30)

    def import_events(self, events: list[dict[str, Any]]) -> httpx.Response:
        body = b"\n".join(_json(e) for e in events)
        return self.api("POST", "/v1/events/import", content=body, headers={"content-type": "application/x-ndjson"})


def load_events(
    content: dict[str, str], sid: str, lid: str, t0: int, steps: list[tuple[Any, ...]], **extra: Any
) -> list[dict[str, Any]]:
    """steps: (type, seconds after t0, position[, from])."""
    out = [{"type": "load", "session_id": sid, "load_id": lid, "seq": 0, "ts": t0, **content, **extra}]
    for seq, step in enumerate(steps, start=1):
        e = {
            "type": step[0],
            "session_id": sid,
            "load_id": lid,
            "seq": seq,
            "ts": t0 + int(step[1] * 1000),
            "position": step[2],
            **content,
            **extra,
        }
        if len(step) > 3:
            e["from"] = step[3]
        out.append(e)
    return out


def _json(obj: Any) -> bytes:
    import msgspec

    return msgspec.json.encode(obj)


DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    """Parametrise indirectly with "clickhouse" to serve from chDB (``--store chdb://…``); default DuckDB."""
    backend = getattr(request, "param", "duckdb")
    s = Server(tmp_path, store=f"chdb://{tmp_path / 'chdb'}" if backend == "clickhouse" else None)
    s.start()
    try:
        yield s
    finally:
        s.stop()
        s.client.close()


@pytest.fixture
def catalog(server: Server) -> Server:
    """A small catalog: project p1 with nested folders a/b, videos v1 (100 s) and v2 (10.5 s), a stream and event."""
    server.ok("POST", "/v1/projects", json={"id": "p1", "name": "Project one"})
    server.ok("POST", "/v1/projects", json={"id": "p2", "name": "Project two"})
    server.ok("POST", "/v1/folders", json={"id": "fa", "project_id": "p1", "name": "a"})
    server.ok("POST", "/v1/folders", json={"id": "fb", "project_id": "p1", "parent_id": "fa", "name": "b"})
    server.ok(
        "POST", "/v1/videos", json={"id": "v1", "project_id": "p1", "folder_id": "fa", "title": "One", "duration": 100}
    )
    server.ok(
        "POST", "/v1/videos", json={"id": "v2", "project_id": "p1", "folder_id": "fb", "title": "Two", "duration": 10.5}
    )
    server.ok("POST", "/v1/videos", json={"id": "v3", "project_id": "p2", "title": "Three", "duration": 60})
    server.ok("POST", "/v1/streams", json={"id": "s1", "project_id": "p2", "title": "Live"})
    server.ok("POST", "/v1/streams/s1/events", json={"id": "e1", "title": "Episode 1"})
    return server


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium per test file.

    Not one per run: while Playwright's sync API runs, its event loop counts as running in
    this thread, so a later test file's ``asyncio.run`` in the same process would fail (the
    suite runs in two processes, pytest-xdist's ``--dist loadfile``, mixing the files)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()
