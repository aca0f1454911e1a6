"""Signed download links: a job id and an expiry, sealed with HMAC-SHA256.

Input: a job id and its expiry (Unix seconds), or a token from a URL. Output: the
token ``<job id>.<expiry>.<signature>``, or, on verification, the job id. The
secret is 32 random bytes in ``DATA/exports/link.key`` (mode 0600), created once
and shared by every process on the data dir.

A token that does not verify (malformed, tampered id, expiry or signature, or a
secret that changed) is ``NotFound``: it tells a prober nothing about which jobs
exist, and a 403 would suggest that some other credential could open it. A token
that verifies but whose expiry has passed is ``Gone`` (410) with a message telling
the user to generate the report again. This module does not know where files are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from watchdepth.errors import Gone, NotFound

KEY_FILE = "link.key"
_TOKEN = re.compile(r"^(?P<job>[0-9a-f]{32})\.(?P<exp>\d{1,12})\.(?P<sig>[A-Za-z0-9_-]{43})$")


class LinkSigner:
    """Signs and verifies download tokens with the data dir's secret."""

    def __init__(self, exports_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._key = load_or_create_key(exports_dir / KEY_FILE)
        self._clock = clock

    def sign(self, job_id: str, expires_at: int) -> str:
        return f"{job_id}.{expires_at}.{self._mac(job_id, expires_at)}"

    def verify(self, token: str) -> str:
        """The job id of a valid, unexpired token; NotFound if it does not verify, Gone if expired."""
        m = _TOKEN.match(token)
        if m is None or not hmac.compare_digest(m["sig"], self._mac(m["job"], int(m["exp"]))):
            raise NotFound("This download link is not valid. Check that it was copied whole.")
        expires_at = int(m["exp"])
        if self._clock() >= expires_at:
            raise expired(expires_at)
        return m["job"]

    def _mac(self, job_id: str, expires_at: int) -> str:
        digest = hmac.new(self._key, f"{job_id}.{expires_at}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def expired(expires_at: int) -> Gone:
    """The 410 of a link past its expiry (or whose file was already deleted)."""
    when = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Gone(f"This download link expired on {when}. Generate the report again to get a new link.")


def load_or_create_key(path: Path) -> bytes:
    """The secret at ``path``; the first caller creates it (0600) atomically, racing callers read it."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(32))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()
