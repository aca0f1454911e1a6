"""Kept-alive connections the server must not close under a client that follows the rules.

A real uvicorn on loopback, configured as ``serve`` configures it (``tests.api.inproc``).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
import msgspec
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from tests.api.inproc import read_response, request, running
from tests.conftest import DESKTOP_UA
from watchdepth.config import Settings
from watchdepth.serve.services import Services

LOAD = [{"type": "load", "video_id": "v1", "session_id": "s", "load_id": "l", "seq": 0}]
COLLECT = request("POST", "/collect", body=msgspec.json.encode(LOAD), headers={"user-agent": DESKTOP_UA})


class Hold:
    """A point where the server's event loop is held, as a slow synchronous step would hold it,
    from ``trigger()`` until ``release`` is set: in an I/O callback (``soon=False``: the loop
    was reading sockets), or in the first callback it runs after the poll in which the trigger
    came (``soon=True``: before the ``connection_made`` of what it accepted in that poll, which
    uvloop defers to that point)."""

    def __init__(self, soon: bool = False) -> None:
        self.soon = soon
        self.entered = threading.Event()
        self.release = threading.Event()
        self._wake, self._watched = socket.socketpair()

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        def woken() -> None:
            loop.remove_reader(self._watched.fileno())
            loop.call_soon(self._held) if self.soon else self._held()

        loop.add_reader(self._watched.fileno(), woken)

    def _held(self) -> None:
        self.entered.set()
        self.release.wait(30)  # blocks the loop on purpose

    def trigger(self) -> None:
        self._wake.send(b"x")

    def hold(self) -> None:
        self.trigger()
        assert self.entered.wait(10), "the loop was not held"

    def close(self) -> None:
        self.release.set()
        self._wake.close()
        self._watched.close()


class Stall:
    """Holds for a test server: ``GET /arm`` arms them on its loop."""

    def __init__(self, *holds: Hold) -> None:
        self.holds = holds or (Hold(),)

    def routes(self, _svc: Services) -> list[BaseRoute]:
        async def arm(_request: Request) -> PlainTextResponse:
            for hold in self.holds:
                hold.arm(asyncio.get_running_loop())
            return PlainTextResponse("armed")

        return [Route("/arm", arm)]

    def close(self) -> None:
        for hold in self.holds:
            hold.close()


def test_a_request_that_arrived_while_the_loop_stalled_is_not_cut_as_idle(tmp_path: Path) -> None:
    """The keep-alive deadline passes while the loop is held; the client's next request was
    sent before it (the connection was idle less than the timeout) and must be answered.
    After a stall uvicorn's timer fires before the loop reads the socket again, and closes
    the connection with the request unread: the client sees a reset (httpx.ReadError)."""
    stall = Stall()
    with closing(stall), running(tmp_path, stall.routes, keep_alive_timeout=0.5) as srv, srv.connect() as kept:
        assert httpx.get(srv.url + "/arm").status_code == 200
        kept.sendall(COLLECT)
        assert read_response(kept)[0] == 202
        idle_since = time.monotonic()
        held = stall.holds[0]
        held.hold()
        kept.sendall(COLLECT)  # sent within the timeout: the connection was idle < 0.5 s
        assert time.monotonic() - idle_since < 0.5, "the machine was too slow to send within the timeout"
        while time.monotonic() - idle_since < 0.7:  # the keep-alive deadline passes while the loop is held
            time.sleep(0.01)
        held.release.set()
        assert read_response(kept)[0] == 202


def test_a_connection_whose_next_request_waits_is_not_evicted_past_the_cap(tmp_path: Path) -> None:
    """Past the cap a newcomer evicts the longest-idle connection, but not one whose next
    request came while the loop was held: the newcomer gets the 503 instead."""
    polling, after_poll = Hold(), Hold(soon=True)
    stall = Stall(polling, after_poll)
    with closing(stall), running(tmp_path, stall.routes, max_connections=1) as srv, srv.connect() as kept:
        kept.sendall(request("GET", "/arm"))
        assert read_response(kept)[0] == 200
        polling.hold()  # so that the next poll sees after_poll's trigger, then the newcomer
        after_poll.trigger()
        with srv.connect() as newcomer:
            polling.release.set()
            assert after_poll.entered.wait(10)  # the newcomer is accepted, its connection_made is next
            kept.sendall(COLLECT)
            newcomer.sendall(request("GET", "/healthz"))
            after_poll.release.set()
            assert read_response(kept)[0] == 202
            assert read_response(newcomer)[0] == 503


def test_a_connection_idle_as_long_as_httpx_reuses_it_is_still_served(tmp_path: Path) -> None:
    """httpx's pool reuses a connection idle up to its ``keepalive_expiry`` (5 s), counted on
    its own clock from when it read the response; the request it sends then reaches the
    server later still (the wire, a busy client: the soak's generator, at load 4.5, took up
    to seconds per request). With the server's idle timeout equal to the client's expiry
    (5 s: uvicorn's default, and ours before) such a request meets a connection the server
    has just closed, and the client sees a reset. Half a second stands for that lag here
    (the idle wait is what the test is about, not a wait for something to happen)."""
    reused_until = httpx.Limits().keepalive_expiry
    assert reused_until is not None
    with running(tmp_path) as srv, srv.connect() as kept:
        kept.sendall(COLLECT)
        assert read_response(kept)[0] == 202
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < reused_until + 0.5:
            time.sleep(0.05)
        kept.sendall(COLLECT)
        assert read_response(kept)[0] == 202


def test_the_idle_timeout_outlasts_the_pools_that_reuse_connections_without_retrying_a_post() -> None:
    """The clients whose pooled connections meet it: httpx (5 s), aiohttp (15 s), Node's agents
    (4-5 s), and nginx's upstream keep-alive (60 s: deploy/nginx/watchdepth.conf keeps
    connections to the nodes, and a POST /collect that meets a closed one is a 502 there,
    ``proxy_next_upstream off``). Browsers retry a request that met a closed kept-alive connection."""
    assert Settings().keep_alive_timeout > 60
    assert "keepalive " in (Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "watchdepth.conf").read_text()
