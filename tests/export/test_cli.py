"""``watchdepth export``: the arguments, the progress bar, what it prints and its exit codes."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from watchdepth.export.cli import (
    add_arguments,
    body_from_args,
    progress_bar,
    run_export_cli,
)
from watchdepth.export.jobs import ExportWorker
from watchdepth.export.jobstore import Job
from watchdepth.export.source import parse_spec

from .helpers import FakeSource, SlowSource, read_report


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_arguments_become_the_api_body() -> None:
    ns = args(
        "--from",
        "2024-01-01",
        "--to",
        "2024-02-01",
        "--folder",
        "f1",
        "--folder",
        "f2",
        "--fields",
        "title, views",
        "--format",
        "xlsx",
        "--email",
        "a@example.com",
        "--timezone",
        "Europe/Berlin",
    )
    assert body_from_args(ns) == {
        "format": "xlsx",
        "folder_ids": ["f1", "f2"],
        "fields": ["title", "views"],
        "from": "2024-01-01",
        "to": "2024-02-01",
        "email": "a@example.com",
        "timezone": "Europe/Berlin",
    }


def test_an_export_prints_the_path_of_its_zip(tmp_path: Path) -> None:
    out, err = io.StringIO(), Terminal()
    worker = ExportWorker(FakeSource(), tmp_path, None, "http://stats.example.com")
    code = run_export_cli(worker, args("--period", "last_month", "--folder", "f1"), stdout=out, stderr=err, poll=0.01)
    assert code == 0
    path, url = out.getvalue().splitlines()
    assert url.startswith("http://stats.example.com/exports/download/")
    _, _, rows = read_report(Path(path).read_bytes())
    assert len(rows) == 6 and err.getvalue().endswith("100%  6/6 rows\n")


def test_cron_gets_no_progress_bar_and_failures_exit_1(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    worker = ExportWorker(SlowSource(10), tmp_path, None, "http://x")
    code = run_export_cli(
        worker, args("--period", "today", "--format", "xlsx", "--fields", "title"), stdout=out, stderr=err, poll=0.01
    )
    assert (code, err.getvalue()) == (0, "")
    broken = ExportWorker(FakeSource(), tmp_path, None, "http://x")
    broken._source = None  # type: ignore[assignment]
    code = run_export_cli(broken, args("--period", "today"), stdout=out, stderr=err, poll=0.01)
    assert code == 1 and "failed: building the report failed: 'NoneType' object has no attribute" in err.getvalue()


def test_invalid_arguments_exit_2_with_each_problem(tmp_path: Path) -> None:
    err = io.StringIO()
    worker = ExportWorker(FakeSource(), tmp_path, None, "http://x")
    assert run_export_cli(worker, args("--fields", "title,plays"), stderr=err) == 2
    assert err.getvalue().startswith("watchdepth export: fields: unknown field 'plays'")
    assert "from: from is required" in err.getvalue()


def test_progress_bar() -> None:
    job = Job(id="x", spec=parse_spec({"period": "today"}), created_at=0.0)
    assert progress_bar(job) == "[..............................] queued"
    job.rows_done, job.rows_total = 6000, 10_000
    assert progress_bar(job) == "[##################............]  60%  6,000/10,000 rows"
