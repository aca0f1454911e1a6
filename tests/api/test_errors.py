"""A failure inside a request: a 500 that shows the request id only, and a connection that goes on."""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.api.inproc import read_response, request, running
from tests.conftest import DESKTOP_UA
from watchdepth.errors import StoreError

SECRET = "/var/lib/secret/watchdepth.duckdb: Conversion Error: Could not convert"


async def boom(request: Request) -> Response:
    raise RuntimeError(SECRET)


async def store_failed(request: Request) -> Response:
    raise StoreError(f"query failed: {SECRET}")


ROUTES = [Route("/boom", boom), Route("/store-failed", store_failed)]


def test_a_500_carries_the_request_id_only_and_the_connection_is_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="watchdepth.api")
    with running(tmp_path, routes=lambda _: ROUTES) as srv, srv.connect() as sock:
        for i, path in enumerate(["/boom", "/store-failed"]):
            sock.sendall(request("GET", path, headers={"x-request-id": f"rid-{i}"}))
            status, headers, body = read_response(sock)
            assert status == 500 and headers["x-request-id"] == f"rid-{i}"
            assert msgspec.json.decode(body) == {
                "error": {"code": 500500, "message": "internal error", "request_id": f"rid-{i}"}
            }
            sock.sendall(request("GET", "/healthz"))  # the same connection, after the 500
            status, _, body = read_response(sock)
            assert status == 200, body
        sock.sendall(request("GET", "/v1/projects"))  # and after a 4xx
        assert read_response(sock)[0] == 401
        sock.sendall(request("GET", "/healthz"))
        assert read_response(sock)[0] == 200
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "rid-0" in logged and "rid-1" in logged and SECRET in logged  # the cause is in the log
    assert any(r.exc_info for r in caplog.records if "rid-0" in r.getMessage())  # with its traceback


def test_a_huge_page_number_never_shows_the_database_message(tmp_path: Path) -> None:
    """Issue 13 row 4: DuckDB refuses the OFFSET; its message must not reach the client."""
    with running(tmp_path) as srv, srv.connect() as sock:
        secret, _ = srv.services.tokens.create("t")
        load = [{"type": "load", "video_id": "v1", "session_id": "s", "load_id": "l", "seq": 0}]
        sock.sendall(request("POST", "/collect", body=msgspec.json.encode(load), headers={"user-agent": DESKTOP_UA}))
        assert read_response(sock)[0] == 202
        sock.sendall(
            request(
                "GET",
                "/v1/analytics?period=today&group_by=country&page=99999999999999999999999",
                headers={"authorization": f"Bearer {secret}"},
            )
        )
        status, headers, body = read_response(sock)
        assert status in (200, 400, 500), body  # 400 once the range check lands
        if status == 500:
            assert msgspec.json.decode(body) == {
                "error": {"code": 500500, "message": "internal error", "request_id": headers["x-request-id"]}
            }
        assert b"duckdb" not in body.lower() and b"conversion" not in body.lower()
        sock.sendall(request("GET", "/healthz"))
        assert read_response(sock)[0] == 200
