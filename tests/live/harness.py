"""An in-process watchdepth with a hand-driven clock, for live tests that never sleep.

``Live`` builds the real parts (DuckDB file, catalog, collector, ingest loop, Starlette
app) from ``services.build``, swaps the ingest loop for one whose clock is ``Live.ms``,
and sends tracker events through the real collector stamped with that time. The HTTP
routes are called in-process (httpx over ASGI, no lifespan): the realtime route
reads the sessionizer's memory, the concurrency route the DuckDB file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import msgspec

from tests.conftest import DESKTOP_UA, T0
from watchdepth import config
from watchdepth.serve import services
from watchdepth.serve.app import create_app
from watchdepth.serve.ingest import Ingest

SECOND = 1_000


class Live:
    def __init__(self, data: Path) -> None:
        self.ms = T0
        self.svc = services.build(config.load(data_dir=data))
        self.svc.ingest = Ingest(self.svc.store, clock=lambda: self.ms / 1000)
        self.app = create_app(self.svc)
        secret, _ = self.svc.tokens.create("tests")
        self.headers = {"Authorization": f"Bearer {secret}"}
        self.seq: dict[str, int] = {}

    def at(self, seconds: float) -> Live:
        """Move the clock to T0 + ``seconds`` (never backwards)."""
        ms = T0 + round(seconds * 1000)
        assert ms >= self.ms, "the clock only moves forward"
        self.ms = ms
        return self

    def send(self, who: str, type: str, position: float | None = None, **fields: Any) -> None:
        """One tracker event of viewer ``who`` (session ``S-who``, load ``L-who``), received now."""
        seq = self.seq.get(who, 0)
        self.seq[who] = seq + 1
        event = {"type": type, "session_id": f"S-{who}", "load_id": f"L-{who}", "seq": seq, **fields}
        if position is not None:
            event["position"] = position
        events = self.svc.collector.from_request(
            msgspec.json.encode(event),
            peer_ip="127.0.0.1",
            x_forwarded_for=None,
            user_agent=DESKTOP_UA,
            referer=None,
            received_at=self.ms,
        )
        accepted = self.svc.ingest.run_sync(events, kind="collect")
        assert accepted.accepted == 1, accepted

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://live", headers=self.headers) as c:
                return await c.request(method, path, **kw)

        return asyncio.run(go())

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        r = self.request(method, path, **kw)
        assert r.status_code < 300, (r.status_code, r.text)
        return r.json()

    def online(self, **scope: str) -> int:
        return int(self.ok("GET", "/v1/analytics/realtime", params=scope)["data"]["online"])

    def peak(self, step: int = 60, timezone: str = "UTC", **subject: str) -> dict[str, Any]:
        q = {
            **subject,
            "from": "2026-01-01T00:00:00Z",
            "to": "2026-01-01T01:00:00Z",
            "step": str(step),
            "timezone": timezone,
        }
        return self.ok("GET", "/v1/analytics/concurrency", params=q)["data"]  # type: ignore[no-any-return]

    def close(self) -> None:
        self.svc.close()
