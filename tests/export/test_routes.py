"""The export routes' contract: status codes and error bodies; referrers as CSV and XLSX."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpx import Client

from watchdepth.export.jobs import ExportWorker

from .helpers import FakeSource, app_for, as_text, loopback_socket, read_table, serving

REFERRERS: list[dict[str, object]] = [
    {
        "domain": "example.com",
        "views": 5,
        "player_loads": 10,
        "view_rate": 50,
        "pages": [
            {"url": "example.com/a", "views": 4, "player_loads": 6, "view_rate": 67},
            {"url": "example.com/=b", "views": 1, "player_loads": 4, "view_rate": 25},
        ],
    },
    {"domain": "пример.рф", "views": 0, "player_loads": 1, "view_rate": 0, "pages": []},
]
RW, RO = {"Authorization": "Bearer rw"}, {"Authorization": "Bearer ro"}


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[ExportWorker]:
    w = ExportWorker(FakeSource(), tmp_path, None, "http://127.0.0.1:9")
    w.start()
    yield w
    w.stop()


@pytest.fixture
def client(worker: ExportWorker) -> Iterator[Client]:
    sock: socket.socket = loopback_socket()
    with serving(app_for(worker, REFERRERS), sock), Client(base_url="http://{}:{}".format(*sock.getsockname())) as c:
        yield c


def error(answer: object) -> tuple[int, int, list[tuple[str, str]]]:
    body = answer.json()["error"]  # type: ignore[attr-defined]
    params = [(p["name"], p["reason"]) for p in body.get("invalid_params", [])]
    return answer.status_code, body["code"], params  # type: ignore[attr-defined]


def test_submit_then_status(client: Client, worker: ExportWorker) -> None:
    answer = client.post("/v1/analytics/exports", json={"period": "yesterday", "folder_ids": ["f3"]}, headers=RW)
    assert answer.status_code == 202
    job_id = answer.json()["data"]["id"]
    worker.wait(job_id, timeout=30)
    data = client.get(f"/v1/analytics/exports/{job_id}", headers=RO).json()["data"]
    assert {k: data[k] for k in ("id", "status", "format", "progress", "mail")} == {
        "id": job_id,
        "status": "done",
        "format": "csv",
        "progress": {"rows_done": 3, "rows_total": 3},
        "mail": "none",
    }
    assert data["download_url"].startswith("http://127.0.0.1:9/exports/download/" + job_id + ".")
    assert data["created_at"].endswith("Z") and data["expires_at"].endswith("Z")


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"json": {"period": "today"}}, (401, 100101, [])),
        ({"json": {"period": "today"}, "headers": {"Authorization": "Bearer nope"}}, (401, 100102, [])),
        ({"json": {"period": "today"}, "headers": RO}, (403, 100103, [])),
        ({"content": b"{not json", "headers": RW}, (400, 400101, [])),
        ({"json": ["period"], "headers": RW}, (400, 400102, [("body", "wrong_type")])),
        (
            {"json": {"period": "today", "fields": ["title", "plays"]}, "headers": RW},
            (400, 400400, [("fields", "unknown")]),
        ),
        ({"json": {"period": "today", "format": "pdf"}, "headers": RW}, (400, 400400, [("format", "invalid")])),
        (
            {"json": {"period": "today", "email": "a@example.com"}, "headers": RW},
            (400, 400400, [("email", "unsupported")]),
        ),
        ({"content": b"{" + b" " * 70_000 + b"}", "headers": RW}, (413, 413413, [])),
    ],
)
def test_submit_refusals(client: Client, request_: dict[str, object], expected: tuple[int, int, list[object]]) -> None:
    assert error(client.post("/v1/analytics/exports", **request_)) == expected  # type: ignore[arg-type]


def test_unknown_jobs_are_404(client: Client) -> None:
    for path in ("/v1/analytics/exports/0123456789abcdef0123456789abcdef", "/v1/analytics/exports/..secret"):
        assert error(client.get(path, headers=RW))[:2] == (404, 404404)
    assert error(client.post("/v1/analytics/exports/0123456789abcdef0123456789abcdef/retry", headers=RW))[:2] == (
        404,
        404404,
    )
    assert error(client.get("/v1/analytics/exports/0123456789abcdef0123456789abcdef"))[:2] == (401, 100101)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_referrers_file_has_the_json_rows(client: Client, fmt: str) -> None:
    answer = client.get(f"/v1/analytics/referrers.{fmt}", headers=RO)
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == f'attachment; filename="referrers.{fmt}"'
    header, *rows = read_table(answer.content, fmt)
    assert header == ["domain", "url", "views", "player_loads", "view_rate"]
    assert as_text(rows) == [
        ["example.com", None, "5", "10", "50"],
        ["example.com", "example.com/a", "4", "6", "67"],
        ["example.com", "example.com/=b", "1", "4", "25"],
        ["пример.рф", None, "0", "1", "0"],
    ]
    assert client.get(f"/v1/analytics/referrers.{fmt}").status_code == 401
