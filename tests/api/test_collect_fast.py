"""The /collect fast path: which requests it answers itself, and that the rest reach the app.

In process (a real DuckDB file, the real app behind it): the wrapped app records every
call, so a test can tell whether the fast path or the framework answered.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn

from tests.conftest import DESKTOP_UA, free_port
from watchdepth import config
from watchdepth.api import collect_fast
from watchdepth.api.collect_fast import FastCollect
from watchdepth.serve import services
from watchdepth.serve.app import create_app


def _batch(session: str, n: int = 2) -> bytes:
    base = {"video_id": "v1", "session_id": session, "load_id": session + "-L"}
    events = [{"type": "load", "seq": 0, **base}, {"type": "play", "seq": 1, "position": 0, **base}]
    return msgspec.json.encode(events[:n])


def _run(tmp_path: Path, requests: list[tuple[str, bytes]]) -> tuple[list[httpx.Response], list[str]]:
    """Send each (url, body) through FastCollect; return the answers and the paths the app saw."""
    svc = services.build(config.load(data_dir=tmp_path))
    svc.catalog.create("projects", {"id": "p1", "name": "P"})
    svc.catalog.create("videos", {"id": "v1", "project_id": "p1", "title": "V", "duration": 100})
    app = create_app(svc)
    seen: list[str] = []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else ""))
        await app(scope, receive, send)

    async def main() -> list[httpx.Response]:
        await svc.ingest.start()
        try:
            transport = httpx.ASGITransport(app=FastCollect(recording, svc), client=("10.0.0.1", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://wd") as client:
                return [
                    await client.post(
                        url, content=body, headers={"user-agent": DESKTOP_UA, "content-type": "text/plain"}
                    )
                    for url, body in requests
                ]
        finally:
            await svc.ingest.stop()

    try:
        return asyncio.run(main()), seen
    finally:
        svc.close()


def test_valid_batches_with_or_without_the_session_parameter_are_answered_below_the_app(tmp_path: Path) -> None:
    answers, seen = _run(tmp_path, [("/collect", _batch("A")), ("/collect?s=B", _batch("B"))])
    assert [r.status_code for r in answers] == [202, 202]
    assert [r.json() for r in answers] == [{"accepted": 2, "duplicates": 0}] * 2
    assert all(r.headers["x-request-id"] for r in answers)
    assert seen == []  # the framework never saw them


def test_errors_and_unusual_requests_reach_the_app_with_their_body(tmp_path: Path) -> None:
    answers, seen = _run(
        tmp_path,
        [
            ("/collect?s=OTHER", _batch("C")),  # session differs from ?s=
            ("/collect", b"{not json"),
            ("/collect?s=D&x=1", _batch("D")),  # a parameter the fast path does not know
        ],
    )
    assert [r.status_code for r in answers] == [400, 400, 202]
    mismatch = answers[0].json()["error"]["invalid_params"]
    assert {(p["name"], p["index"]) for p in mismatch} == {("session_id", 0), ("session_id", 1)}
    assert answers[2].json() == {"accepted": 2, "duplicates": 0}
    assert seen == ["/collect?s=OTHER", "/collect", "/collect?s=D&x=1"]


def _post(body: bytes, rid: str, *, close: bool = False) -> bytes:
    return (
        b"POST /collect HTTP/1.1\r\nhost: wd\r\ncontent-type: text/plain\r\nuser-agent: %s\r\n"
        b"x-request-id: %s\r\ncontent-length: %d\r\n%s\r\n"
        % (DESKTOP_UA.encode(), rid.encode(), len(body), b"connection: close\r\n" if close else b"")
    ) + body


def _read_responses(sock: socket.socket, n: int) -> list[tuple[bytes, dict[bytes, bytes], bytes]]:
    """``n`` HTTP/1.1 responses (status line, headers, body) read off a keep-alive socket."""
    buf, out = b"", []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(out)} responses"
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        status, *lines = head.split(b"\r\n")
        headers = {k.lower(): v for k, _, v in (line.partition(b": ") for line in lines)}
        size = int(headers[b"content-length"])
        while len(buf) < size:
            buf += sock.recv(65536)
        out.append((status, headers, buf[:size]))
        buf = buf[size:]
    assert buf == b""
    return out


def test_under_uvicorn_a_202_goes_in_one_write_and_the_connection_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real uvicorn (httptools, as ``serve`` runs it) on loopback: pipelined and keep-alive
    requests each get a whole, well-formed 202 written at once; ``Connection: close`` gets
    its 202 the ordinary way, then the close."""
    whole: list[int] = []
    real_write = collect_fast._write_whole
    monkeypatch.setattr(collect_fast, "_write_whole", lambda c, st, h, b: (whole.append(st), real_write(c, st, h, b)))
    svc = services.build(config.load(data_dir=tmp_path))
    svc.catalog.create("projects", {"id": "p1", "name": "P"})
    svc.catalog.create("videos", {"id": "v1", "project_id": "p1", "title": "V", "duration": 100})
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            FastCollect(create_app(svc), svc),
            host="127.0.0.1",
            port=port,
            http="httptools",
            loop="asyncio",
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(_post(_batch("A"), "r-1") + _post(_batch("B", 1), "r-2"))  # pipelined
            first = _read_responses(sock, 2)
            sock.sendall(_post(_batch("C"), "r-3"))  # the same connection, after both answers
            second = _read_responses(sock, 1)
            sock.sendall(_post(_batch("D"), "r-4", close=True))
            last = _read_responses(sock, 1)
            assert sock.recv(1) == b""  # closed after it
        answers = first + second + last
        assert [status for status, _, _ in answers] == [b"HTTP/1.1 202 Accepted"] * 4
        assert [msgspec.json.decode(body) for _, _, body in answers] == [
            {"accepted": 2, "duplicates": 0},
            {"accepted": 1, "duplicates": 0},
            {"accepted": 2, "duplicates": 0},
            {"accepted": 2, "duplicates": 0},
        ]
        for i, (_, headers, _) in enumerate(answers, 1):
            assert headers[b"x-request-id"] == b"r-%d" % i
            assert headers[b"content-type"] == b"application/json"
            assert b"date" in headers and b"server" in headers  # uvicorn's own, as on every answer
        assert whole == [202, 202, 202]  # the close went the ordinary way
        assert svc.store.counters() == {"applied": 7}
    finally:
        server.should_exit = True
        thread.join(30)
        svc.close()
