"""The /collect fast path: which requests it answers itself, and that the rest reach the app.

In process (a real DuckDB file, the real app behind it): the wrapped app records every
call, so a test can tell whether the fast path or the framework answered.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import msgspec

from tests.conftest import DESKTOP_UA
from watchdepth import config, services
from watchdepth.api.collect_fast import FastCollect
from watchdepth.app import create_app


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
                return [await client.post(url, content=body, headers={"user-agent": DESKTOP_UA,
                                                                      "content-type": "text/plain"})
                        for url, body in requests]
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
    answers, seen = _run(tmp_path, [
        ("/collect?s=OTHER", _batch("C")),  # session differs from ?s=
        ("/collect", b"{not json"),
        ("/collect?s=D&x=1", _batch("D")),  # a parameter the fast path does not know
    ])
    assert [r.status_code for r in answers] == [400, 400, 202]
    mismatch = answers[0].json()["error"]["invalid_params"]
    assert {(p["name"], p["index"]) for p in mismatch} == {("session_id", 0), ("session_id", 1)}
    assert answers[2].json() == {"accepted": 2, "duplicates": 0}
    assert seen == ["/collect?s=OTHER", "/collect", "/collect?s=D&x=1"]
