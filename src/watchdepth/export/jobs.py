"""The export worker: a bounded pool of threads that turns queued jobs into mailed ZIPs.

Input: specs (``submit``) and a ``ReportSource``. Output: ``DATA/exports/files/<id>.zip``,
one e-mail per report, and the job's state in ``JobStore`` (queued → running →
done | failed with a reason; progress in rows). On ``start`` it resumes every job
that is not finished, so a job survives a restart; a sweep deletes expired files.

Never lost, never mailed twice: the ZIP is built under ``.part`` and renamed, then
``file_ready`` is recorded; the mail state is recorded as ``sending`` (fsync) before
the SMTP conversation and ``sent`` after it. A job found unfinished on restart is
rebuilt if its file was not ready, and mailed if its mail was still ``pending``. A
job found in ``sending`` is *not* mailed again: the process died during the SMTP
conversation, the message may have been delivered, and a duplicate is the worse
failure. It is marked done with mail ``unknown``; its link stays available through
the API, and ``retry`` mails it again when the user asks. A stop between two SMTP
attempts puts the job back to ``queued`` with mail ``pending``. It does not build
files (``files``) or talk SMTP (``mailer``).
"""

from __future__ import annotations

import logging
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from watchdepth.errors import InvalidParam, ValidationFailed
from watchdepth.export.files import XLSX_MAX_ROWS, write_zip
from watchdepth.export.jobstore import FINAL, Job, JobStore, fsync_dir
from watchdepth.export.links import LinkSigner, expired
from watchdepth.export.mailer import DeliveryFailed, Mailer, report_message
from watchdepth.export.source import ExportSpec, ReportSource

log = logging.getLogger(__name__)

DEFAULT_TTL = 7 * 86_400
DOWNLOAD_PATH = "/exports/download/"
#: A ``.part`` or xlsxwriter scratch dir untouched this long belongs to a build that died.
LEFTOVER_AGE = 86_400


class _Stopping(Exception):
    """The worker is stopping: put the job back in the queue."""


class ExportWorker:
    """Runs export jobs on ``workers`` threads; every method is safe to call from any thread."""

    def __init__(
        self,
        source: ReportSource,
        data_dir: Path,
        mailer: Mailer | None,
        base_url: str,
        workers: int = 2,
        *,
        ttl: int = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
        progress_every: int = 1000,
        sweep_every: float = 3600.0,
    ) -> None:
        self.store = JobStore(Path(data_dir) / "exports")
        self.signer = LinkSigner(self.store.root, clock=clock)
        self._source, self._mailer = source, mailer
        self._base_url = base_url.rstrip("/")
        self._workers, self._ttl, self._clock = workers, ttl, clock
        self._every, self._sweep_every = progress_every, sweep_every
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- the public surface ------------------------------------------------

    def start(self, *, resume: bool = True) -> None:
        """Start the threads; with ``resume``, queue again every unfinished job of the data dir."""
        self._stopping.clear()
        self.sweep()
        if resume:
            for job in self.store.all():
                if job.status not in FINAL:
                    self._queue.put(job.id)
        self._threads = [
            threading.Thread(target=self._loop, name=f"export-{i}", daemon=True) for i in range(self._workers)
        ]
        self._threads.append(threading.Thread(target=self._sweeper, name="export-sweep", daemon=True))
        for t in self._threads:
            t.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop after the current rows; a job being built goes back to ``queued`` for the next start."""
        self._stopping.set()
        for _ in range(self._workers):
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    def submit(self, spec: ExportSpec) -> Job:
        if spec.email and self._mailer is None:
            raise ValidationFailed(
                "parameters did not validate",
                invalid_params=[
                    InvalidParam("email", "unsupported", "e-mail delivery is not configured on this server")
                ],
            )
        job = self.store.create(spec, self._clock())
        self._queue.put(job.id)
        return job

    def get(self, job_id: str) -> Job:
        return self.store.load(job_id)

    def retry(self, job_id: str) -> Job:
        """Queue again a failed job (rebuilt if its file is gone, else only mailed), or mail
        again a done job whose mail is ``unknown`` (the user's call, never automatic)."""
        with self.store.claim(job_id, wait=5.0) as mine:  # a thread that just failed it may still hold it
            job = self.store.load(job_id)
            if not mine or not (job.status == "failed" or job.mail == "unknown"):
                raise ValidationFailed(
                    "only a failed export, or one whose e-mail may not have arrived, can be retried",
                    invalid_params=[InvalidParam("id", "invalid", f"export {job_id} is {job.status}, mail {job.mail}")],
                )
            job.status, job.reason = "queued", None
            if job.mail in ("failed", "unknown"):
                job.mail = "pending"
            self.store.save(job)
        self._queue.put(job_id)
        return job

    def wait(self, job_id: str, timeout: float, poll: float = 0.05) -> Job:
        """The job once finished, or as it is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        job = self.get(job_id)
        while job.status not in FINAL and time.monotonic() < deadline:
            time.sleep(poll)
            job = self.get(job_id)
        return job

    def download_url(self, job: Job) -> str | None:
        """The signed link of a job whose file is built and has not expired: a done job, and
        also one whose e-mail is being sent or failed (the file is there; only the mail is not)."""
        if not job.file_ready or job.expires_at is None or self._clock() >= job.expires_at:
            return None
        return self._link(job.id, job.expires_at)

    def open_download(self, token: str) -> tuple[Path, str]:
        """The ZIP and its download name for a signed token; NotFound or Gone (410) otherwise."""
        job = self.get(self.signer.verify(token))
        path = self.store.zip_path(job.id)
        if job.expires_at is None or not path.exists():
            raise expired(job.expires_at or int(self._clock()))
        return path, download_name(job)

    def sweep(self) -> int:
        """Delete the ZIPs whose links have expired, and day-old leftovers of killed builds; how many."""
        now, deleted = self._clock(), 0
        for job in self.store.all():
            path = self.store.zip_path(job.id)
            if job.expires_at is not None and now >= job.expires_at and path.exists():
                path.unlink(missing_ok=True)
                deleted += 1
        for leftover in [*self.store.files_dir.glob("*.part"), *self.store.files_dir.glob("xlsx-*")]:
            if now - _last_write(leftover) > LEFTOVER_AGE:
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
                deleted += 1
        return deleted

    # -- the threads ---------------------------------------------------------

    def _loop(self) -> None:
        while (job_id := self._queue.get()) is not None:
            if not self._stopping.is_set():
                self._process(job_id)

    def _sweeper(self) -> None:
        while not self._stopping.wait(self._sweep_every):
            try:
                self.sweep()
            except OSError:
                log.exception("export sweep failed")

    def _process(self, job_id: str) -> None:
        with self.store.claim(job_id) as mine:
            if not mine:
                return  # another thread or process is on it
            job = self.store.load(job_id)
            if job.status in FINAL:
                return
            try:
                self._advance(job)
            except _Stopping:
                job.status = "queued"
                if job.mail == "sending":  # stopped between two attempts: the last one failed
                    job.mail = "pending"
                self.store.save(job)
            except Exception as exc:  # a bug or the source failing: the job fails, the worker lives
                log.exception("export %s failed", job_id)
                self._crashed(job, exc)

    def _advance(self, job: Job) -> None:
        if job.mail == "sending":
            job.mail = "unknown"
            job.reason = "the service stopped while sending the e-mail; it may not have arrived (the link is here)"
            self._finish(job)
            return
        if not job.file_ready or not self.store.zip_path(job.id).exists():  # swept while it waited for a retry
            self._build(job)
        if job.status != "failed":
            self._deliver(job)

    def _build(self, job: Job) -> None:
        job.status, job.started_at, job.rows_done = "running", self._clock(), 0
        job.rows_total = self._source.count_rows(job.spec)
        self.store.save(job)
        if job.spec.format == "xlsx" and job.rows_total > XLSX_MAX_ROWS:
            self._fail(
                job, f"the report has {job.rows_total:,} rows; an XLSX sheet holds {XLSX_MAX_ROWS:,}: choose CSV"
            )
            return
        part = self.store.part_path(job.id)
        try:
            job.rows_done = write_zip(
                self._source.export_rows(job.spec),
                job.spec.fields,
                job.spec.format,
                part,
                member=member_name(job),
                on_progress=lambda n: self._progress(job, n),
                every=self._every,
            )
            _durable_rename(part, self.store.zip_path(job.id))
        finally:
            part.unlink(missing_ok=True)
        job.file_ready = True
        self.store.save(job)

    def _progress(self, job: Job, rows_done: int) -> None:
        if self._stopping.is_set():
            raise _Stopping
        job.rows_done = rows_done
        self.store.save(job, durable=False)

    def _deliver(self, job: Job) -> None:
        job.expires_at = int(self._clock()) + self._ttl
        if job.spec.email is None or self._mailer is None:
            self._finish(job)
            return
        job.mail = "sending"
        self.store.save(job)
        try:
            self._mailer.send(self._message(job), before_attempt=self._stop_between_attempts)
        except DeliveryFailed as exc:
            job.mail = "failed"
            self._fail(job, exc.message)
            return
        job.mail, job.mailed_at = "sent", self._clock()
        self._finish(job)

    def _stop_between_attempts(self, attempt: int) -> None:
        if attempt > 1 and self._stopping.is_set():
            raise _Stopping

    def _message(self, job: Job) -> EmailMessage:
        assert self._mailer is not None and job.spec.email is not None and job.expires_at is not None
        return report_message(
            to=job.spec.email,
            sender=self._mailer.settings.sender,
            link=self._link(job.id, job.expires_at),
            expires_at=job.expires_at,
            job_id=job.id,
            rows=job.rows_done,
            fmt=job.spec.format,
        )

    def _link(self, job_id: str, expires_at: int) -> str:
        return f"{self._base_url}{DOWNLOAD_PATH}{self.signer.sign(job_id, expires_at)}"

    def _finish(self, job: Job) -> None:
        job.status, job.finished_at = "done", self._clock()
        self.store.save(job)

    def _crashed(self, job: Job, exc: Exception) -> None:
        if not job.file_ready:
            self._fail(job, f"building the report failed: {exc}")
            return
        if job.mail == "sending":  # the mailer raised: the server did not take the message
            job.mail = "failed"
        self._fail(job, f"sending the report failed: {exc}")

    def _fail(self, job: Job, reason: str) -> None:
        job.status, job.reason, job.finished_at = "failed", reason, self._clock()
        self.store.save(job)


def member_name(job: Job) -> str:
    """The file inside the ZIP: ``watchdepth-<period>.<format>``."""
    s = job.spec
    label = s.period or f"{s.from_}_{s.to}"
    return f"watchdepth-{re.sub(r'[^0-9A-Za-z_-]+', '-', label)}.{s.format}"


def download_name(job: Job) -> str:
    day = datetime.fromtimestamp(job.created_at, UTC).strftime("%Y-%m-%d")
    return f"watchdepth-report-{day}-{job.id[:8]}.zip"


def _last_write(path: Path) -> float:
    """The newest mtime of a file, or of a directory and what it holds."""
    try:
        return max([path.stat().st_mtime, *(p.stat().st_mtime for p in path.rglob("*"))])
    except FileNotFoundError:  # removed meanwhile by its build
        return float("inf")


def _durable_rename(src: Path, dst: Path) -> None:
    with open(src, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(src, dst)
    fsync_dir(dst.parent)
