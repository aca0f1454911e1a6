"""Connections of the public server: header and body timeouts, and a cap on open connections.

Input: ``Limits`` (from settings). Output: the HTTP protocol class ``serve`` gives uvicorn:
its httptools protocol plus what uvicorn lacks. uvicorn times out only an idle keep-alive
connection; a client that connects and then sends its headers a byte at a time, or never,
holds a file descriptor for as long as it likes, and ~1,000 of them starve every other
client (``/healthz`` included). Here:

- **headers**: from the connection (or the first byte of the next request on a keep-alive
  connection) to the end of the headers, at most ``header_timeout`` seconds, then a 408
  and the connection is closed;
- **body**: at most ``body_timeout`` seconds without a byte of the body while the server
  is reading it, then the connection is closed;
- **cap**: past ``max_connections`` a new connection first evicts the connection that has
  waited longest for headers or sat idle longest; when every connection is busy with a
  request, the newcomer is answered ``503`` with ``Retry-After`` and closed;
- **idle**: a kept-alive connection is not closed as idle (uvicorn's keep-alive timeout, or
  an eviction) while bytes of its next request wait in its socket. After the loop was held
  (a slow step, the GIL, a busy machine), due timers can run before the loop reads the
  sockets again, and uvicorn then closed a connection whose client had sent its request in
  time: the client saw a reset (the soak's ``httpx.ReadError``; ``tests/api/test_keep_alive.py``).

It does not limit request rates (``api.ratelimit``) nor read bodies (the app does). It
uses uvicorn's protocol internals, so only on the uvicorn versions tested
(``UVICORN_TESTED``); on any other, ``serve`` runs uvicorn's own protocol with uvicorn's
``limit_concurrency`` (503 without ``Retry-After``, no header timeout) and logs a warning.
"""

from __future__ import annotations

import asyncio
import logging
import select
from dataclasses import dataclass
from typing import Any

import uvicorn

log = logging.getLogger("watchdepth.serve.server")

#: uvicorn minor versions whose protocol internals this module and ``api.collect_fast``
#: were tested against (pyproject pins the same range).
UVICORN_TESTED = {(0, 55)}
#: Seconds a refused client is asked to wait.
RETRY_AFTER = 1


def uvicorn_version(text: str = uvicorn.__version__) -> tuple[int, int]:
    major, minor, *_ = (text.split(".") + ["0", "0"])[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def internals_usable(text: str = uvicorn.__version__) -> bool:
    """Whether uvicorn's protocol internals are the ones tested here (else: ordinary paths only)."""
    try:
        import uvicorn.protocols.http.httptools_impl  # noqa: F401
    except ImportError:  # pragma: no cover - uvicorn without httptools
        return False
    return uvicorn_version(text) in UVICORN_TESTED


@dataclass(frozen=True)
class Limits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 1000


BUSY_BODY = b'{"error":{"code":503503,"message":"too many connections; retry later"}}'
_LATE = b'{"error":{"code":408408,"message":"request headers too slow"}}'
TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_LATE), _LATE)
)


def bytes_waiting(transport: asyncio.BaseTransport) -> bool:
    """Whether the peer has sent something this process has not read yet (or closed its side)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))


async def _busy(scope: Any, receive: Any, send: Any) -> None:
    """The answer past the cap (uvicorn closes the connection after it: ``connection: close``)."""
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(BUSY_BODY)),
                (b"retry-after", b"%d" % RETRY_AFTER),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BUSY_BODY})


def protocol_class(limits: Limits) -> Any:
    """The httptools protocol of uvicorn with ``limits`` (call only when ``internals_usable()``).

    Deadlines are timestamps that one sweep per server checks a few times a second, not a
    timer per request, and a request passes through three small overrides: about 2 µs per
    request on top of uvicorn's ~24 (``bench/connections_bench.py``).
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    every = min(1.0, max(0.05, min(limits.header_timeout, limits.body_timeout) / 4))

    class Guarded(HttpToolsProtocol):
        """uvicorn's protocol; every override calls uvicorn's own method."""

        _sweeping = False  # one sweep per server (this class is made per server)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._due = 0.0  # loop time past which the connection has waited too long; 0: none
            self._reading_body = False  # what it waits for: the rest of its headers, or its body
            self._waiting_since = 0.0  # since when it waits for a request (its latest began)
            self._begun = False  # a request's first byte ever came (a 408 then tells the client why)

        # -- the cap ----------------------------------------------------------------------
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            now = self.loop.time()
            self._waiting_since = now
            self._due = now + limits.header_timeout
            if not Guarded._sweeping:
                Guarded._sweeping = True
                self.loop.call_later(every, sweep, self.loop, self.connections)
            if len(self.connections) > limits.max_connections and not self._evict_one():
                log.warning("more than %d connections: a request answered 503", limits.max_connections)
                self.app = _busy  # this connection's request gets the 503, then it closes

        def _evict_one(self) -> bool:
            """Close the connection waiting longest with no request in progress."""
            idle = [c for c in self.connections if c is not self and isinstance(c, Guarded) and c._evictable()]
            for oldest in sorted(idle, key=lambda c: c._waiting_since):
                if oldest.cycle is not None and bytes_waiting(oldest.transport):
                    continue  # kept alive, and its next request has come: not idle
                oldest.transport.close()
                self.connections.discard(oldest)
                return True
            return False

        def _evictable(self) -> bool:
            return (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing()

        # -- idle keep-alive ----------------------------------------------------------------
        def timeout_keep_alive_handler(self) -> None:
            """uvicorn's idle close, unless the next request is already in the socket (the loop
            reads it next, and the header deadline takes over)."""
            self.timeout_keep_alive_task = None
            if not self.transport.is_closing() and bytes_waiting(self.transport):
                return
            super().timeout_keep_alive_handler()

        # -- header and body deadlines ----------------------------------------------------
        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._begun:  # a later request on a kept-alive connection: its headers' deadline
                self._waiting_since = now = self.loop.time()
                self._due = now + limits.header_timeout
            self._begun = True
            self._reading_body = False

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._reading_body = True
            self._due = self.loop.time() + limits.body_timeout

        def on_body(self, body: bytes) -> None:
            super().on_body(body)
            self._due = self.loop.time() + limits.body_timeout

        def expire(self, now: float) -> None:
            """Called by the sweep once ``_due`` has passed."""
            self._due = 0.0
            if self.transport.is_closing():
                return
            if not self._reading_body:  # its headers are late
                if self._begun:
                    self.transport.write(TIMED_OUT)
                self.transport.close()
            elif self.cycle is None or not self.cycle.more_body:
                return  # the body is all in: the app has it (a slow answer is not the client's fault)
            elif self.flow.read_paused:  # the app has not read what came: not the client's fault either
                self._due = now + limits.body_timeout
            else:
                log.info("a request body stalled for %.0f s: connection closed", limits.body_timeout)
                self.transport.close()

    def sweep(loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        """Expire the connections past their deadline, then come back in a moment."""
        now = loop.time()
        for conn in [c for c in connections if isinstance(c, Guarded) and 0 < c._due <= now]:
            conn.expire(now)
        loop.call_later(every, sweep, loop, connections)

    return Guarded
