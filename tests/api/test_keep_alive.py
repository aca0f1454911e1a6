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
from starlette.routing import Route

from tests.api.inproc import read_response, request, running
from tests.conftest import DESKTOP_UA

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

    def routes(self, _svc: object) -> list[Route]:
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

