"""A server killed with SIGKILL mid-ingest loses no acknowledged event and counts nothing twice."""

from __future__ import annotations

import signal
import threading
from typing import Any

import httpx
import pytest

from tests.conftest import DESKTOP_UA, Server

#: On both backends: the embedded DuckDB file and ClickHouse (chDB, ``--store chdb://…``).
pytestmark = pytest.mark.parametrize(
    "server", ["duckdb", pytest.param("clickhouse", marks=pytest.mark.clickhouse)], indirect=True
)


def batch(n: int) -> list[dict[str, Any]]:
    """One load: a view of 6 s (run [0, 6])."""
    base = {"video_id": "v1", "session_id": f"S{n}", "load_id": f"L{n}"}
    return [
        {"type": "load", "seq": 0, **base},
        {"type": "play", "seq": 1, "position": 0, **base},
        {"type": "progress", "seq": 2, "position": 6, **base},
    ]


def test_sigkill_mid_ingest_loses_nothing_acknowledged(catalog: Server) -> None:
    acked: set[int] = set()
    stop = threading.Event()

    def sender(first: int) -> None:
        with httpx.Client(timeout=5) as c:
            n = first
            while not stop.is_set() and n < first + 100_000:
                try:
                    r = c.post(catalog.url + "/collect", json=batch(n), headers={"user-agent": DESKTOP_UA})
                    if r.status_code == 202:
                        acked.add(n)
                except httpx.HTTPError:
                    pass
                n += 1

    threads = [threading.Thread(target=sender, args=(k * 1_000_000,)) for k in range(4)]
    for t in threads:
        t.start()
    while len(acked) < 300:
        threading.Event().wait(0.05)
    catalog.stop(signal.SIGKILL)  # mid-traffic: requests in flight are never acknowledged
    stop.set()
    for t in threads:
        t.join()
    sent_through = set(acked)
    catalog.start()

    def totals() -> dict[str, int]:
        r = catalog.api("GET", "/v1/analytics/overview", params={"period": "today"})
        return r.json()["data"]["total"]  # type: ignore[no-any-return]

    after_restart = totals()
    # every acknowledged batch is there (a batch written but not acknowledged may be too)
    assert after_restart["player_loads"] >= len(acked)
    assert after_restart["views"] == after_restart["player_loads"] == after_restart["unique_views"]
    # re-sending every acknowledged batch, as a tracker retrying would, adds nothing
    stored = after_restart["player_loads"]
    with httpx.Client(timeout=10) as c:
        for n in sorted(sent_through)[:200]:
            r = c.post(catalog.url + "/collect", json=batch(n), headers={"user-agent": DESKTOP_UA})
            assert r.json() == {"accepted": 0, "duplicates": 3}
    final = totals()
    assert final["player_loads"] == stored
    assert final["watch_time"] == 6 * stored
