"""Signed links: a valid token opens, a tampered one is 404, an expired one is 410."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from watchdepth.errors import Gone, NotFound
from watchdepth.export.links import KEY_FILE, LinkSigner

JOB = "0123456789abcdef0123456789abcdef"
EXPIRES = 1_700_000_000


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_signed_token_verifies_until_it_expires(tmp_path: Path) -> None:
    clock = Clock(EXPIRES - 1)
    signer = LinkSigner(tmp_path, clock=clock)
    token = signer.sign(JOB, EXPIRES)
    assert signer.verify(token) == JOB
    clock.now = EXPIRES
    with pytest.raises(Gone, match=r"expired on 2023-11-14 22:13 UTC\. Generate the report again"):
        signer.verify(token)


def tampered(token: str) -> list[str]:
    job, exp, sig = token.split(".")
    flip = "A" if sig[5] != "A" else "B"
    return [
        f"{job[:-1]}{'0' if job[-1] != '0' else '1'}.{exp}.{sig}",  # another job
        f"{job}.{int(exp) + 86_400}.{sig}",  # a later expiry
        f"{job}.{exp}.{sig[:5]}{flip}{sig[6:]}",  # a forged signature
        f"{job}.{exp}",
        "../../etc/passwd",
        "",
    ]


def test_a_tampered_token_is_not_found_even_after_its_expiry(tmp_path: Path) -> None:
    clock = Clock(EXPIRES - 10)
    signer = LinkSigner(tmp_path, clock=clock)
    for now in (EXPIRES - 10, EXPIRES + 10):
        clock.now = now
        for bad in tampered(signer.sign(JOB, EXPIRES)):
            with pytest.raises(NotFound):
                signer.verify(bad)


def test_the_secret_is_created_once_private_and_shared(tmp_path: Path) -> None:
    first = LinkSigner(tmp_path, clock=Clock(0))
    key = tmp_path / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    second = LinkSigner(tmp_path, clock=Clock(0))  # another process, or the next start
    assert second.verify(first.sign(JOB, EXPIRES)) == JOB
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]


def test_another_data_dir_does_not_accept_the_token(tmp_path: Path) -> None:
    token = LinkSigner(tmp_path / "a", clock=Clock(0)).sign(JOB, EXPIRES)
    with pytest.raises(NotFound):
        LinkSigner(tmp_path / "b", clock=Clock(0)).verify(token)
