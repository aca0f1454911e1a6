"""SMTP delivery against a real aiosmtpd server: plain, STARTTLS with auth, TLS, retries."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from watchdepth.export.mailer import (
    DeliveryFailed,
    Mailer,
    SmtpSettings,
    report_message,
)

from .helpers import SmtpServer, make_certificate

LINK = "https://stats.example.com/exports/download/abc.123.sig"


def message(to: str = "анна@example.com") -> EmailMessage:
    return report_message(
        to=to, sender="reports@example.com", link=LINK, expires_at=1_700_000_000, job_id="j1", rows=1234, fmt="csv"
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def tls_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    return ctx


def check_login(server: object, session: object, envelope: object, mechanism: str, data: object) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"reports", b"s3cret")
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


def test_one_message_with_text_and_html_bodies(smtp: SmtpServer) -> None:
    Mailer(SmtpSettings(host="127.0.0.1", port=smtp.port)).send(message())
    (got,) = smtp.messages
    assert (got["Subject"], got["To"], got["From"]) == (
        "Your watchdepth report is ready",
        "анна@example.com",
        "reports@example.com",
    )
    text = got.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = got.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert LINK in text and f'href="{LINK}"' in html
    assert "2023-11-14 22:13 UTC" in text and "2023-11-14 22:13 UTC" in html and "generate the report again" in text


def test_starttls_with_login(cert: tuple[Path, Path]) -> None:
    server = SmtpServer(
        tls_context=tls_context(cert), require_starttls=True, auth_required=True, authenticator=check_login
    ).start()
    try:
        settings = SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            security="starttls",
            user="reports",
            password="s3cret",
            cafile=str(cert[0]),
        )
        Mailer(settings).send(message())
        assert len(server.messages) == 1
        bad = SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            security="starttls",
            user="reports",
            password="wrong",
            cafile=str(cert[0]),
        )
        sleeps: list[float] = []
        with pytest.raises(DeliveryFailed, match="after 1 attempt: the SMTP server refused the user name or password"):
            Mailer(bad, sleep=sleeps.append).send(message())
        assert sleeps == [] and len(server.messages) == 1, "a permanent failure is not retried"
    finally:
        server.stop()


def test_implicit_tls(cert: tuple[Path, Path]) -> None:
    server = SmtpServer(ssl_context=tls_context(cert)).start()
    try:
        Mailer(SmtpSettings(host="127.0.0.1", port=server.port, security="tls", cafile=str(cert[0]))).send(message())
        assert len(server.messages) == 1
        untrusted = SmtpSettings(host="127.0.0.1", port=server.port, security="tls")
        with pytest.raises(DeliveryFailed, match="after 1 attempt: SSLCertVerificationError"):
            Mailer(untrusted, sleep=lambda s: None).send(message())
    finally:
        server.stop()


def test_a_server_that_is_down_is_retried_with_backoff_then_fails_with_a_reason(smtp: SmtpServer) -> None:
    smtp.stop()
    sleeps: list[float] = []
    mailer = Mailer(SmtpSettings(host="127.0.0.1", port=smtp.port, attempts=4, backoff=2.0), sleep=sleeps.append)
    with pytest.raises(DeliveryFailed) as caught:
        mailer.send(message())
    assert sleeps == [2.0, 4.0, 8.0]
    assert caught.value.message == (
        f"could not send the e-mail to анна@example.com through 127.0.0.1:{smtp.port} after 4 attempts: "
        "connection refused (is the SMTP server running, and are host and port right?)"
    )


def test_a_server_that_comes_back_gets_the_message_once(smtp: SmtpServer) -> None:
    smtp.stop()

    def back_up(seconds: float) -> None:
        smtp.start()

    Mailer(SmtpSettings(host="127.0.0.1", port=smtp.port), sleep=back_up).send(message())
    assert len(smtp.messages) == 1


def test_unknown_security_is_refused() -> None:
    with pytest.raises(ValueError, match="none, starttls, tls"):
        Mailer(SmtpSettings(security="ssl"))
