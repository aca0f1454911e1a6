"""Routes of live analytics: the realtime SSE stream and concurrency (issue 6; not built yet)."""

from __future__ import annotations

from starlette.routing import Route


def routes() -> list[Route]:
    return []
