"""Property-based fuzz of the JSON bodies of catalog and export routes (issue 13), on one real serve.

Objects whose fields hold any JSON value (wrong types, huge numbers, deep nesting, odd
strings) and raw hostile bytes, POSTed and PATCHed to every catalog entity and to
``/v1/analytics/exports``: a 2xx or a 4xx with the error envelope, never a 5xx, on one
keep-alive connection that is never dropped. Strategies: tests/fuzz_helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Server
from tests.fuzz_helpers import OneConnection, hostile_bytes, json_values, start_fuzz_server

pytestmark = pytest.mark.slow  # 5-8 s: 400 requests

KEYS = ["id", "project_id", "folder_id", "parent_id", "name", "title", "duration", "stream_id", "fields", "format",
        "period", "from", "to", "email", "timezone", "folder_ids", "x"]  # fmt: skip
TARGETS = [("POST", "/v1/projects"), ("POST", "/v1/folders"), ("POST", "/v1/videos"), ("POST", "/v1/streams"),
           ("POST", "/v1/streams/st1/events"), ("PATCH", "/v1/videos/v1"), ("PATCH", "/v1/projects/p"),
           ("PUT", "/v1/streams/st1"), ("POST", "/v1/analytics/exports")]  # fmt: skip
objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6).map(msgspec.json.encode)


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OneConnection]:
    server: Server = start_fuzz_server(Path(tmp_path_factory.mktemp("fuzz-bodies")))
    c = OneConnection(server.url, headers={"Authorization": f"Bearer {server.token}"})
    try:
        yield c
    finally:
        c.close()
        server.stop()
        server.client.close()


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(target=st.sampled_from(TARGETS), body=st.one_of(objects, hostile_bytes))
def test_catalog_and_export_bodies_never_5xx(conn: OneConnection, target: tuple[str, str], body: bytes) -> None:
    method, path = target
    r = conn.send(method, path, content=body, headers={"content-type": "application/json"})
    assert r.status_code < 500, (method, path, body[:200], r.text)
    if r.status_code >= 400:
        assert isinstance(r.json()["error"]["code"], int), r.text
