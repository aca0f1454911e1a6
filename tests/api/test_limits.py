"""Connections and load: header/body timeouts, the connection cap, rate limits (429 + Retry-After).

A real uvicorn on loopback configured as ``serve`` configures it (``tests.api.inproc``), with
limits set low so that a handful of connections stand for the 1,100 of issue 13, row 5.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.api.inproc import closed, read_response, request, running
from tests.conftest import DESKTOP_UA
from watchdepth.api.ratelimit import Buckets, Rate, parse_rate
from watchdepth.errors import ValidationFailed

LOAD = [{"type": "load", "video_id": "v1", "session_id": "s", "load_id": "l", "seq": 0}]


def _collect(session: str, **headers: str) -> bytes:
    events = [{**LOAD[0], "session_id": session, "load_id": session}]
    return request("POST", "/collect", body=msgspec.json.encode(events), headers={"user-agent": DESKTOP_UA, **headers})


def test_headers_sent_too_slowly_get_a_408_and_the_connection_closes(tmp_path: Path) -> None:
    with running(tmp_path, header_timeout=0.5) as srv, srv.connect() as slow, srv.connect() as silent:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nhost: wd\r\n")  # never finishes its headers
        started = time.monotonic()
        status, _, _ = read_response(slow)
        assert status == 408 and time.monotonic() - started < 5
        assert closed(slow, within=5)
        assert closed(silent, within=5)  # a connection that never sends a byte closes too


def test_a_stalled_body_closes_the_connection(tmp_path: Path) -> None:
    with running(tmp_path, body_timeout=0.5) as srv, srv.connect() as sock:
        sock.sendall(b"POST /collect HTTP/1.1\r\nhost: wd\r\ncontent-length: 100\r\n\r\n[{")
        assert closed(sock, within=5)


def test_slow_header_clients_past_the_cap_do_not_starve_healthz(tmp_path: Path) -> None:
    """Issue 13, row 5 at a small scale: 40 slow-header clients against a cap of 20."""
    with running(tmp_path, max_connections=20, header_timeout=60) as srv:
        slow = [srv.connect() for _ in range(40)]
        try:
            for s in slow:
                s.sendall(b"GET /healthz HTTP/1.1\r\nx-a: ")  # a slowloris: headers that never end
            for _ in range(3):
                assert httpx.get(srv.url + "/healthz", timeout=5).status_code == 200
            evicted = sum(closed(s, within=0.2) for s in slow)
            assert evicted >= 20  # the server held at most its cap, oldest waiting ones evicted first
        finally:
            for s in slow:
                s.close()


def test_past_the_cap_with_every_connection_busy_a_503_with_retry_after(tmp_path: Path) -> None:
    with running(tmp_path, max_connections=3, body_timeout=60) as srv:
        busy = [srv.connect() for _ in range(3)]
        try:
            for s in busy:  # requests in progress (their bodies still coming): never evicted
                s.sendall(b"POST /collect HTTP/1.1\r\nhost: wd\r\ncontent-length: 100\r\n\r\n[")
            with srv.connect() as extra:
                extra.sendall(request("GET", "/healthz"))
                status, headers, body = read_response(extra)
                assert status == 503 and headers["retry-after"] == "1"
                assert msgspec.json.decode(body)["error"]["code"] == 503503
            busy.pop().close()
            deadline = time.monotonic() + 5
            while httpx.get(srv.url + "/healthz", timeout=5).status_code != 200:
                assert time.monotonic() < deadline, "a freed slot was not reused"
        finally:
            for s in busy:
                s.close()


def test_the_api_rate_limit_is_per_token_with_retry_after(tmp_path: Path) -> None:
    with running(tmp_path, rate_limit_api="1:3") as srv, srv.connect() as sock:
        a, _ = srv.services.tokens.create("a")
        b, _ = srv.services.tokens.create("b")
        statuses = []
        for _ in range(4):
            sock.sendall(request("GET", "/v1/projects", headers={"authorization": f"Bearer {a}"}))
            status, headers, body = read_response(sock)
            statuses.append(status)
        assert statuses == [200, 200, 200, 429]  # the connection is kept after the 429
        assert headers["retry-after"] == "1" and msgspec.json.decode(body)["error"]["code"] == 429429
        sock.sendall(request("GET", "/v1/projects", headers={"authorization": f"Bearer {b}"}))
        assert read_response(sock)[0] == 200  # another token has its own bucket
        sock.sendall(request("GET", "/healthz"))  # only /v1 is limited
        assert read_response(sock)[0] == 200


def test_collect_is_limited_per_client_ip_trusting_only_trusted_proxies(tmp_path: Path) -> None:
    with running(tmp_path, rate_limit_collect="0.5:2", trusted_proxies=("127.0.0.1",)) as srv, srv.connect() as sock:

        def post(body: bytes) -> tuple[int, dict[str, str]]:
            sock.sendall(body)
            status, headers, _ = read_response(sock)
            return status, headers

        # a bad batch (answered by the app) and a good one (the fast path) count once each
        bad = request("POST", "/collect", body=b"{nope", headers={"x-forwarded-for": "203.0.113.7"})
        assert post(bad)[0] == 400
        assert post(_collect("a", **{"x-forwarded-for": "203.0.113.7"}))[0] == 202
        status, headers = post(_collect("b", **{"x-forwarded-for": "203.0.113.7"}))
        assert status == 429 and headers["retry-after"] == "2"
        assert post(_collect("c", **{"x-forwarded-for": "203.0.113.8"}))[0] == 202  # another client


def test_collect_is_not_limited_by_default(tmp_path: Path) -> None:
    with running(tmp_path) as srv, srv.connect() as sock:
        for i in range(30):
            sock.sendall(_collect(f"s{i}"))
            assert read_response(sock)[0] == 202


def test_buckets_refill_at_the_rate_up_to_the_burst() -> None:
    now = [0.0]
    b = Buckets(Rate(per_second=2, burst=3), clock=lambda: now[0], max_keys=2)
    assert [b.take("k") for _ in range(3)] == [0, 0, 0]
    assert b.take("k") == pytest.approx(0.5)
    now[0] += 0.5
    assert b.take("k") == 0 and b.take("k") == pytest.approx(0.5)
    now[0] += 100  # refilled to the burst, never past it
    assert [b.take("k") for _ in range(4)][-1] > 0
    b.take("x")
    b.take("y")  # past max_keys: full buckets are forgotten, the table does not grow
    assert len(b._buckets) <= 2  # noqa: SLF001


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("off", None),
        ("", None),
        ("0", None),
        ("10", Rate(10, 10)),
        ("0.5", Rate(0.5, 1)),
        ("100:1000", Rate(100, 1000)),
        ("5/s:20", Rate(5, 20)),
    ],
)
def test_rate_settings(text: str, rate: Rate | None) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["fast", "-1", "1:0", "nan", "1:x"])
def test_bad_rate_settings_are_refused_naming_the_setting(text: str) -> None:
    with pytest.raises(ValidationFailed, match="WATCHDEPTH_RATE_LIMIT_API"):
        parse_rate(text, "WATCHDEPTH_RATE_LIMIT_API")
