"""E-mail delivery of a finished report through SMTP, with retries.

Input: ``SmtpSettings`` and a message built by ``report_message`` (the link and
its expiry). Output: the message handed to the SMTP server, or ``DeliveryFailed``
with a reason a user can act on. Transient failures (connection refused, time
out, 4xx) are retried with exponential backoff; permanent ones (5xx, bad
credentials, refused recipient, bad certificate) are not. It does not decide
whether a report should be mailed again: ``jobs`` records that.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from html import escape

import msgspec

from watchdepth.errors import ServiceError

SECURITY = ("none", "starttls", "tls")


class SmtpSettings(msgspec.Struct, frozen=True):
    """Where and how to send mail. ``security``: none, starttls (usually 587) or tls (usually 465)."""

    host: str = "localhost"
    port: int = 25
    security: str = "none"
    user: str | None = None
    password: str | None = None
    sender: str = "watchdepth@localhost"
    timeout: float = 30.0
    attempts: int = 4  # tries in all, the first included
    backoff: float = 5.0  # seconds before the second try; doubles after each
    cafile: str | None = None  # a private CA for the server's certificate (default: the system's)


class DeliveryFailed(ServiceError):
    """The message could not be handed to the SMTP server; ``message`` says why."""


class Mailer:
    """Sends one message, retrying transient failures. ``sleep`` is injectable for tests."""

    def __init__(self, settings: SmtpSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        if settings.security not in SECURITY:
            raise ValueError(f"smtp security must be one of {', '.join(SECURITY)}, got {settings.security!r}")
        self.settings = settings
        self._sleep = sleep

    def send(self, message: EmailMessage, *, before_attempt: Callable[[int], None] | None = None) -> None:
        """Hand ``message`` to the server; ``before_attempt(n)`` runs before try n and may raise to give up."""
        s = self.settings
        for attempt in range(1, s.attempts + 1):
            if before_attempt is not None:
                before_attempt(attempt)
            try:
                self._send_once(message)
                return
            except (smtplib.SMTPException, OSError) as exc:
                if _permanent(exc) or attempt == s.attempts:
                    raise DeliveryFailed(_reason(message, s, attempt, exc)) from exc
                self._sleep(s.backoff * 2 ** (attempt - 1))

    def _send_once(self, message: EmailMessage) -> None:
        s = self.settings
        context = ssl.create_default_context(cafile=s.cafile)
        if s.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            if s.security == "starttls":
                smtp.starttls(context=context)
            if s.user:
                smtp.login(s.user, s.password or "")
            smtp.send_message(message)
        finally:
            _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT, ignoring its failure: once DATA was accepted the message is sent, and must not be retried."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _permanent(exc: BaseException) -> bool:
    if isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError)):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _reason(message: EmailMessage, s: SmtpSettings, attempts: int, exc: BaseException) -> str:
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return f"could not send the e-mail to {message['To']} through {s.host}:{s.port} after {tries}: {_describe(exc)}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the SMTP server running, and are host and port right?)"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "the SMTP server refused the user name or password"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"the SMTP server answered {exc.smtp_code} {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "the SMTP server refused the recipient"
    return f"{type(exc).__name__}: {exc}"


def report_message(
    *, to: str, sender: str, link: str, expires_at: int, job_id: str, rows: int, fmt: str
) -> EmailMessage:
    """The one e-mail of a report: plain text and HTML, both with the link and its expiry."""
    when = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    msg = EmailMessage()
    msg["Subject"] = "Your watchdepth report is ready"
    msg["From"] = sender
    msg["To"] = to
    # One Message-ID per report: a client that sees the same report twice can fold them.
    msg["Message-ID"] = f"<export-{job_id}@watchdepth>"
    what = f"{rows:,} rows, {fmt.upper()} in a ZIP"
    msg.set_content(
        f"Your report is ready ({what}).\n\nDownload it here:\n{link}\n\n"
        f"The link works until {when}. After that, generate the report again.\n"
    )
    msg.add_alternative(
        f"<p>Your report is ready ({escape(what)}).</p>"
        f'<p><a href="{escape(link)}">Download the report</a></p>'
        f"<p>The link works until {escape(when)}. After that, generate the report again.</p>",
        subtype="html",
    )
    return msg
