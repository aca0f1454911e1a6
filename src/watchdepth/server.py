"""Running ``watchdepth serve``: the public HTTP server and the admin socket in one process.

Input: ``Settings``. Output: a process serving until SIGINT/SIGTERM, then flushing the
ingest loop. A second server on the same data dir is refused with a clear message (one
process holds the DuckDB file).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from types import FrameType

import uvicorn

from watchdepth import cluster, gc_tuning
from watchdepth.api import live
from watchdepth.api.collect_fast import FastCollect
from watchdepth.app import create_admin_app, create_app
from watchdepth.services import Services

log = logging.getLogger("watchdepth.server")


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


def run(services: Services, extra_routes: list | None = None) -> None:  # type: ignore[type-arg]
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


async def serve(services: Services, extra_routes: list | None = None) -> None:  # type: ignore[type-arg]
    settings = services.settings
    cluster.check(settings)
    cluster.adapt(services)
    refresher = cluster.Refresher(services) if settings.role != "all" else None
    app = create_app(services, extra_routes=extra_routes)
    if settings.role != "api":  # POST /collect below the framework on its happy path
        app = FastCollect(app, services)  # type: ignore[assignment]
    public = _PublicServer(uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
        proxy_headers=False, lifespan="on", timeout_graceful_shutdown=10,
    ))
    sock = settings.admin_socket
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    admin = _AdminServer(uvicorn.Config(
        create_admin_app(services), uds=str(sock), log_level="warning", access_log=False, lifespan="off",
    ))
    admin_task = asyncio.create_task(admin.serve())
    gc_tuning.tune()
    freezer = asyncio.create_task(gc_tuning.freeze_survivors())
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
