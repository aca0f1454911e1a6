"""The running service's parts, as a route finds them: ``request.app.state.services``.

Input: a Starlette request. Output: the ``Services`` that ``app.create_app`` put there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

if TYPE_CHECKING:
    from watchdepth.serve.services import Services


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
