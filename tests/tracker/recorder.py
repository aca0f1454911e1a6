"""A stand-in for the collector that records what the tracker sends.

Input: ``POST /collect`` bodies (the wire format of docs/metrics.md §2). Output: every
request kept as a ``Post`` with its status and the headers that tell fetch from
sendBeacon. It validates nothing and counts nothing; the real collector does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass
class Post:
    """One request to /collect as the recorder saw it."""

    status: int
    events: list[dict[str, Any]]
    content_type: str
    fetch_mode: str  # Sec-Fetch-Mode: "cors" for fetch(), "no-cors" for sendBeacon with text/plain
    at: float = field(default_factory=time.monotonic)

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


class Recorder:
    """The collector stand-in: keeps every POST /collect, answers 202 or, when down, 503."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.down = False
        self.base_url = ""
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.posts.clear()
            self.down = False

    async def collect(self, request: Request) -> Response:
        cors = {"Access-Control-Allow-Origin": "*"}
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=cors)
        body = await request.body()
        parsed = json.loads(body)
        events = parsed if isinstance(parsed, list) else [parsed]
        status = 503 if self.down else 202
        with self._lock:
            seen = {e["id"] for p in self.posts if p.accepted for e in p.events}
            self.posts.append(
                Post(status, events, request.headers.get("content-type", ""), request.headers.get("sec-fetch-mode", ""))
            )
        if status == 503:
            return JSONResponse({"error": {"code": 500500, "message": "down"}}, status_code=503, headers=cors)
        duplicates = sum(1 for e in events if e["id"] in seen)
        return JSONResponse({"accepted": len(events) - duplicates, "duplicates": duplicates}, 202, headers=cors)

    def accepted(self) -> list[dict[str, Any]]:
        """Events of accepted requests, in arrival order (repeats included)."""
        with self._lock:
            return [e for p in self.posts if p.accepted for e in p.events]

    def unique(self) -> list[dict[str, Any]]:
        """Accepted events, each id once (as the real collector stores them)."""
        seen: dict[str, dict[str, Any]] = {}
        for e in self.accepted():
            seen.setdefault(e["id"], e)
        return list(seen.values())

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Poll until predicate(unique events) holds; the events, or an AssertionError."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.unique()
            if predicate(events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting; got {[(e['type'], e.get('position')) for e in events]}")
            time.sleep(0.1)
