"""``live_sum.CollectorFanout``: the API node's sum of the collectors' watching-now snapshots.

A real HTTP server on loopback plays one collector, a closed port another: the sum holds
the live one's counts, the dead one is reported missing, and a snapshot older than
``stale_after`` leaves the sum (an injected clock, no sleeping).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import free_port
from watchdepth.cluster.live_sum import CollectorFanout


@pytest.fixture
def collector() -> Iterator[tuple[str, dict[str, int]]]:
    counts = {"v1": 2, "v2": 1}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps({"watching_now": counts}).encode()
            self.send_response(200 if self.path == "/internal/watching-now" else 404)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", counts
    finally:
        srv.shutdown()
        srv.server_close()


def test_sum_of_live_collectors_and_stale_ones_drop_out(collector: tuple[str, dict[str, int]]) -> None:
    url, counts = collector
    dead = f"http://127.0.0.1:{free_port()}"
    now = [100.0]
    fan = CollectorFanout([url, url + "/", dead], stale_after=5.0, timeout=2.0, clock=lambda: now[0])

    async def poll() -> None:
        fan.start()  # its background task polls too, at the same (injected) time
        try:
            await fan.poll_once()
        finally:
            await fan.stop()

    asyncio.run(poll())
    # The same collector listed twice (with and without a slash) counts once.
    assert fan.urls == (url, dead)
    assert fan.watching_now() == Counter({"v1": 2, "v2": 1})
    assert fan.missing() == [dead]
    counts["v1"] = 5  # not polled yet: the reader sees the last snapshot
    assert fan.watching_now()["v1"] == 2
    now[0] += 5.5  # no answer for longer than stale_after
    assert fan.watching_now() == Counter()
    assert fan.missing() == [url, dead]
