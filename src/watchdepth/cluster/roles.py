"""Roles of ``watchdepth serve`` in a cluster: ``all``, ``collector`` or ``api`` (docs/scale-out.md).

Input: ``Services`` built from ``Settings`` (``role``, ``store``, ``collectors``).
Output: the same services adapted to the role, and the routes that role serves:

- ``all``: today's single process (collector + API + dashboard); nothing changes.
- ``collector``: ``/collect`` and the import, ``/healthz``, ``/metrics`` and the internal
  ``/internal/watching-now`` that API nodes read. Its sessionizer holds only the sessions
  routed to it (the balancer hashes the ``s`` URL parameter): on start it rebuilds
  only the sessions it listed as its own recently (``OwnSessions``); any other comes
  back from the stored log on first sight.
- ``api``: analytics, catalog, dashboard, exports. No ingest loop: its "watching now"
  is the sum of the collectors' snapshots (``live_sum``).

Collectors and API nodes re-read the catalog and tokens from the shared store every
few seconds, so a video created on an API node is accepted by every collector soon after.
It does not route anything itself (the balancer does) and holds no metric definition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from watchdepth.cluster.live_sum import CollectorFanout
from watchdepth.collect.event import Event
from watchdepth.errors import ServiceError, WatchdepthError
from watchdepth.serve.ingest import Accepted, IngestStats
from watchdepth.serve.services import Services
from watchdepth.sessionize import Sessionizer

log = logging.getLogger("watchdepth.cluster")

ROLES = ("all", "collector", "api")
#: How often collectors and API nodes re-read the catalog and tokens from the store.
REFRESH_SECONDS = 2.0
#: Path prefixes each role serves (``all`` serves everything).
COLLECTOR_PATHS = ("/collect", "/v1/events/import", "/healthz", "/metrics", "/internal/")
API_EXCLUDED_PATHS = ("/collect", "/v1/events/import")


def check(settings: Any) -> None:
    """Refuse a role that cannot work with this store (before anything is served)."""
    if settings.role not in ROLES:
        raise WatchdepthError(f"unknown role {settings.role!r}: one of {', '.join(ROLES)}")
    if settings.role != "all" and not settings.store.startswith("clickhouse"):
        raise WatchdepthError(
            f"--role {settings.role} needs a store shared by several processes: give "
            "--store clickhouse://user:pass@host:8123/db (the embedded DuckDB file is locked by "
            "one process, so it only runs as --role all)"
        )


def adapt(services: Services) -> None:
    """Adapt ``services`` to its role in place (call before ``create_app``)."""
    role = services.settings.role
    if role == "collector":
        services.ingest.lazy_rebuild = True
        OwnSessions(services).restore()
        if getattr(services, "exports", None) is not None:
            services.exports = None  # reports are the API nodes' work
    elif role == "api":
        services.ingest = ApiNodeIngest(CollectorFanout(services.settings.collectors))  # type: ignore[assignment]


def routes_for(role: str, routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """The subset of ``routes`` a role serves, plus the internal ones a collector adds."""
    if role == "collector":
        kept = [r for r in routes if _path(r).startswith(COLLECTOR_PATHS)]
        return kept + [Route("/internal/watching-now", watching_now_route, methods=["GET"])]
    if role == "api":
        return [r for r in routes if not _path(r).startswith(API_EXCLUDED_PATHS)]
    return list(routes)


def _path(route: BaseRoute) -> str:
    return str(getattr(route, "path", ""))


async def watching_now_route(request: Request) -> Response:
    """``GET /internal/watching-now``: this collector's content id -> sessions watching now.

    Only counts, no personal data; still, the example balancer does not expose it.
    """
    services: Services = request.app.state.services
    return JSONResponse({"watching_now": dict(services.ingest.watching_now())})


# -- refreshing what other nodes change --------------------------------------------------------


def refresh(services: Services) -> None:
    """Re-read the catalog and tokens from the store, updating the live mappings in place."""
    services.catalog.refresh_from(services.store)
    services.tokens.refresh_from(services.store)


class Refresher:
    """A background task calling ``refresh`` every ``every`` seconds (collector and API roles)."""

    def __init__(self, services: Services, every: float = REFRESH_SECONDS) -> None:
        self.services = services
        self.every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        own = OwnSessions(self.services) if self.services.settings.role == "collector" else None
        while True:
            await asyncio.sleep(self.every)
            try:
                if own is not None:
                    await own.save()
                await asyncio.to_thread(refresh, self.services)
            except Exception:  # noqa: BLE001 - retried on the next round
                log.exception("catalog refresh failed")


# -- a collector's own recent sessions, across a restart --------------------------------------------


class OwnSessions:
    """The ids of a collector's recently active sessions, in ``DATA/collector-sessions.txt``.

    Written every ``REFRESH_SECONDS`` (atomically); read back on start so that a restarted
    collector rebuilds, from the shared log, exactly the sessions that were its own and
    active in the last ``RECENT_MS`` (they matter for watching now). Older ones come back
    lazily on first sight. A kill loses at most the sessions that began since the last write.
    """

    RECENT_MS = 120_000

    def __init__(self, services: Services) -> None:
        self.services = services
        self.path = services.settings.data_dir / "collector-sessions.txt"

    def restore(self) -> int:
        """Replay the listed sessions from the store (before the ingest loop starts)."""
        try:
            ids = [x for x in self.path.read_text().split() if x]
        except FileNotFoundError:
            return 0
        ingest = self.services.ingest
        if ids:
            ingest.sessionizer.replay(self.services.store.session_log(ids))
        log.info("rebuilt %d recent sessions of this collector", len(ids))
        return len(ids)

    async def save(self) -> None:
        horizon = int(time.time() * 1000) - self.RECENT_MS
        ids = await self.services.ingest.active_sessions(horizon)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("\n".join(ids))
        os.replace(tmp, self.path)


# -- the API node's stand-in for the ingest loop ------------------------------------------------


class ApiNodeIngest:
    """What an API node has instead of an ingest loop: no sessions, summed watching-now.

    ``start``/``stop`` run the collectors' poller; ``submit`` refuses (events go to a
    collector); ``watching_now`` is the latest sum over the collectors.
    """

    def __init__(self, fanout: CollectorFanout) -> None:
        self.fanout = fanout
        self.stats = IngestStats()
        self.sessionizer = Sessionizer()  # always empty; /metrics reads its size

    async def start(self, maintain_every: float = 30.0) -> None:
        self.fanout.start()

    async def stop(self) -> None:
        await self.fanout.stop()

    async def submit(self, events: Sequence[Event], kind: str = "collect") -> Accepted:
        raise ServiceError("this node serves the API only (--role api): send events to a collector")

    def run_sync(self, events: Sequence[Event], kind: str = "import") -> Accepted:
        raise ServiceError("this node serves the API only (--role api): send events to a collector")

    def watching_now(self) -> Counter[str]:
        return self.fanout.watching_now()
