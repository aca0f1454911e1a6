"""Test doubles for report export: a fake ``ReportSource``, a real SMTP server, file readers.

Input: nothing but the standard library, aiosmtpd and openpyxl. Output: ``FakeSource``
(a small fixed catalog with nested folders, zero rows, stream and event rows and
titles that look like formulas), ``SlowSource`` (many synthetic rows, slowly, for
interrupting a build), ``SmtpServer`` (aiosmtpd on loopback, recording each
message), and ``read_report`` (the rows of a downloaded ZIP, CSV or XLSX). They
hold no assertions: the tests do. ``app_for`` mounts the routes with a fake ``auth``
and an error handler that renders ``errors.py`` exceptions as the app's does.
"""

from __future__ import annotations

import csv
import io
import socket
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import uvicorn
from aiosmtpd.controller import Controller
from openpyxl.utils.escape import unescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from watchdepth.api.exports import referrer_routes
from watchdepth.api.exports import routes as export_routes
from watchdepth.errors import (
    BadToken,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    WatchdepthError,
)
from watchdepth.export.jobs import ExportWorker
from watchdepth.export.source import ExportSpec
from watchdepth.query.metrics import avg_watch_time, quality, watch_depth

# project id -> name
PROJECTS = {"p1": "Школа", "p2": "Media"}
# folder id -> (project, parent, name)
FOLDERS = {
    "f1": ("p1", None, "Курсы"),
    "f2": ("p1", "f1", "Python"),
    "f3": ("p1", "f2", "Основы"),
    "f4": ("p1", None, "Архив"),
    "f5": ("p2", None, "Live"),
}
# content id -> (kind, project, folder, title, duration, stream of an event)
CONTENT = {
    "v1": ("video", "p1", "f1", "Введение в курс", 600.0, None),
    "v2": ("video", "p1", "f2", '=HYPERLINK("http://evil.example","click")', 300.0, None),
    "v3": ("video", "p1", "f3", "-5", 120.0, None),
    "v4": ("video", "p1", "f3", "@x", 60.0, None),
    "s1": ("stream", "p1", "f2", "Прямой эфир", None, None),
    "e1": ("event", "p1", "f3", "\tЭфир №1", None, "s1"),
    "v5": ("video", "p1", "f4", "+1 архив", 100.0, None),
    "v6": ("video", "p1", None, "Без папки", 50.0, None),
    "v7": ("video", "p2", "f5", "\rcarriage", 10.0, None),
}
# content id -> (player_loads, unique_views, views, total_watch_time, peak_concurrent_viewers)
SUMS = {
    "v1": (10, 8, 6, 1800, None),
    "v2": (4, 3, 2, 250, None),
    "v3": (7, 5, 3, 200, None),
    "s1": (20, 15, 12, 7200, 9),
    "e1": (5, 4, 4, 1000, 3),
    "v5": (1, 1, 1, 30, None),
    "v7": (2, 2, 1, 5, None),
}


def folder_path(folder_id: str) -> str:
    _, parent, name = FOLDERS[folder_id]
    return name if parent is None else f"{folder_path(parent)}/{name}"


def subtree(folder_ids: list[str]) -> set[str]:
    """The folders and all their descendants."""
    out = set(folder_ids)
    while True:
        more = {f for f, (_, parent, _) in FOLDERS.items() if parent in out} - out
        if not more:
            return out
        out |= more


def fake_row(content_id: str) -> dict[str, object]:
    kind, project, folder, title, duration, stream = CONTENT[content_id]
    loads, uniques, views, watch_time, peak = SUMS.get(content_id, (0, 0, 0, 0, None))
    live = kind != "video"
    return {
        "project_id": project,
        "project_name": PROJECTS[project],
        "video_id": content_id if kind == "video" else None,
        "stream_id": (stream or content_id) if live else None,
        "event_id": content_id if kind == "event" else None,
        "title": title,
        "duration": duration,
        "folder_name": folder_path(folder) if folder else None,
        "folder_id": folder,
        "player_loads": loads,
        "unique_views": uniques,
        "views": views,
        "total_watch_time": watch_time,
        # as if every impression were in the period's cohort
        "avg_watch_time": avg_watch_time(watch_time, uniques),
        "watch_depth": watch_depth(watch_time, uniques * (duration or 0)),
        "peak_concurrent_viewers": (peak or 0) if live else None,
        # no quality events in this workspace: no startups, stalls nor failures
        **quality(
            {"stall_ms": 0, "watch_time": watch_time, "player_loads": loads, "failures": 0, "stalls": 0, "exits": 0}
        ),
    }


class FakeSource:
    """The fixed catalog above as a ``ReportSource``; records the specs it was asked for."""

    def __init__(self) -> None:
        self.specs: list[ExportSpec] = []

    def ids(self, spec: ExportSpec) -> list[str]:
        folders = subtree(spec.folder_ids)
        return [c for c, v in CONTENT.items() if not spec.folder_ids or v[2] in folders]

    def export_rows(self, spec: ExportSpec) -> Iterator[dict[str, object]]:
        self.specs.append(spec)
        return (fake_row(c) for c in self.ids(spec))

    def count_rows(self, spec: ExportSpec) -> int:
        return len(self.ids(spec))


def synthetic_row(i: int) -> dict[str, object]:
    """Row ``i`` of a large synthetic workspace: mostly videos, every tenth a stream."""
    live = i % 10 == 0
    views = i % 7
    return {
        "project_id": "p1",
        "project_name": "Школа",
        "video_id": None if live else f"v{i}",
        "stream_id": f"s{i}" if live else None,
        "event_id": None,
        "title": f"Видео номер {i}" if i % 100 else f"=cmd|' /C calc'!A{i}",
        "duration": None if live else 60.0 + i % 600,
        "folder_name": f"Курсы/Раздел {i % 50}",
        "folder_id": f"f{i % 50}",
        "player_loads": i % 13,
        "unique_views": i % 11,
        "views": views,
        "total_watch_time": views * 45,
        "avg_watch_time": avg_watch_time(views * 45, i % 11),
        "watch_depth": 0 if live or not views else watch_depth(views * 45, views * (60.0 + i % 600)),
        "peak_concurrent_viewers": i % 5 if live else None,
        **quality(
            {
                "stall_ms": i % 3 * 750,
                "watch_time": views * 45,
                "player_loads": i % 13,
                "failures": int(i % 50 == 1),
                "stalls": i % 3,
                "exits": i % 4 // 3,
            },
            {600 + i % 7 * 10: 1},
        ),
    }


class SlowSource:
    """``n`` synthetic rows, sleeping ``pause`` seconds every ``every`` rows."""

    def __init__(self, n: int, pause: float = 0.0, every: int = 100) -> None:
        self.n, self.pause, self.every = n, pause, every

    def export_rows(self, spec: ExportSpec) -> Iterator[dict[str, object]]:
        for i in range(self.n):
            if self.pause and i % self.every == 0:
                time.sleep(self.pause)
            yield synthetic_row(i)

    def count_rows(self, spec: ExportSpec) -> int:
        return self.n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """aiosmtpd on 127.0.0.1 that keeps every message; ``stop()`` makes the port refuse."""

    def __init__(self, **controller: Any) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self._options = controller
        self._controller: Controller | None = None

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def start(self) -> SmtpServer:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **self._options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def read_report(data: bytes) -> tuple[str, list[str], list[list[object]]]:
    """The one member of a report ZIP: (its name, the header, the rows; empty cells as None)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (info,) = archive.infolist()
        content = archive.read(info)
    header, *rows = read_table(content, info.filename.rsplit(".", 1)[1])
    return info.filename, [str(h) for h in header], rows


def read_table(content: bytes, fmt: str) -> list[list[object]]:
    """Rows of a CSV (must start with a BOM; cells as text) or an XLSX sheet (typed cells)."""
    if fmt == "csv":
        assert content.startswith(b"\xef\xbb\xbf"), "CSV without a UTF-8 BOM"
        text = content[3:].decode("utf-8")
        return [[c if c != "" else None for c in r] for r in csv.reader(io.StringIO(text, newline=""))]
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    try:
        sheet = book.worksheets[0].iter_rows(values_only=True)
        return [[unescape(c) if isinstance(c, str) else c for c in r] for r in sheet]  # OOXML's _x000D_
    finally:
        book.close()


def as_text(rows: list[list[object]]) -> list[list[str | None]]:
    """Cells as a CSV shows them, to compare a CSV with typed rows."""
    return [[None if c is None else str(c) for c in r] for r in rows]


class Clock:
    """A settable clock for the worker and the link signer; starts at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


TOKENS = {"rw": True, "ro": False}  # bearer token -> may write


def fake_auth(request: Request, write: bool) -> None:
    """The app's auth as the routes see it: raises the errors of errors.py."""
    header = request.headers.get("authorization")
    if header is None:
        raise NotAuthenticated("no Authorization header")
    token = header.removeprefix("Bearer ")
    if token not in TOKENS:
        raise BadToken("unknown token")
    if write and not TOKENS[token]:
        raise Forbidden("this token is read-only")


async def render_error(request: Request, exc: Exception) -> Response:
    """What the app's one handler does with errors.py exceptions."""
    assert isinstance(exc, WatchdepthError)
    err: dict[str, object] = {"code": exc.code, "message": exc.message}
    if isinstance(exc, InvalidInput) and exc.invalid_params:
        err["invalid_params"] = [p.as_dict() for p in exc.invalid_params]
    return JSONResponse({"error": err}, status_code=exc.status)


def app_for(worker: ExportWorker, referrers: list[dict[str, object]] | None = None) -> Starlette:
    routes = export_routes(worker, fake_auth) + referrer_routes(lambda request: referrers or [], fake_auth)
    return Starlette(routes=routes, exception_handlers={WatchdepthError: render_error})


def loopback_socket() -> socket.socket:
    """A bound socket on 127.0.0.1, so the base URL is known before the app is built."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(app: Starlette, sock: socket.socket) -> Iterator[None]:
    """Run ``app`` under uvicorn on ``sock`` in a thread for the block."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the HTTP server did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
