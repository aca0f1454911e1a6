"""Durability: a job survives a killed process, is finished by the next one, and is mailed once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdepth.export.jobs import ExportWorker
from watchdepth.export.mailer import Mailer, SmtpSettings
from watchdepth.export.source import EXPORT_FIELDS, ExportSpec, parse_spec

from .helpers import FakeSource, SlowSource, SmtpServer, read_report, synthetic_row

TESTS = Path(__file__).resolve().parents[1]
BASE = "http://127.0.0.1:9"
ROWS = 3000
# A server process: it takes a job and builds it slowly, until the test kills it with SIGKILL.
SERVER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from export.helpers import SlowSource
from watchdepth.export.jobs import ExportWorker
from watchdepth.export.mailer import Mailer, SmtpSettings
from watchdepth.export.source import parse_spec
mailer = Mailer(SmtpSettings(host="127.0.0.1", port=int(sys.argv[2])))
worker = ExportWorker(SlowSource(int(sys.argv[4]), pause=0.05, every=50), Path(sys.argv[1]), mailer,
                      "http://127.0.0.1:9", progress_every=50)
worker.start()
print(worker.submit(parse_spec({"period": "all_time", "email": "a@example.com"})).id, flush=True)
time.sleep(600)
"""


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def mailer(smtp: SmtpServer) -> Mailer:
    return Mailer(SmtpSettings(host="127.0.0.1", port=smtp.port, attempts=2), sleep=lambda s: None)


def spec(**body: object) -> ExportSpec:
    return parse_spec({"period": "all_time", "email": "a@example.com", **body})


def kill_mid_build(data: Path, smtp: SmtpServer) -> str:
    """Start a server process, let it build a few hundred rows, SIGKILL it; the job's id."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(data), str(smtp.port), str(TESTS), str(ROWS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        job_id = proc.stdout.readline().strip()
        probe = ExportWorker(FakeSource(), data, None, BASE)
        deadline = time.monotonic() + 30
        while probe.get(job_id).rows_done < 200:
            assert time.monotonic() < deadline, "the server process did not start building"
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return job_id


def test_a_job_killed_mid_build_is_finished_after_restart_and_mailed_once(tmp_path: Path, smtp: SmtpServer) -> None:
    job_id = kill_mid_build(tmp_path, smtp)
    worker = ExportWorker(SlowSource(ROWS), tmp_path, mailer(smtp), BASE)
    killed = worker.get(job_id)
    assert (killed.status, killed.file_ready, killed.mail) == ("running", False, "pending")
    assert 200 <= killed.rows_done < ROWS and smtp.messages == []

    worker.start()
    try:
        job = worker.wait(job_id, timeout=60)
    finally:
        worker.stop()
    assert (job.status, job.mail, job.rows_done, job.rows_total) == ("done", "sent", ROWS, ROWS)
    assert len(smtp.messages) == 1
    _, header, rows = read_report(worker.store.zip_path(job_id).read_bytes())
    assert header == list(EXPORT_FIELDS) and len(rows) == ROWS
    assert rows[-1][EXPORT_FIELDS.index("video_id")] == synthetic_row(ROWS - 1)["video_id"]
    assert sorted(p.name for p in worker.store.files_dir.iterdir()) == [f"{job_id}.zip"], "no .part left"

    again = ExportWorker(SlowSource(ROWS), tmp_path, mailer(smtp), BASE)
    again.start()  # one more restart: nothing left to do
    again.stop()
    assert len(smtp.messages) == 1


def test_a_job_that_died_while_mailing_is_not_mailed_again(tmp_path: Path, smtp: SmtpServer) -> None:
    worker = ExportWorker(FakeSource(), tmp_path, mailer(smtp), BASE)
    job = worker.store.create(spec(), time.time())
    worker.store.zip_path(job.id).write_bytes(b"PK\x05\x06" + bytes(18))
    job.status, job.file_ready, job.mail, job.expires_at = "running", True, "sending", int(time.time()) + 3600
    worker.store.save(job)  # as a process leaves it when it dies inside the SMTP conversation

    worker.start()
    try:
        after = worker.wait(job.id, timeout=10)
    finally:
        worker.stop()
    assert (after.status, after.mail) == ("done", "unknown") and "may not have arrived" in str(after.reason)
    assert smtp.messages == [] and worker.download_url(after) is not None

    worker.start()  # the user, who got nothing, asks for the mail again
    try:
        after = worker.wait(worker.retry(job.id).id, timeout=10)
    finally:
        worker.stop()
    assert (after.status, after.mail, after.reason) == ("done", "sent", None) and len(smtp.messages) == 1


def test_a_stopped_worker_leaves_the_job_queued_for_the_next(tmp_path: Path, smtp: SmtpServer) -> None:
    first = ExportWorker(SlowSource(2000, pause=0.02, every=20), tmp_path, mailer(smtp), BASE, progress_every=20)
    first.start()
    job_id = first.submit(spec()).id
    deadline = time.monotonic() + 30
    while first.get(job_id).rows_done < 100:  # polls a condition, with a deadline (a failed job never gets there)
        assert first.get(job_id).status in ("queued", "running") and time.monotonic() < deadline, first.get(job_id)
        time.sleep(0.01)
    first.stop()
    assert first.get(job_id).status == "queued" and not first.store.part_path(job_id).exists()

    second = ExportWorker(SlowSource(2000), tmp_path, mailer(smtp), BASE)
    second.start()
    try:
        assert second.wait(job_id, timeout=30).status == "done"
    finally:
        second.stop()
    assert len(smtp.messages) == 1


def test_a_second_process_resuming_leaves_a_running_job_to_its_owner(tmp_path: Path, smtp: SmtpServer) -> None:
    """Two processes on one data dir (here two workers: the lock is per open file, so it is the same)."""
    first, second = (
        ExportWorker(SlowSource(1000, pause=0.02, every=50), tmp_path, mailer(smtp), BASE, progress_every=50)
        for _ in range(2)
    )
    first.start()
    try:
        job_id = first.submit(spec()).id
        while first.get(job_id).rows_done < 100:
            time.sleep(0.01)
        second.start()  # resumes every unfinished job of the data dir: this one is running elsewhere
        assert first.wait(job_id, timeout=30).status == "done"
        # An absence (no second build, no second mail): nothing to wait for, so a short look;
        # time enough for a second build to fail or a second mail to go, were one running.
        time.sleep(0.3)
    finally:
        first.stop()
        second.stop()
    assert second.get(job_id).status == "done" and len(smtp.messages) == 1


class Broken(FakeSource):
    def __init__(self) -> None:
        super().__init__()
        self.broken = True

    def export_rows(self, spec: ExportSpec) -> Iterator[dict[str, object]]:
        rows = super().export_rows(spec)
        for i, row in enumerate(rows):
            if self.broken and i == 2:
                raise ConnectionError("the store is unreachable")
            yield row


def test_a_failing_source_fails_the_job_with_its_reason_and_retry_rebuilds(tmp_path: Path, smtp: SmtpServer) -> None:
    source = Broken()
    worker = ExportWorker(source, tmp_path, mailer(smtp), BASE)
    worker.start()
    try:
        job = worker.wait(worker.submit(spec(format="xlsx")).id, timeout=10)
        assert (job.status, job.reason) == ("failed", "building the report failed: the store is unreachable")
        assert list(worker.store.files_dir.iterdir()) == [] and smtp.messages == []
        source.broken = False
        job = worker.wait(worker.retry(job.id).id, timeout=10)
    finally:
        worker.stop()
    assert (job.status, job.mail) == ("done", "sent") and len(smtp.messages) == 1


def test_the_sweep_deletes_expired_files_and_leftovers_of_killed_builds(tmp_path: Path) -> None:
    worker = ExportWorker(FakeSource(), tmp_path, None, BASE)
    files = worker.store.files_dir
    old, fresh = files / "a.zip.part", files / "b.zip.part"
    scratch = files / "xlsx-abc"
    scratch.mkdir()
    for p in (old, fresh, scratch / "tmp1"):
        p.write_bytes(b"x")
    day_ago = time.time() - 86_401
    for p in (old, scratch, scratch / "tmp1"):
        os.utime(p, (day_ago, day_ago))
    assert worker.sweep() == 2 and sorted(p.name for p in files.iterdir()) == ["b.zip.part"]


def test_a_stop_between_mail_attempts_requeues_and_the_next_start_mails_once(tmp_path: Path, smtp: SmtpServer) -> None:
    smtp.stop()
    stopper: list[threading.Thread] = []

    def backoff(seconds: float) -> None:  # the worker is told to stop while it waits to try again
        thread = threading.Thread(target=worker.stop)
        thread.start()
        stopper.append(thread)
        while not worker._stopping.is_set():
            time.sleep(0.01)

    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, attempts=3)
    worker = ExportWorker(FakeSource(), tmp_path, Mailer(settings, sleep=backoff), BASE)
    worker.start()
    job_id = worker.submit(spec()).id
    while not stopper:
        time.sleep(0.01)
    stopper[0].join(10)
    job = worker.get(job_id)
    assert (job.status, job.mail, job.file_ready) == ("queued", "pending", True)

    smtp.start()
    again = ExportWorker(FakeSource(), tmp_path, mailer(smtp), BASE)
    again.start()
    try:
        assert again.wait(job_id, timeout=10).mail == "sent"
    finally:
        again.stop()
    assert len(smtp.messages) == 1
