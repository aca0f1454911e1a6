"""Property-based fuzz of the ingest paths (issue 13) against ONE real ``watchdepth serve``.

Hypothesis sends ``/collect`` bodies (garbage JSON in every field, huge numbers, deep
nesting, invalid UTF-8, odd Content-Types) and ``/v1/events/import`` NDJSON bodies, all on
one keep-alive connection. Every answer must be a 202 or a 4xx with the error envelope,
never a 5xx, and the connection must never be dropped. Afterwards the store still answers,
a known good batch is counted exactly, and the server restarts on its data (a batch the
store could not take would stop it). Fixed budget, derandomized: the same examples every
run. Strategies and the server helpers: tests/fuzz_helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DESKTOP_UA, Server
from tests.fuzz_helpers import (
    GOOD_VIDEO,
    OneConnection,
    bodies,
    edge_events,
    good_load,
    hostile_bytes,
    import_lines,
    start_fuzz_server,
)

pytestmark = pytest.mark.slow  # 10-20 s: 1,000 requests, then a restart

FUZZ = settings(
    max_examples=600, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
edge_batches = st.one_of(edge_events(), st.lists(edge_events(), min_size=1, max_size=20)).map(msgspec.json.encode)
CONTENT_TYPES = [
    None,
    "text/plain;charset=UTF-8",
    "application/json",
    "text/plain",
    "image/png",
    "text/html; x=\xff",
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_fuzz_server(Path(tmp_path_factory.mktemp("fuzz-ingest")))
    try:
        yield server
    finally:
        server.stop()
        server.client.close()


@pytest.fixture(scope="module")
def conn(served: Server) -> Iterator[OneConnection]:
    c = OneConnection(
        served.url,
        headers={"Authorization": f"Bearer {served.token}", "user-agent": DESKTOP_UA},
    )
    yield c
    c.close()


def assert_answered(r: Any, *accepted: int) -> None:
    """A 202 (or another expected status) or a 4xx with the error envelope; never a 5xx."""
    assert r.status_code < 500, r.text
    assert r.status_code in accepted or 400 <= r.status_code < 500, r.text
    if r.status_code >= 400:
        assert isinstance(r.json()["error"]["code"], int), r.text


@FUZZ
@given(
    body=st.one_of(bodies.map(msgspec.json.encode), hostile_bytes, edge_batches),
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_collect_never_5xx_nor_drops_the_connection(conn: OneConnection, body: bytes, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type.encode("latin-1")}
    r = conn.send("POST", "/collect", content=body, headers=headers)
    assert_answered(r, 202)


@settings(FUZZ, max_examples=400)
@given(body=import_lines())
def test_import_never_5xx_nor_drops_the_connection(conn: OneConnection, body: bytes) -> None:
    r = conn.send(
        "POST",
        "/v1/events/import",
        content=body,
        headers={"content-type": "application/x-ndjson"},
    )
    assert_answered(r, 202)


def test_afterwards_the_store_answers_and_counts_a_good_batch_exactly(served: Server, conn: OneConnection) -> None:
    """Runs after the fuzz above (file order) on the same server and connection."""
    today = datetime.now(UTC).date()
    window = {
        "from": str(today - timedelta(days=2)),
        "to": str(today + timedelta(days=2)),
    }

    def totals(**params: str) -> dict[str, Any]:
        r = conn.send("GET", "/v1/analytics/overview", params={**window, **params})
        assert r.status_code == 200, r.text
        return r.json()["data"]["total"]  # type: ignore[no-any-return]

    # whatever the fuzz got accepted is bounded: at most 10^10 s per session, < 10,000 sessions sent
    assert totals()["watch_time"] <= 10**10 * 10_000
    assert totals(video_id=GOOD_VIDEO)["player_loads"] == 0
    r = conn.send("POST", "/collect", content=msgspec.json.encode(good_load("good-1")))
    assert r.json() == {"accepted": 3, "duplicates": 0}
    now = int(datetime.now(UTC).timestamp() * 1000)
    lines = [{**e, "ts": now - 60_000 + i * 5_000, "user_agent": DESKTOP_UA} for i, e in enumerate(good_load("good-2"))]
    r = conn.send("POST", "/v1/events/import", content=b"\n".join(map(msgspec.json.encode, lines)))
    assert r.json() == {"accepted": 3, "duplicates": 0}
    expected = {"player_loads": 2, "views": 2, "unique_views": 2, "watch_time": 20}
    assert {k: totals(video_id=GOOD_VIDEO)[k] for k in expected} == expected
    served.restart()  # the store took every acknowledged batch: it opens again, with the same numbers
    assert served.client.get("/healthz").status_code == 200
    r = served.api("GET", "/v1/analytics/overview", params={**window, "video_id": GOOD_VIDEO})
    assert {k: r.json()["data"]["total"][k] for k in expected} == expected
