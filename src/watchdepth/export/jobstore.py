"""The durable state of export jobs: one JSON file per job in the data dir.

Input: ``Job`` records. Output: ``DATA/exports/jobs/<id>.json``, written atomically
(temp file, fsync, rename, fsync of the directory), and the paths of a job's ZIP. Its
directories are 0700 and its files 0600 whatever the umask (a job holds an e-mail address).
``claim`` takes an exclusive ``flock`` on ``<id>.lock`` while one worker thread,
in any process on this data dir, works on the job; the kernel drops it when the
process dies, so a crashed job can be claimed again. It does not run jobs.

Mail states (``Job.mail``): ``none`` (no address), ``pending``, ``sending``
(written durably before the SMTP conversation), ``sent``, ``failed``, and
``unknown`` (the process died while ``sending``: the mail may have gone out).
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from watchdepth.errors import NotFound
from watchdepth.export.source import ExportSpec

STATUSES = ("queued", "running", "done", "failed")
FINAL = frozenset({"done", "failed"})
_ID = re.compile(r"^[0-9a-f]{32}$")


class Job(msgspec.Struct, kw_only=True):
    """One export. Times are Unix seconds (UTC)."""

    id: str
    spec: ExportSpec
    status: str = "queued"
    reason: str | None = None  # why it failed, for a person
    rows_done: int = 0
    rows_total: int | None = None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    file_ready: bool = False  # the ZIP is complete at files/<id>.zip
    expires_at: int | None = None  # of the download link and the file
    mail: str = "none"
    mailed_at: float | None = None


def _warm_decoder() -> msgspec.json.Decoder[Job]:
    """A decoder whose type information is built now, at import, in one thread.

    msgspec reads a Struct's annotations lazily on first use; two worker threads doing
    that first decode at once crashed CPython 3.11 (SIGSEGV in ``get_class_annotations``).
    """
    decoder = msgspec.json.Decoder(Job)
    decoder.decode(
        msgspec.json.encode(
            Job(id="0" * 32, spec=ExportSpec(fields=["title"], format="csv", folder_ids=[]), created_at=0.0)
        )
    )
    return decoder


_DECODER = _warm_decoder()


class JobStore:
    """Jobs and their files under ``exports_dir`` (``DATA/exports``)."""

    def __init__(self, exports_dir: Path) -> None:
        self.root = exports_dir
        self.jobs_dir = exports_dir / "jobs"
        self.files_dir = exports_dir / "files"
        for path in (self.root, self.jobs_dir, self.files_dir):  # the owner's alone, whatever the umask
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(path, 0o700)

    def create(self, spec: ExportSpec, now: float) -> Job:
        job = Job(id=uuid.uuid4().hex, spec=spec, created_at=now, mail="pending" if spec.email else "none")
        self.save(job)
        return job

    def load(self, job_id: str) -> Job:
        if not _ID.match(job_id):
            raise NotFound(f"no export {job_id!r}")
        try:
            return _DECODER.decode(self._json(job_id).read_bytes())
        except FileNotFoundError:
            raise NotFound(f"no export {job_id!r}") from None

    def all(self) -> list[Job]:
        """Every job, oldest first."""
        jobs = [self.load(p.stem) for p in self.jobs_dir.glob("*.json") if _ID.match(p.stem)]
        return sorted(jobs, key=lambda j: j.created_at)

    def save(self, job: Job, *, durable: bool = True) -> None:
        """Replace the job's file atomically; ``durable=False`` skips the fsyncs (progress only)."""
        path = self._json(job.id)
        tmp = path.with_name(f".{job.id}.{os.getpid()}.{threading.get_ident()}.tmp")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            fh.write(msgspec.json.encode(job))
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        if durable:
            fsync_dir(self.jobs_dir)

    @contextmanager
    def claim(self, job_id: str, *, wait: float = 0.0) -> Iterator[bool]:
        """Hold the job's lock for the block; yields False if someone else holds it for ``wait`` seconds."""
        fd = os.open(self.jobs_dir / f"{job_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            yield _lock(fd, time.monotonic() + wait)
        finally:
            os.close(fd)  # releases the lock

    def zip_path(self, job_id: str) -> Path:
        return self.files_dir / f"{job_id}.zip"

    def part_path(self, job_id: str) -> Path:
        return self.files_dir / f"{job_id}.zip.part"

    def _json(self, job_id: str) -> Path:
        return self.jobs_dir / f"{job_id}.json"


def _lock(fd: int, deadline: float) -> bool:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
