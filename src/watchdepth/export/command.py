"""``watchdepth export``: build a report from the shell, with a progress bar, for scripts and cron.

Input: the arguments of ``export.cli.add_arguments`` and ``Settings``. Output: the
ZIP's path and its link on stdout, a progress bar on stderr (on a terminal), and the
exit codes of ``export.cli`` (0 done, 1 failed, 2 invalid arguments, 3 interrupted or
timed out). When ``serve`` holds the data dir, the job goes to that server through
the admin socket and this command polls it; otherwise it opens the data dir, builds
the report in this process and exits. It does not compute numbers or write files.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any, TextIO

import httpx
import msgspec

from watchdepth import admin_client
from watchdepth.config import Settings
from watchdepth.errors import InvalidInput, InvalidParam
from watchdepth.export.cli import (
    add_arguments,
    body_from_args,
    problems,
    progress_bar,
    report_outcome,
    run_export_cli,
)
from watchdepth.export.jobstore import FINAL, Job
from watchdepth.export.source import parse_spec


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="build a report (CSV/XLSX in a ZIP); prints its path and link",
        description="Build a report of every video, stream and broadcast event in the chosen folders. "
        "Exit codes: 0 done, 1 failed, 2 invalid arguments, 3 interrupted or timed out.",
    )
    p.add_argument("--data", dest="data_dir", help="data directory (default ./watchdepth-data)")
    add_arguments(p)


def run(args: argparse.Namespace, settings: Settings, *, poll: float = 0.2) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll is noise
    client = admin_client.connect(settings)
    if client is not None:
        try:
            return run_remote(client, args, poll=poll)
        finally:
            client.close()
    from watchdepth.export.service import build_worker
    from watchdepth.serve import services as svc

    try:
        parse_spec(body_from_args(args))
    except InvalidInput as exc:  # before opening the data dir
        print(f"watchdepth export: {problems(exc)}", file=sys.stderr)
        return 2
    services = svc.build(settings)
    try:
        unknown = [f for f in args.folder_ids if f not in services.catalog.folders]
        if unknown:
            print(f"watchdepth export: folder_ids: no folder with id {unknown[0]!r}", file=sys.stderr)
            return 2
        return run_export_cli(build_worker(services), args, poll=poll)
    finally:
        services.close()


def run_remote(
    client: httpx.Client,
    ns: argparse.Namespace,
    *,
    poll: float = 0.2,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Submit through a running server's admin socket and poll it until the job ends."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    r = client.post("/admin/exports", json=body_from_args(ns))
    if r.status_code == 404:  # an unknown folder
        print(f"watchdepth export: folder_ids: {_message(r)}", file=err)
        return 2
    if r.status_code == 400:
        e = r.json()["error"]
        exc = InvalidInput(e["message"])
        exc.invalid_params = [InvalidParam(p["name"], p["reason"], p["message"]) for p in e.get("invalid_params", [])]
        print(f"watchdepth export: {problems(exc)}", file=err)
        return 2
    if r.status_code >= 300:
        print(f"watchdepth export: the server refused: {_message(r)}", file=err)
        return 1
    state = r.json()
    job = _job(state)
    bar = err if not ns.quiet and err.isatty() else None
    deadline = time.monotonic() + ns.timeout
    try:
        while job.status not in FINAL and time.monotonic() < deadline:
            if bar is not None:
                bar.write("\r" + progress_bar(job))
                bar.flush()
            time.sleep(poll)
            r = client.get(f"/admin/exports/{job.id}")
            if r.status_code >= 300:
                print(f"watchdepth export: the server refused: {_message(r)}", file=err)
                return 1
            state = r.json()
            job = _job(state)
    except KeyboardInterrupt:
        print(f"\ninterrupted: the server goes on building export {job.id}", file=err)
        return 3
    if bar is not None:
        bar.write("\r" + progress_bar(job) + "\n")
    return report_outcome(
        job, state.get("path"), state.get("view", {}).get("download_url"), "the server goes on with it", out, err
    )


def _message(r: httpx.Response) -> str:
    try:
        return str(r.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {r.status_code}"


def _job(state: dict[str, Any]) -> Job:
    return msgspec.convert(state["job"], type=Job)
