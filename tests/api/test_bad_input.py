"""Each validation path answers its documented code (API.md), and no rejected batch leaves a trace."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Server

GOOD = {"type": "play", "video_id": "v1", "session_id": "S", "load_id": "L", "seq": 1, "position": 0}


def error(r: httpx.Response) -> dict[str, Any]:
    return r.json()["error"]  # type: ignore[no-any-return]


def test_collect_rejects_a_batch_whole_and_names_each_bad_event(catalog: Server) -> None:
    bad = [GOOD, {**GOOD, "seq": "2"}, {**GOOD, "seq": -1}]
    r = catalog.collect(bad)
    assert r.status_code == 400
    e = error(r)
    assert e["code"] == 400400
    assert sorted((p["index"], p["name"]) for p in e["invalid_params"]) == [(1, "seq"), (2, "seq")]
    r = catalog.collect([{**GOOD, "seq": 0, "type": "load"}, {**GOOD, "video_id": "nope"}, {**GOOD, "seq": 3, "stream_id": "s1", "event_id": "v1", "video_id": None}])
    assert sorted((p["index"], p["name"]) for p in error(r)["invalid_params"])[0] == (1, "video_id")
    # a schema error and an unknown id in one batch: both are named
    r = catalog.collect([GOOD, {**GOOD, "seq": -1}, {**GOOD, "video_id": "nope"}])
    assert [(p["index"], p["name"], p["reason"]) for p in error(r)["invalid_params"]] == [
        (1, "seq", "out_of_range"), (2, "video_id", "unknown")]
    assert catalog.api("GET", "/v1/analytics/overview", params={"period": "today"}).json()["data"]["total"]["unique_views"] == 0


def test_collect_codes(catalog: Server) -> None:
    r = httpx.post(catalog.url + "/collect", content=b"{nope", headers={"content-type": "text/plain"})
    assert (r.status_code, error(r)["code"]) == (400, 400101)
    r = httpx.post(catalog.url + "/collect", content=b"x" * 2_000_001)
    assert (r.status_code, error(r)["code"]) == (413, 413413)
    chunked = (b"x" * 100_000 for _ in range(21))  # no content-length: refused once past the limit
    r = httpx.post(catalog.url + "/collect", content=chunked)
    assert (r.status_code, error(r)["code"]) == (413, 413413) and "x-request-id" in r.headers
    # the 202 (answered below the framework) carries the request id and CORS headers too
    ok = {**GOOD, "session_id": "fast", "load_id": "fast-l"}
    r = httpx.post(catalog.url + "/collect", json=[ok], headers={"origin": "https://site.example", "x-request-id": "rid-7"})
    assert (r.status_code, r.json()) == (202, {"accepted": 1, "duplicates": 0})
    assert r.headers["x-request-id"] == "rid-7" and r.headers["access-control-allow-origin"] == "*"
    assert r.headers["content-type"] == "application/json"
    r = httpx.get(catalog.url + "/collect")
    assert (r.status_code, error(r)["code"]) == (405, 400405)
    r = catalog.collect([GOOD] * 501)
    assert r.status_code == 400
    pre = httpx.options(catalog.url + "/collect", headers={"origin": "https://site.example", "access-control-request-method": "POST"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"


def test_api_codes(catalog: Server) -> None:
    c = catalog
    assert error(httpx.get(c.url + "/v1/projects"))["code"] == 100101
    assert error(httpx.get(c.url + "/v1/projects", headers={"Authorization": "Bearer wd_wrong"}))["code"] == 100102
    r = c.api("GET", "/v1/analytics", params={"period": "today"})
    assert (r.status_code, error(r)["code"], error(r)["invalid_params"][0]["name"]) == (400, 400400, "group_by")
    r = c.api("GET", "/v1/analytics/overview", params={"from": "2026-13-01", "to": "2026-01-02"})
    assert error(r)["invalid_params"][0]["name"] == "from"
    r = c.api("GET", "/v1/analytics/overview")
    assert {p["name"] for p in error(r)["invalid_params"]} == {"from", "to"}
    r = c.api("GET", "/v1/analytics", params={"period": "today", "group_by": "video_id", "order": "nonsense.desc"})
    assert (r.status_code, error(r)["code"]) == (400, 400216)
    r = c.api("GET", "/v1/analytics/overview", params={"period": "today", "timezone": "Mars/Olympus"})
    assert error(r)["invalid_params"][0]["name"] == "timezone"
    assert error(c.api("GET", "/v1/videos/missing"))["code"] == 404404
    r = c.api("POST", "/v1/videos", content=b"[1,")
    assert error(r)["code"] == 400101
    r = c.api("POST", "/v1/videos", json={"project_id": "p1", "title": 5})
    assert error(r)["code"] == 400102
    r = c.api("POST", "/v1/videos", json={"project_id": "nope", "title": "x"})
    assert error(r)["invalid_params"][0]["name"] == "project_id"
    r = c.api("DELETE", "/v1/analytics")
    assert (r.status_code, error(r)["code"]) == (405, 400405)
    assert "x-request-id" in r.headers


def test_import_rejects_whole_file(catalog: Server) -> None:
    lines = [{**GOOD, "seq": 0, "type": "load", "ts": 1_767_571_200_000}, {**GOOD, "ts": "yesterday"}]
    r = catalog.import_events(lines)
    assert r.status_code == 400 and error(r)["invalid_params"][0]["index"] == 1
    total = catalog.api("GET", "/v1/analytics/overview", params={"from": "2026-01-05", "to": "2026-01-06"}).json()["data"]["total"]
    assert total["player_loads"] == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(list(GOOD) + ["from", "url", "x"]), inner, max_size=8),
    max_leaves=20,
)
events = st.fixed_dictionaries({}, optional={k: st.one_of(st.just(v), json_values) for k, v in GOOD.items()})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, st.lists(events, max_size=5), st.binary(max_size=50)))
def test_fuzz_collect_never_5xx_and_rejects_whole(catalog: Server, body: Any) -> None:
    data = body if isinstance(body, bytes) else msgspec.json.encode(body)
    before = catalog.client.get("/metrics").text
    r = httpx.post(catalog.url + "/collect", content=data, headers={"content-type": "text/plain"})
    assert r.status_code in (202, 400, 413), r.text
    if r.status_code != 202:
        assert catalog.client.get("/metrics").text.split("watchdepth_batches_rejected_total")[0] == before.split("watchdepth_batches_rejected_total")[0]
