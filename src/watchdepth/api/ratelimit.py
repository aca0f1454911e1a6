"""Request rate limits: per token on ``/v1``, per client IP on ``/collect`` (token buckets).

Input: a rate setting (``"RATE:BURST"``: requests per second and the most at once, e.g.
``"100:1000"``; ``"off"`` disables) and each request's key. Output: ``429`` with code
429429 and ``Retry-After`` (whole seconds until a request would pass) past the rate.
A ``/v1`` request is keyed by the credential it presents (the ``Authorization`` header or
the dashboard cookie; with neither, the peer address), so unknown tokens are limited too
and the limit costs no token lookup. ``/collect`` is keyed by the client IP as the
collector determines it (``X-Forwarded-For`` only from trusted proxies), and is off by
default. The fast path (``api.collect_fast``) checks ``/collect`` itself and marks the
request, so it is counted once.
It does not authenticate (``api.auth``) nor cap connections (``api.connections``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from watchdepth.api.errors import error_body
from watchdepth.collect.geo import client_ip
from watchdepth.errors import RateLimited, ValidationFailed

#: Set in the ASGI scope by whoever already counted a /collect request against its limit.
CHECKED = "watchdepth.rate_checked"
#: Most keys remembered; past it, keys whose bucket has refilled are forgotten.
MAX_KEYS = 100_000


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: float


def parse_rate(text: str, setting: str = "rate limit") -> Rate | None:
    """``"RATE[:BURST]"`` (BURST defaults to RATE, at least 1); ``""``, ``"0"``, ``"off"``: None."""
    text = text.strip().lower()
    usage = (
        f"{setting} is 'RATE:BURST' (requests per second, most at once; RATE > 0, BURST >= 1) or 'off', not {text!r}"
    )
    if text in ("", "0", "off", "none"):
        return None
    rate_text, _, burst_text = text.partition(":")
    try:
        rate = float(rate_text.removesuffix("/s"))
        burst = float(burst_text) if burst_text else max(1.0, rate)
    except ValueError:
        raise ValidationFailed(usage) from None
    if not (math.isfinite(rate) and rate > 0 and math.isfinite(burst) and burst >= 1):
        raise ValidationFailed(usage)
    return Rate(rate, burst)


class Buckets:
    """One token bucket per key, refilled at ``rate.per_second`` up to ``rate.burst``."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS) -> None:
        self.rate = rate
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """0 when a request with ``key`` may pass now (and counts it), else seconds to wait."""
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.rate.burst, now))
        tokens = min(self.rate.burst, tokens + (now - at) * self.rate.per_second)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate.per_second
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            self._forget_full(now)
        self._buckets[key] = (tokens - 1, now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        full = self.rate.burst
        refilled = [k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate.per_second >= full]
        for k in refilled:
            del self._buckets[k]
        if len(self._buckets) >= self.max_keys:  # a flood of fresh keys: start over rather than grow
            self._buckets.clear()


def buckets(value: str, setting: str) -> Buckets | None:
    """The buckets of a rate setting's ``value``, None when it is off (ValidationFailed when malformed)."""
    rate = parse_rate(value, setting)
    return Buckets(rate) if rate is not None else None


def refusal(wait: float) -> tuple[dict[str, object], dict[str, str]]:
    """The 429's body and headers for a client that must wait ``wait`` seconds."""
    seconds = max(1, math.ceil(wait))
    exc = RateLimited(f"too many requests; retry in {seconds} s")
    return error_body(exc), {"retry-after": str(seconds)}


class RateLimit:
    """ASGI middleware: the ``/v1`` limit, and the ``/collect`` one unless already counted."""

    def __init__(
        self, app: ASGIApp, *, api: Buckets | None, collect: Buckets | None, trusted_proxies: tuple[str, ...]
    ) -> None:
        self.app = app
        self.api = api
        self.collect = collect
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            wait = self._wait(scope)
            if wait:
                body, headers = refusal(wait)
                await JSONResponse(body, status_code=429, headers=headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _wait(self, scope: Scope) -> float:
        path: str = scope["path"]
        if self.api is not None and path.startswith("/v1/"):
            return self.api.take(_credential(scope))
        if self.collect is not None and path == "/collect" and scope["method"] == "POST" and not scope.get(CHECKED):
            headers = dict(scope["headers"])
            forwarded = headers.get(b"x-forwarded-for")
            peer = scope["client"][0] if scope.get("client") else ""
            return self.collect.take(
                client_ip(peer, forwarded.decode("latin-1") if forwarded else None, self.trusted_proxies)
            )
        return 0.0


def _credential(scope: Scope) -> str:
    """What identifies a /v1 caller: its Authorization header, its dashboard cookie, else its address."""
    cookie = b""
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"authorization":
            return "a:" + value.decode("latin-1")
        if name == b"cookie":
            cookie = value
    for part in cookie.decode("latin-1").split(";"):
        key, _, text = part.strip().partition("=")
        if key == "wd_token" and text:
            return "a:Bearer " + text
    client = scope.get("client")
    return "ip:" + (str(client[0]) if client else "")
