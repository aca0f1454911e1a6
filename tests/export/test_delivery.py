"""A report end to end: POST, the worker, one e-mail from a real SMTP server, the signed link, the file."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpx import Client

from watchdepth.export.jobs import DEFAULT_TTL, ExportWorker
from watchdepth.export.mailer import Mailer, SmtpSettings
from watchdepth.export.source import EXPORT_FIELDS

from .helpers import (
    Clock,
    FakeSource,
    SmtpServer,
    app_for,
    as_text,
    fake_row,
    loopback_socket,
    read_report,
    serving,
)

RW = {"Authorization": "Bearer rw"}
# f1 "Курсы" holds f2 "Python" which holds f3 "Основы"; f4 and unfiled v6 and p2's v7 stay out.
IN_F1 = ["v1", "v2", "v3", "v4", "s1", "e1"]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def http() -> Iterator[socket.socket]:
    with loopback_socket() as sock:
        yield sock


@pytest.fixture
def worker(
    tmp_path: Path, smtp: SmtpServer, clock: Clock, sleeps: list[float], http: socket.socket
) -> Iterator[ExportWorker]:
    mailer = Mailer(SmtpSettings(host="127.0.0.1", port=smtp.port, attempts=3, backoff=1.0), sleep=sleeps.append)
    w = ExportWorker(FakeSource(), tmp_path, mailer, base_url(http), clock=clock)
    w.start()
    yield w
    w.stop()


@pytest.fixture
def client(worker: ExportWorker, http: socket.socket) -> Iterator[Client]:
    """A real HTTP client against the routes served by uvicorn on loopback."""
    with serving(app_for(worker), http), Client(base_url=base_url(http)) as c:
        yield c


def base_url(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def submit(client: Client, worker: ExportWorker, **body: object) -> dict[str, object]:
    answer = client.post("/v1/analytics/exports", json={"period": "last_month", **body}, headers=RW)
    assert answer.status_code == 202, answer.text
    assert set(answer.json()["data"]) == {"id", "status"} and answer.json()["data"]["status"] == "queued"
    job_id = answer.json()["data"]["id"]
    worker.wait(job_id, timeout=30)
    return client.get(f"/v1/analytics/exports/{job_id}", headers=RW).json()["data"]


def link_in(smtp: SmtpServer) -> str:
    (mail,) = smtp.messages
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"http://127\.0\.0\.1:\d+/exports/download/\S+", text)
    assert found, text
    return found.group(0)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_mailed_link_downloads_the_rows_of_the_source(
    client: Client, worker: ExportWorker, smtp: SmtpServer, fmt: str
) -> None:
    status = submit(client, worker, folder_ids=["f1"], format=fmt, email="анна@example.com")
    assert status["status"] == "done" and status["mail"] == "sent"
    assert status["progress"] == {"rows_done": len(IN_F1), "rows_total": len(IN_F1)}
    link = link_in(smtp)
    assert status["download_url"] == link

    answer = client.get(link)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert re.fullmatch(
        r'attachment; filename="watchdepth-report-\d{4}-\d\d-\d\d-[0-9a-f]{8}\.zip"',
        answer.headers["content-disposition"],
    )
    name, header, rows = read_report(answer.content)
    assert name == f"watchdepth-last_month.{fmt}"
    assert header == list(EXPORT_FIELDS)
    expected = [[fake_row(c)[f] for f in EXPORT_FIELDS] for c in IN_F1]
    title = EXPORT_FIELDS.index("title")
    for row in expected:  # the only text cells that start like a formula are titles
        if str(row[title])[:1] in "=+-@\t\r":
            row[title] = "'" + str(row[title])
    assert rows == (as_text(expected) if fmt == "csv" else expected)
    assert len(smtp.messages) == 1


def test_nested_folders_zero_rows_live_only_fields_and_injection(
    client: Client, worker: ExportWorker, smtp: SmtpServer
) -> None:
    fields = ["video_id", "stream_id", "event_id", "title", "folder_name", "views", "peak_concurrent_viewers"]
    status = submit(client, worker, folder_ids=["f1"], fields=fields, email="a@example.com")
    _, header, rows = read_report(client.get(status["download_url"]).content)  # type: ignore[arg-type]
    assert header == fields
    assert rows == [
        ["v1", None, None, "Введение в курс", "Курсы", "6", None],
        ["v2", None, None, '\'=HYPERLINK("http://evil.example","click")', "Курсы/Python", "2", None],
        ["v3", None, None, "'-5", "Курсы/Python/Основы", "3", None],
        ["v4", None, None, "'@x", "Курсы/Python/Основы", "0", None],  # no views: a zero row
        [None, "s1", None, "Прямой эфир", "Курсы/Python", "12", "9"],
        [None, "s1", "e1", "'\tЭфир №1", "Курсы/Python/Основы", "4", "3"],
    ]


def test_the_spec_reaches_the_source_as_submitted(client: Client, worker: ExportWorker) -> None:
    body = {
        "from": "2024-01-01",
        "to": "2024-02-01",
        "timezone": "Europe/Moscow",
        "folder_ids": ["f2", "f4"],
        "fields": ["title", "views"],
        "format": "xlsx",
    }
    answer = client.post("/v1/analytics/exports", json=body, headers=RW)
    worker.wait(answer.json()["data"]["id"], timeout=30)
    source = worker._source
    assert isinstance(source, FakeSource)
    (spec,) = source.specs
    assert (spec.from_, spec.to, spec.period, spec.timezone, spec.folder_ids, spec.fields, spec.format) == (
        "2024-01-01",
        "2024-02-01",
        None,
        "Europe/Moscow",
        ["f2", "f4"],
        ["title", "views"],
        "xlsx",
    )


def test_an_expired_link_is_410_and_its_file_is_swept(
    client: Client, worker: ExportWorker, smtp: SmtpServer, clock: Clock
) -> None:
    status = submit(client, worker, folder_ids=["f1"], email="a@example.com")
    link = link_in(smtp)
    job_id = str(status["id"])
    clock.now += DEFAULT_TTL - 1
    assert client.get(link).status_code == 200
    clock.now += 1
    answer = client.get(link)
    assert answer.status_code == 410 and answer.json()["error"]["code"] == 410410
    assert "Generate the report again" in answer.json()["error"]["message"]
    status = client.get(f"/v1/analytics/exports/{job_id}", headers=RW).json()["data"]
    assert "download_url" not in status and status["expires_at"]
    assert worker.sweep() == 1 and not worker.store.zip_path(job_id).exists()
    assert client.get(link).status_code == 410


def test_a_tampered_link_is_404(client: Client, worker: ExportWorker, smtp: SmtpServer) -> None:
    submit(client, worker, folder_ids=["f1"], email="a@example.com")
    link = link_in(smtp)
    prefix, exp, sig = link.rsplit(".", 2)
    for bad in (f"{prefix}.{int(exp) + 3600}.{sig}", f"{prefix}.{exp}.{sig[::-1]}", "/exports/download/x"):
        answer = client.get(bad)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == 404404


def test_smtp_down_fails_with_a_reason_after_retries_then_retry_mails_once(
    client: Client, worker: ExportWorker, smtp: SmtpServer, sleeps: list[float]
) -> None:
    smtp.stop()
    status = submit(client, worker, folder_ids=["f1"], email="a@example.com")
    assert status["status"] == "failed" and status["mail"] == "failed" and sleeps == [1.0, 2.0]
    assert status["reason"] == (
        f"could not send the e-mail to a@example.com through 127.0.0.1:{smtp.port} after 3 attempts: "
        "connection refused (is the SMTP server running, and are host and port right?)"
    )
    assert client.get(status["download_url"]).status_code == 200  # the file was built: the link is offered anyway
    smtp.start()
    answer = client.post(f"/v1/analytics/exports/{status['id']}/retry", headers=RW)
    assert answer.status_code == 202 and answer.json()["data"]["status"] == "queued"
    worker.wait(str(status["id"]), timeout=30)
    status = client.get(f"/v1/analytics/exports/{status['id']}", headers=RW).json()["data"]
    assert status["status"] == "done" and status["mail"] == "sent" and "reason" not in status
    assert client.get(link_in(smtp)).status_code == 200
    again = client.post(f"/v1/analytics/exports/{status['id']}/retry", headers=RW)
    assert again.status_code == 400 and "only a failed export" in again.json()["error"]["message"]
    assert len(smtp.messages) == 1


def test_without_an_address_nothing_is_mailed(client: Client, worker: ExportWorker, smtp: SmtpServer) -> None:
    status = submit(client, worker, folder_ids=["f4"], format="xlsx")
    assert status["status"] == "done" and status["mail"] == "none" and smtp.messages == []
    _, _, rows = read_report(client.get(status["download_url"]).content)  # type: ignore[arg-type]
    assert [r[EXPORT_FIELDS.index("video_id")] for r in rows] == ["v5"]
