"""Report export inside ``watchdepth serve``: the worker, its HTTP routes and its admin routes.

Input: ``Services`` (store, catalog, tokens, settings). Output: an ``ExportWorker``
whose source is ``query.report.StoreReportSource`` and whose mailer uses the
``smtp_*`` settings and ``mail_from`` (links start with ``base_url``); the public
routes (exports, referrers.csv/.xlsx) with the app's token checks; the admin-socket
routes the ``watchdepth export`` command uses while a server holds the data dir.
It does not start or stop the worker (the app's lifespan does) and computes no number.

Retries and link lifetime are settings (``smtp_attempts``, ``smtp_backoff``, ``export_ttl``).
One test hook is read from the environment only: ``WATCHDEPTH_EXPORT_TEST_ROW_PAUSE``
(seconds per row) slows every build down so a test can kill a server mid-job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import msgspec
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchdepth.api.auth import authorize
from watchdepth.catalog.tokens import Token
from watchdepth.errors import Forbidden, NotFound
from watchdepth.export.jobs import ExportWorker
from watchdepth.export.jobstore import Job
from watchdepth.export.mailer import Mailer, SmtpSettings
from watchdepth.export.routes import _json_object, job_view, referrer_routes, routes
from watchdepth.export.source import ExportSpec, ReportSource, parse_spec
from watchdepth.query.report import StoreReportSource

#: Whoever can open the admin socket: every project, and writes.
OWNER = Token("admin-socket", "admin-socket", None, False)
#: The referrers file holds the JSON's largest page unless ``per_page`` is given.
FILE_PER_PAGE = "1000"


def mailer(settings: Any) -> Mailer | None:
    """The report mailer, or None when no SMTP host is set (e-mail is then refused, links still work)."""
    if not settings.smtp_host:
        return None
    return Mailer(SmtpSettings(
        host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
        user=settings.smtp_user, password=settings.smtp_password, sender=settings.mail_from,
        attempts=settings.smtp_attempts, backoff=settings.smtp_backoff,
    ))


def build_worker(services: Any) -> ExportWorker:
    """The worker of a server (or of the offline CLI) on ``services``' data dir."""
    s = services.settings
    source: ReportSource = StoreReportSource(services.store, services.catalog, s.timezone)
    pause = float(os.environ.get("WATCHDEPTH_EXPORT_TEST_ROW_PAUSE", "0") or 0)
    every = 1000
    if pause > 0:
        source, every = _Paused(source, pause), 1
    return ExportWorker(source, s.data_dir, mailer(s), s.public_url, workers=2, ttl=s.export_ttl,
                        progress_every=every)


class _Paused:
    """A source that sleeps before every row (the test hook above)."""

    def __init__(self, inner: ReportSource, pause: float) -> None:
        self.inner, self.pause = inner, pause

    def export_rows(self, spec: ExportSpec) -> Iterator[dict[str, object]]:
        for row in self.inner.export_rows(spec):
            time.sleep(self.pause)
            yield row

    def count_rows(self, spec: ExportSpec) -> int:
        return self.inner.count_rows(spec)


# -- public routes --------------------------------------------------------------------------


def http_routes(services: Any, worker: ExportWorker) -> list[Route]:
    """The export routes and the referrers files, checked with the app's tokens."""

    def auth(request: Request, write: bool) -> Token:
        return authorize(request, write=write)  # type: ignore[no-any-return]

    def scope(spec: ExportSpec, token: Token) -> ExportSpec:
        return scoped_spec(services.catalog, spec, token)

    def may_see(job: Job, token: Token) -> bool:
        if token.projects is None:
            return True
        return job.spec.projects is not None and set(job.spec.projects) <= set(token.projects)

    return routes(worker, auth, scope, may_see) + referrer_routes(referrer_rows, auth)


def scoped_spec(catalog: Any, spec: ExportSpec, token: Token) -> ExportSpec:
    """The spec with the token's projects; an unknown folder is 404, a folder of another project 403."""
    for fid in spec.folder_ids:
        folder = catalog.folders.get(fid)
        if folder is None:
            raise NotFound(f"no folder with id {fid!r}")
        if not token.allows(folder["project_id"]):
            raise Forbidden(f"this token may not touch project {folder['project_id']!r}")
    projects = list(token.projects) if token.projects is not None else None
    return msgspec.structs.replace(spec, projects=projects)


def referrer_rows(request: Request) -> list[dict[str, object]]:
    """The rows ``GET /v1/analytics/referrers`` answers for the same parameters (its own handler runs).

    Called from a worker thread (the file routes are sync). Without ``per_page`` the
    file holds the JSON's largest page.
    """
    from watchdepth.api import analytics

    if "per_page" not in request.query_params:
        items = [*request.query_params.multi_items(), ("per_page", FILE_PER_PAGE)]
        scope = {**request.scope, "query_string": str(QueryParams(items)).encode()}
        request = Request(scope, request.receive)
    response = anyio.from_thread.run(analytics.referrers, request)
    return msgspec.json.decode(bytes(response.body))["data"]  # type: ignore[no-any-return]


# -- admin routes (the CLI while a server runs) ------------------------------------------------


def _worker(request: Request) -> ExportWorker:
    worker = getattr(request.app.state.services, "exports", None)
    if worker is None:
        raise NotFound("report export is not running on this server")
    return worker  # type: ignore[no-any-return]


async def admin_submit(request: Request) -> Response:
    """A spec from the CLI (the API's body); the socket's owner may export every project."""
    worker = _worker(request)
    spec = parse_spec(await _json_object(request))
    spec = scoped_spec(request.app.state.services.catalog, spec, OWNER)  # an unknown folder is 404
    job = worker.submit(spec)
    return JSONResponse(admin_view(worker, job), status_code=202)


async def admin_status(request: Request) -> Response:
    worker = _worker(request)
    return JSONResponse(admin_view(worker, worker.get(request.path_params["id"])))


def admin_view(worker: ExportWorker, job: Job) -> dict[str, Any]:
    """The job as stored, with its ZIP's path and link when done (for the CLI's output)."""
    out: dict[str, Any] = {"job": msgspec.to_builtins(job), "view": job_view(worker, job)}
    if job.status == "done":
        out["path"] = str(worker.store.zip_path(job.id))
    return out


def admin_routes() -> list[Route]:
    return [
        Route("/admin/exports", admin_submit, methods=["POST"]),
        Route("/admin/exports/{id}", admin_status, methods=["GET"]),
    ]
