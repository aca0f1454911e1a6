"""Report export in a process that holds the data dir: the worker, and a caller's scope of a spec.

Input: ``Services`` (store, catalog, settings). Output: an ``ExportWorker`` whose
source is ``query.report.StoreReportSource`` and whose mailer uses the ``smtp_*``
settings and ``mail_from`` (links start with ``base_url``); ``scoped_spec`` and
``may_see``, which limit specs and jobs to the projects a caller may see (given as
plain values: the caller's token stays in ``api``). It does not start or stop the
worker (the app's lifespan does), serves no HTTP (``api.exports`` wires the routes of
``serve`` and of its admin socket) and computes no number.

Retries and link lifetime are settings (``smtp_attempts``, ``smtp_backoff``, ``export_ttl``).
One test hook is read from the environment only: ``WATCHDEPTH_EXPORT_TEST_ROW_PAUSE``
(seconds per row) slows every build down so a test can kill a server mid-job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from watchdepth.errors import Forbidden, NotFound
from watchdepth.export.jobs import ExportWorker
from watchdepth.export.jobstore import Job
from watchdepth.export.mailer import Mailer, SmtpSettings
from watchdepth.export.source import ExportSpec, ReportSource
from watchdepth.query.report import StoreReportSource


def mailer(settings: Any) -> Mailer | None:
    """The report mailer, or None when no SMTP host is set (e-mail is then refused, links still work)."""
    if not settings.smtp_host:
        return None
    return Mailer(
        SmtpSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=settings.smtp_password,
            sender=settings.mail_from,
            attempts=settings.smtp_attempts,
            backoff=settings.smtp_backoff,
        )
    )


def build_worker(services: Any) -> ExportWorker:
    """The worker of a server (or of the offline CLI) on ``services``' data dir."""
    s = services.settings
    source: ReportSource = StoreReportSource(services.store, services.catalog, s.timezone)
    pause = float(os.environ.get("WATCHDEPTH_EXPORT_TEST_ROW_PAUSE", "0") or 0)
    every = 1000
    if pause > 0:
        source, every = _Paused(source, pause), 1
    return ExportWorker(source, s.data_dir, mailer(s), s.public_url, workers=2, ttl=s.export_ttl, progress_every=every)


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


# -- the scope of a caller --------------------------------------------------------------------


def scoped_spec(catalog: Any, spec: ExportSpec, projects: Sequence[str] | None) -> ExportSpec:
    """The spec limited to ``projects`` (None: every project); an unknown folder is 404, a folder of another project 403."""
    for fid in spec.folder_ids:
        folder = catalog.folders.get(fid)
        if folder is None:
            raise NotFound(f"no folder with id {fid!r}")
        if projects is not None and folder["project_id"] not in projects:
            raise Forbidden(f"this token may not touch project {folder['project_id']!r}")
    return msgspec.structs.replace(spec, projects=list(projects) if projects is not None else None)


def may_see(job: Job, projects: Sequence[str] | None) -> bool:
    """Whether a caller limited to ``projects`` (None: every project) may read this job."""
    if projects is None:
        return True
    return job.spec.projects is not None and set(job.spec.projects) <= set(projects)
