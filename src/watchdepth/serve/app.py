"""Wiring only: the ASGI app of ``watchdepth serve`` and the admin app on a local socket.

Input: ``Services``. Output: Starlette apps whose lifespan starts and stops the ingest
loop. Every route comes from its own module; no logic lives here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from watchdepth.api import admin, analytics, catalog, intake, live, ops, ratelimit
from watchdepth.api.errors import EXCEPTION_HANDLERS, CatchAll, RequestID
from watchdepth.api.ratelimit import RateLimit
from watchdepth.cluster import roles as cluster
from watchdepth.serve.services import Services


def public_routes(services: Services) -> list[BaseRoute]:
    routes: list[BaseRoute] = [*intake.routes(), *analytics.routes(), *live.routes(), *catalog.routes(), *ops.routes()]
    return routes


def create_app(services: Services, *, extra_routes: list[BaseRoute] | None = None) -> Starlette:
    """The public app: collector, API, dashboard. Its lifespan runs the ingest loop."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.ingest.start()
        if services.exports is not None:
            services.exports.start()  # resumes the unfinished report jobs of the data dir
        try:
            yield
        finally:
            if services.exports is not None:
                await anyio.to_thread.run_sync(services.exports.stop)
            await services.ingest.stop()

    settings = services.settings
    limits = Middleware(
        RateLimit,
        api=ratelimit.buckets(settings.rate_limit_api, "WATCHDEPTH_RATE_LIMIT_API"),
        collect=ratelimit.buckets(settings.rate_limit_collect, "WATCHDEPTH_RATE_LIMIT_COLLECT"),
        trusted_proxies=settings.trusted_proxies,
    )
    app = Starlette(
        routes=cluster.routes_for(settings.role, public_routes(services) + list(extra_routes or [])),
        middleware=[Middleware(RequestID), Middleware(CatchAll), limits],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.services = services
    return app


def create_admin_app(services: Services) -> Starlette:
    """Commands for the CLI while ``serve`` holds the data dir (a Unix socket, owner only)."""
    app = Starlette(
        routes=admin.routes(),
        middleware=[Middleware(RequestID), Middleware(CatchAll)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.services = services
    return app


def feature_routes(services: Services) -> list[BaseRoute]:
    """Tracker pages, dashboard and exports, which ``serve`` adds to ``public_routes``.

    Imported unconditionally: they need no optional package, and a broken import must stop
    ``serve`` with its traceback rather than remove routes silently. (Only the ClickHouse
    backend is optional; ``store`` imports it when a DSN asks for it.)
    """
    from watchdepth.api.exports import http_routes
    from watchdepth.export.service import build_worker
    from watchdepth.tracker.routes import routes as tracker_routes
    from watchdepth.web.routes import routes as web_routes

    out: list[BaseRoute] = [*tracker_routes(services.catalog.content.get)]
    out += web_routes(lambda secret: services.tokens.check(secret) is not None)
    if services.settings.role != "collector":  # a collector serves no report routes: no worker either
        services.exports = build_worker(services)
        out += http_routes(services, services.exports)
    return out
