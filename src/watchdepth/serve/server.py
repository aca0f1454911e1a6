"""Running ``watchdepth serve``: the public HTTP server and the admin socket in one process.

Input: ``Settings``. Output: a process serving until SIGINT/SIGTERM, then flushing the
ingest loop. A second server on the same data dir is refused with a clear message (one
process holds the DuckDB file). The public server runs uvicorn's httptools protocol with
the header/body timeouts and connection cap of ``api.connections`` (``public_config``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from watchdepth.api import connections, live
from watchdepth.api.collect_fast import FastCollect
from watchdepth.cluster import roles as cluster
from watchdepth.config import Settings
from watchdepth.serve import gc_tuning
from watchdepth.serve.app import create_admin_app, create_app
from watchdepth.serve.services import Services

log = logging.getLogger("watchdepth.serve.server")


class _AdminServer(uvicorn.Server):
    """The admin socket's server leaves signal handling to the public one."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _PublicServer(uvicorn.Server):
    """Ends the live event streams (SSE) as soon as shutdown begins, so they do not hold it."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        live.close_streams(self.config.app)


def run(services: Services, extra_routes: list[BaseRoute] | None = None) -> None:
    """Serve until stopped, on uvloop when it is installed (``uvicorn[standard]`` brings it).

    ``uvicorn.run`` would pick uvloop itself; ``serve`` runs inside our own loop, so we pick it.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop does not build on Windows
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(services, extra_routes))


def public_config(app: Any, settings: Settings) -> uvicorn.Config:
    """uvicorn's configuration for the public app: keep-alive, timeouts, the connection cap."""
    cap = connection_cap(settings.max_connections)
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 10,
        "timeout_keep_alive": settings.keep_alive_timeout,
    }
    if not connections.internals_usable():
        log.warning(
            "uvicorn %s is not a version watchdepth was tested with (%s): no header timeout, and the "
            "connection cap answers 503 without Retry-After",
            uvicorn.__version__,
            connections.UVICORN_TESTED,
        )
        return uvicorn.Config(app, limit_concurrency=cap, **common)
    limits = connections.Limits(settings.header_timeout, settings.body_timeout, cap)
    return uvicorn.Config(app, http=connections.protocol_class(limits), **common)


#: File descriptors kept for the store, the journal, exports and the admin socket.
FD_RESERVE = 128


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered when the process may not open that many files (after raising its
    soft limit to the hard one): past the file limit, accept() fails and nobody is served."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > soft):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    if soft == resource.RLIM_INFINITY or wanted + FD_RESERVE <= soft:
        return wanted
    cap = max(1, soft - FD_RESERVE)
    log.warning("at most %d connections (the file limit is %d; raise it with ulimit -n)", cap, soft)
    return cap


async def serve(services: Services, extra_routes: list[BaseRoute] | None = None) -> None:
    settings = services.settings
    cluster.check(settings)
    cluster.adapt(services)
    refresher = cluster.Refresher(services) if settings.role != "all" else None
    app: ASGIApp = create_app(services, extra_routes=extra_routes)
    if settings.role != "api":  # POST /collect below the framework on its happy path
        app = FastCollect(app, services)
    public = _PublicServer(public_config(app, settings))
    sock = settings.admin_socket
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    admin = _AdminServer(
        uvicorn.Config(
            create_admin_app(services),
            uds=str(sock),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    admin_task = asyncio.create_task(admin.serve())
    gc_tuning.tune()
    freezer = asyncio.create_task(gc_tuning.freeze_after_warm_up())
    try:
        await asyncio.sleep(0)
        while not admin.started and not admin_task.done():
            await asyncio.sleep(0.01)
        if sock.exists():
            os.chmod(sock, 0o600)
        if refresher is not None:
            refresher.start()
        await public.serve()
    finally:
        freezer.cancel()
        if refresher is not None:
            await refresher.stop()
        admin.should_exit = True
        await admin_task
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
