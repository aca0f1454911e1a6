"""Who is asking: the token of a /v1 request (``Authorization: Bearer`` or the dashboard's cookie).

Input: a Starlette request. Output: the ``Token`` (``catalog.tokens``) with its project
scope and read-only flag, or 100101/100102/100103. Each route says what it needs.
"""

from __future__ import annotations

from starlette.requests import Request

from watchdepth.api.context import services
from watchdepth.catalog.tokens import Token

#: The dashboard's session cookie: the token itself, HttpOnly, SameSite=Strict.
COOKIE = "wd_token"


def authorize(request: Request, *, write: bool = False) -> Token:
    """The request's token, or 100101/100102/100103 (``write``: 100103 for a read-only one)."""
    return services(request).tokens.authenticate(
        request.headers.get("authorization"), request.cookies.get(COOKIE), write=write
    )
