"""Each validation path answers its documented code (docs/api.md), and no rejected batch leaves a trace."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DESKTOP_UA, Server, load_events
from tests.fuzz_helpers import OneConnection

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
    r = catalog.collect(
        [
            {**GOOD, "seq": 0, "type": "load"},
            {**GOOD, "video_id": "nope"},
            {**GOOD, "seq": 3, "stream_id": "s1", "event_id": "v1", "video_id": None},
        ]
    )
    assert sorted((p["index"], p["name"]) for p in error(r)["invalid_params"])[0] == (1, "video_id")
    # a schema error and an unknown id in one batch: both are named
    r = catalog.collect([GOOD, {**GOOD, "seq": -1}, {**GOOD, "video_id": "nope"}])
    assert [(p["index"], p["name"], p["reason"]) for p in error(r)["invalid_params"]] == [
        (1, "seq", "out_of_range"),
        (2, "video_id", "unknown"),
    ]
    assert (
        catalog.api("GET", "/v1/analytics/overview", params={"period": "today"}).json()["data"]["total"]["unique_views"]
        == 0
    )


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
    r = httpx.post(
        catalog.url + "/collect", json=[ok], headers={"origin": "https://site.example", "x-request-id": "rid-7"}
    )
    assert (r.status_code, r.json()) == (202, {"accepted": 1, "duplicates": 0, "bots": 1})  # httpx's UA is a bot's
    assert r.headers["x-request-id"] == "rid-7" and r.headers["access-control-allow-origin"] == "*"
    assert r.headers["content-type"] == "application/json"
    r = httpx.get(catalog.url + "/collect")
    assert (r.status_code, error(r)["code"]) == (405, 400405)
    r = catalog.collect([GOOD] * 501)
    assert r.status_code == 400
    pre = httpx.options(
        catalog.url + "/collect", headers={"origin": "https://site.example", "access-control-request-method": "POST"}
    )
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
    total = catalog.api("GET", "/v1/analytics/overview", params={"from": "2026-01-05", "to": "2026-01-06"}).json()[
        "data"
    ]["total"]
    assert total["player_loads"] == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(list(GOOD) + ["from", "url", "x"]), inner, max_size=8)
    ),
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
        assert (
            catalog.client.get("/metrics").text.split("watchdepth_batches_rejected_total")[0]
            == before.split("watchdepth_batches_rejected_total")[0]
        )


# -- issue 13: bad input never breaks the service (rows 1, 2, 4 and the Content-Type) -----------


def _days_around_now() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"from": str(today - timedelta(days=2)), "to": str(today + timedelta(days=2))}


def _total(c: Server, **params: str) -> dict[str, Any]:
    r = c.api("GET", "/v1/analytics/overview", params={**_days_around_now(), **params})
    assert r.status_code == 200, r.text
    return r.json()["data"]["total"]  # type: ignore[no-any-return]


def test_import_ts_in_nanoseconds_is_refused_whole_and_the_store_stays_healthy(catalog: Server) -> None:
    """Row 1: a ns ``ts`` was acknowledged, then poisoned the store (reads 500, no restart)."""
    now = int(time.time() * 1000)
    good = load_events(
        {"video_id": "v1"}, "ns", "ns-L", now - 3_600_000, [("play", 1, 0), ("pause", 20, 19)], user_agent=DESKTOP_UA
    )
    lines = [*good, {**good[1], "seq": 5, "ts": 1_733_322_000_000_000_000}, {**good[1], "seq": 6, "ts": 2**63 - 1}]
    lines.append({**good[1], "seq": 7, "ts": 946_684_799_999})  # a ms before 2000-01-01
    lines.append({**good[1], "seq": 8, "ts": now + 2 * 86_400_000})  # two days ahead
    r = catalog.import_events(lines)
    assert (r.status_code, error(r)["code"]) == (400, 400400), r.text
    assert [(p["index"], p["name"]) for p in error(r)["invalid_params"]] == [(3, "ts"), (4, "ts"), (5, "ts"), (6, "ts")]
    assert _total(catalog)["player_loads"] == 0  # nothing of the batch was stored
    # /collect's ts is the client's clock, for reference only: a ns value is dropped, not refused
    r = catalog.collect([{**GOOD, "type": "load", "seq": 0, "session_id": "c-ns", "load_id": "c-ns", "ts": 2**63 - 1}])
    assert r.status_code == 202, r.text
    assert catalog.client.get("/healthz").status_code == 200
    catalog.restart()
    assert catalog.import_events(good).status_code == 202
    assert _total(catalog)["player_loads"] == 2  # the good import and the /collect load


def test_absurd_positions_are_refused_and_watch_time_stays_finite(catalog: Server) -> None:
    """Row 2: two anonymous requests at 0 and 1.7e308 made watch time infinite (500 everywhere after)."""
    catalog.ok("POST", "/v1/videos", json={"id": "vn", "project_id": "p2", "title": "No duration"})
    for n, content in enumerate([{"stream_id": "s1"}, {"video_id": "vn"}]):
        base = {**content, "session_id": f"huge-{n}", "load_id": f"huge-{n}"}
        assert (
            catalog.collect(
                [{**base, "type": "load", "seq": 0}, {**base, "type": "play", "seq": 1, "position": 0}]
            ).status_code
            == 202
        )
        for field, value in (
            ("position", 1.7e308),
            ("position", 10_000_000_000.5),
            ("from", 1e300),
            ("duration", 1.7e308),
        ):
            event = {**base, "type": "seek", "seq": 2, "position": 1, "from": 0, field: value}
            r = catalog.collect([event])
            assert (r.status_code, error(r)["code"]) == (400, 400400), (field, value, r.text)
            assert [(p["index"], p["name"], p["reason"]) for p in error(r)["invalid_params"]] == [
                (0, field, "out_of_range")
            ]
    # the bound itself is taken, and bounds a session's watch time on a stream or a video without duration
    for n, content in enumerate([{"stream_id": "s1"}, {"video_id": "vn"}]):
        base = {**content, "session_id": f"huge-{n}", "load_id": f"huge-{n}"}
        assert catalog.collect([{**base, "type": "pause", "seq": 3, "position": 10**10}]).status_code == 202
    assert _total(catalog, project_id="p2")["watch_time"] == 2 * 10**10  # 10^10 s per session, both sessions
    r = catalog.api("GET", "/v1/analytics", params={**_days_around_now(), "group_by": "video_id"})
    assert r.status_code == 200, r.text


DEEP = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000
EVENT = b'{"type":"load","video_id":"v1","session_id":"d","load_id":"d","seq":0'
DEEP_FIELD = EVENT + b',"x":' + DEEP + b"}"
SCHEMA_ERROR_THEN_BAD_KEY = b'[{"type":"load","video_id":"v1","session_id":"u","load_id":"u","seq":"one","\xff\xfe":1}]'


def test_deep_json_and_invalid_utf8_get_a_4xx_and_keep_the_connection(catalog: Server) -> None:
    """Row 4: each of these answered 500 and dropped the keep-alive connection."""
    c = OneConnection(catalog.url, headers={"Authorization": f"Bearer {catalog.token}"})
    try:
        for body in (DEEP, DEEP_OBJECT, DEEP_FIELD, b"[" + DEEP_OBJECT + b"]", SCHEMA_ERROR_THEN_BAD_KEY):
            r = c.send("POST", "/collect", content=body, headers={"content-type": "text/plain"})
            assert (r.status_code, error(r)["code"]) == (400, 400101), r.text
            r = c.send("POST", "/v1/events/import", content=body[1:-1] if body.startswith(b"[{") else body)
            assert (r.status_code, error(r)["code"]) == (400, 400400), r.text
            assert error(r)["invalid_params"][0]["reason"] in ("bad_json", "wrong_type")  # a line, named
        for method, path in (("POST", "/v1/videos"), ("PATCH", "/v1/videos/v1"), ("POST", "/v1/analytics/exports")):
            for body in (DEEP, DEEP_OBJECT, b'{"title":"x","\xff":1}', b'{"a":"\\ud800"}'):
                r = c.send(method, path, content=body)
                assert (r.status_code, error(r)["code"]) == (400, 400101), (path, r.text)
            for body in (b"[]", b"7", b'"x"'):
                r = c.send(method, path, content=body)
                assert (r.status_code, error(r)["code"]) == (400, 400102), (path, r.text)
        r = c.send("POST", "/v1/analytics/exports", json={"fields": 5, "email": ["x"]})
        assert (r.status_code, error(r)["code"]) == (400, 400102), r.text
        r = c.send("POST", "/v1/videos", json={"project_id": "p1", "title": {"a": [1]}})
        assert r.status_code == 400, r.text
        r = c.send(
            "POST", "/collect", content=EVENT + b"}", headers={"user-agent": DESKTOP_UA}
        )  # still a good connection
        assert (r.status_code, r.json()) == (202, {"accepted": 1, "duplicates": 0})
    finally:
        c.close()
    assert _total(catalog)["player_loads"] == 1


@pytest.mark.parametrize("query", ["", "?x=1"])  # the fast path, and the framework's path
def test_collect_takes_json_or_text_bodies_only(catalog: Server, query: str) -> None:
    body = {**GOOD, "type": "load", "seq": 0}
    for n, ctype in enumerate(["text/plain;charset=UTF-8", "application/json; charset=utf-8", "Text/Plain", None]):
        headers = {"user-agent": DESKTOP_UA} | ({} if ctype is None else {"content-type": ctype})
        event = {**body, "session_id": f"ct{n}", "load_id": f"ct{n}"}
        r = httpx.post(catalog.url + "/collect" + query, content=msgspec.json.encode(event), headers=headers)
        assert r.status_code == 202, (ctype, r.text)
    for ctype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "image/png",
        "application/jsonx",
    ):
        r = httpx.post(
            catalog.url + "/collect" + query, content=msgspec.json.encode(body), headers={"content-type": ctype}
        )
        assert (r.status_code, error(r)["code"]) == (400, 400400), (ctype, r.text)
        assert [p["name"] for p in error(r)["invalid_params"]] == ["Content-Type"]
    assert _total(catalog)["player_loads"] == 4
