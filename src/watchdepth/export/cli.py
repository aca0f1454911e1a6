"""``watchdepth export``: submit a report from the shell, wait with a progress bar, print where it is.

Input: parsed arguments (``add_arguments`` declares them) and an unstarted
``ExportWorker``. Output: the ZIP's path (and its link) on stdout, progress on
stderr (a bar on a terminal, nothing in cron), and an exit code: 0 done, 1 failed,
2 invalid arguments, 3 interrupted or timed out (the job stays queued and a server
on the same data dir finishes it on its next start). It does not parse ``argv`` or
build the worker: the ``watchdepth`` command does.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from watchdepth.errors import InvalidInput
from watchdepth.export.jobs import ExportWorker
from watchdepth.export.jobstore import FINAL, Job
from watchdepth.export.source import EXPORT_FIELDS, FORMATS, parse_spec
from watchdepth.query.periods import PERIODS

BAR = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", help=", ".join(PERIODS))
    parser.add_argument("--from", dest="from_", metavar="FROM", help="YYYY-MM-DD or RFC 3339 (instead of --period)")
    parser.add_argument("--to", help="end, exclusive: YYYY-MM-DD (the start of that day) or RFC 3339")
    parser.add_argument("--folder", dest="folder_ids", action="append", default=[], help="folder id; repeat for more")
    parser.add_argument("--fields", help=f"comma-separated, default all: {','.join(EXPORT_FIELDS)}")
    parser.add_argument("--format", choices=FORMATS, default="csv")
    parser.add_argument("--email", help="also mail the link to this address")
    parser.add_argument("--timezone", help="IANA name; default the workspace's")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait (default 3600)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def body_from_args(ns: argparse.Namespace) -> dict[str, object]:
    """The arguments as the JSON body ``POST /v1/analytics/exports`` takes."""
    body: dict[str, object] = {"format": ns.format, "folder_ids": list(ns.folder_ids)}
    if ns.fields:
        body["fields"] = [f.strip() for f in ns.fields.split(",") if f.strip()]
    for key, value in (
        ("period", ns.period),
        ("from", ns.from_),
        ("to", ns.to),
        ("email", ns.email),
        ("timezone", ns.timezone),
    ):
        if value is not None:
            body[key] = value
    return body


def run_export_cli(
    worker: ExportWorker,
    ns: argparse.Namespace,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    poll: float = 0.2,
) -> int:
    """Run one export to the end on ``worker`` (started here without resuming others, stopped after)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        spec = parse_spec(body_from_args(ns))
    except InvalidInput as exc:
        print(f"watchdepth export: {problems(exc)}", file=err)
        return 2
    worker.start(resume=False)
    try:
        job = _wait(worker, worker.submit(spec).id, ns.timeout, poll, None if ns.quiet else err)
    except KeyboardInterrupt:
        print("\ninterrupted: the export stays queued", file=err)
        return 3
    finally:
        worker.stop()
    return _report(worker, job, out, err)


def _wait(worker: ExportWorker, job_id: str, timeout: float, poll: float, bar: TextIO | None) -> Job:
    deadline = time.monotonic() + timeout
    job = worker.get(job_id)
    while job.status not in FINAL and time.monotonic() < deadline:
        if bar is not None and bar.isatty():
            bar.write("\r" + progress_bar(job))
            bar.flush()
        time.sleep(poll)
        job = worker.get(job_id)
    if bar is not None and bar.isatty():
        bar.write("\r" + progress_bar(job) + "\n")
    return job


def progress_bar(job: Job) -> str:
    """``[#########.....]  60%  6,000/10,000 rows`` (no percentage until the total is known)."""
    total, done = job.rows_total, job.rows_done
    if not total:
        return f"[{'.' * BAR}] {job.status}"
    filled = min(BAR, BAR * done // total)
    return f"[{'#' * filled}{'.' * (BAR - filled)}] {100 * done // total:3d}%  {done:,}/{total:,} rows"


def _report(worker: ExportWorker, job: Job, out: TextIO, err: TextIO) -> int:
    done = job.status == "done"
    return report_outcome(
        job,
        worker.store.zip_path(job.id) if done else None,
        worker.download_url(job) if done else None,
        "a server on this data dir will finish it",
        out,
        err,
    )


def report_outcome(job: Job, path: object, url: str | None, who_finishes: str, out: TextIO, err: TextIO) -> int:
    """The last words of ``watchdepth export`` and its exit code (0 done, 1 failed, 3 not yet)."""
    if job.status == "failed":
        print(f"export {job.id} failed: {job.reason}", file=err)
        return 1
    if job.status != "done":
        print(f"export {job.id} is still {job.status}; {who_finishes}", file=err)
        return 3
    print(path, file=out)
    if url:
        print(url, file=out)
    return 0


def problems(exc: InvalidInput) -> str:
    """The invalid params of ``exc`` on one line (its message when it names none)."""
    return "; ".join(f"{p.name}: {p.message}" for p in exc.invalid_params) or exc.message
