"""HTTP routes of report export and of table downloads (referrers as CSV/XLSX).

Input: requests. Output: Starlette ``Route``s: ``POST /v1/analytics/exports``,
``GET /v1/analytics/exports/{id}``, ``POST /v1/analytics/exports/{id}/retry``, the
public signed link ``GET /exports/download/{token}``, and (``referrer_routes``)
``/v1/analytics/referrers.csv`` and ``.xlsx``; ``http_routes`` wires them to the
app's tokens, ``admin_routes`` gives the admin socket's ``/admin/exports`` that the
``watchdepth export`` command uses while a server holds the data dir. Errors are
raised as ``errors.py`` exceptions for the app's one handler to render. ``routes``
and ``referrer_routes`` do not authenticate by themselves (``auth`` is given, so
tests can pass a fake); nothing here computes a number (``export`` builds the
files, ``query`` the rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from watchdepth.api import analytics
from watchdepth.api.auth import authorize
from watchdepth.api.bodies import json_object
from watchdepth.api.context import services as _services
from watchdepth.catalog.tokens import Token
from watchdepth.errors import NotFound
from watchdepth.export.files import MEDIA_TYPES, write_table
from watchdepth.export.jobs import ExportWorker
from watchdepth.export.jobstore import Job
from watchdepth.export.service import may_see, scoped_spec
from watchdepth.export.source import ExportSpec, parse_spec

#: ``auth(request, write)`` raises NotAuthenticated, BadToken or Forbidden, else returns the token.
Auth = Callable[[Request, bool], Any]
#: ``scope(spec, token)``: the spec limited to what the token may export (raises NotFound/Forbidden).
Scope = Callable[[ExportSpec, Any], ExportSpec]
#: ``may_see(job, token)``: whether the token may read this job (else it is a 404 to it).
MaySee = Callable[[Job, Any], bool]
#: The rows of ``GET /v1/analytics/referrers`` for a request (same parameters).
ReferrerRows = Callable[[Request], list[dict[str, object]]]
REFERRER_COLUMNS = ("domain", "url", "views", "player_loads", "view_rate")
MAX_BODY = 64 * 1024


def routes(worker: ExportWorker, auth: Auth, scope: Scope | None = None, may_see: MaySee | None = None) -> list[Route]:
    """Creating and retrying are writes (a read-only token gets 403); ``scope`` narrows a spec to the token."""

    def visible(job_id: str, token: Any) -> Job:
        job = worker.get(job_id)
        if may_see is not None and not may_see(job, token):
            raise NotFound(f"no export {job_id!r}")
        return job

    async def create(request: Request) -> Response:
        """Queue a report export; a write."""
        token = auth(request, True)
        spec = parse_spec(await _json_object(request))
        if scope is not None:
            spec = scope(spec, token)
        job = await run_in_threadpool(worker.submit, spec)
        return JSONResponse({"data": {"id": job.id, "status": job.status}}, status_code=202)

    async def status(request: Request) -> Response:
        """A report's status, progress, reason and, when done, its signed download_url."""
        token = auth(request, False)
        job = await run_in_threadpool(visible, request.path_params["id"], token)
        return JSONResponse({"data": job_view(worker, job)})

    async def retry(request: Request) -> Response:
        """Retry a failed report, or mail one again."""
        token = auth(request, True)
        await run_in_threadpool(visible, request.path_params["id"], token)
        job = await run_in_threadpool(worker.retry, request.path_params["id"])
        return JSONResponse({"data": job_view(worker, job)}, status_code=202)

    async def download(request: Request) -> Response:
        """The report's ZIP behind a signed link (no token; 404 tampered, 410 expired)."""
        path, name = await run_in_threadpool(worker.open_download, request.path_params["token"])
        return FileResponse(path, media_type=MEDIA_TYPES["zip"], filename=name, headers={"Cache-Control": "no-store"})

    return [
        Route("/v1/analytics/exports", create, methods=["POST"]),
        Route("/v1/analytics/exports/{id}", status, methods=["GET"]),
        Route("/v1/analytics/exports/{id}/retry", retry, methods=["POST"]),
        Route("/exports/download/{token}", download, methods=["GET"]),
    ]


def referrer_routes(rows: ReferrerRows, auth: Auth) -> list[Route]:
    """``referrers.csv`` and ``.xlsx``: the JSON endpoint's rows, one line per domain then one per page."""

    def endpoint(fmt: str) -> Callable[[Request], Response]:
        def table(request: Request) -> Response:  # sync: Starlette runs it in the thread pool
            """The referrers table as a file: one line per domain, then one per page."""
            auth(request, False)
            return table_response(referrer_table(rows(request)), REFERRER_COLUMNS, fmt, "referrers")

        return table

    return [
        Route("/v1/analytics/referrers.csv", endpoint("csv"), methods=["GET"]),
        Route("/v1/analytics/referrers.xlsx", endpoint("xlsx"), methods=["GET"]),
    ]


def table_response(rows: Iterable[Mapping[str, object]], columns: Sequence[str], fmt: str, name: str) -> Response:
    """A small table as a downloadable ``<name>.<fmt>`` (CSV or XLSX, neutralised like reports)."""
    disposition = f'attachment; filename="{name}.{fmt}"'
    return Response(
        write_table(rows, columns, fmt), media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition}
    )


def referrer_table(domains: list[dict[str, object]]) -> Iterator[Mapping[str, object]]:
    """Flatten ``[{"domain", …, "pages": [{"url", …}]}]``: a domain's total line (empty url), then its pages."""
    for d in domains:
        yield {**d, "url": None}
        pages = d.get("pages") or []
        assert isinstance(pages, list)
        for page in pages:
            yield {**page, "domain": d["domain"]}


def job_view(worker: ExportWorker, job: Job) -> dict[str, object]:
    """A job as ``GET /v1/analytics/exports/{id}`` shows it."""
    view: dict[str, object] = {
        "id": job.id,
        "status": job.status,
        "format": job.spec.format,
        "progress": {"rows_done": job.rows_done, "rows_total": job.rows_total},
        "mail": job.mail,
        "created_at": _iso(job.created_at),
        "finished_at": _iso(job.finished_at),
    }
    if job.reason:
        view["reason"] = job.reason
    if job.expires_at is not None:
        view["expires_at"] = _iso(job.expires_at)
    url = worker.download_url(job)
    if url is not None:
        view["download_url"] = url
    return view


# -- wired to the app's tokens (serve) -------------------------------------------------------


def http_routes(services: Any, worker: ExportWorker) -> list[Route]:
    """The export routes and the referrers files, checked with the app's tokens."""

    def auth(request: Request, write: bool) -> Token:
        return authorize(request, write=write)

    def scope(spec: ExportSpec, token: Token) -> ExportSpec:
        return scoped_spec(services.catalog, spec, token.projects)

    def visible(job: Job, token: Token) -> bool:
        return may_see(job, token.projects)

    return routes(worker, auth, scope, visible) + referrer_routes(analytics.referrer_rows, auth)


# -- admin routes (the CLI while a server runs) ------------------------------------------------


def _running_worker(request: Request) -> ExportWorker:
    worker: ExportWorker | None = _services(request).exports
    if worker is None:
        raise NotFound("report export is not running on this server")
    return worker


async def admin_submit(request: Request) -> Response:
    """A spec from the CLI (the API's body); the socket's owner may export every project."""
    worker = _running_worker(request)
    spec = parse_spec(await _json_object(request))
    spec = scoped_spec(_services(request).catalog, spec, None)  # an unknown folder is 404
    job = worker.submit(spec)
    return JSONResponse(admin_view(worker, job), status_code=202)


async def admin_status(request: Request) -> Response:
    worker = _running_worker(request)
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


async def _json_object(request: Request) -> dict[str, object]:
    return await json_object(request, MAX_BODY)  # size, syntax, depth and top-level type: api.bodies


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
