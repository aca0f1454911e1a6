"""Fixtures of the scale-out tests: the ClickHouse HTTP stand-in (``chhttp.py``) in its own process.

``chhttp_port`` runs ``tests/scale/chhttp.py`` once per module (a process of its own, as
a ClickHouse server would be, and so that chDB's one-session-per-process rule never
meets another test's in-process chDB). ``store`` gives each test a fresh, migrated
database on it and returns its DSN.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
_db = itertools.count()


def start_chhttp(path: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "chhttp.py"), "--path", str(path)],
        stdout=subprocess.PIPE,
        stderr=None if os.environ.get("CHHTTP_TRACE") else subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ready "):
        proc.kill()
        raise AssertionError(f"chhttp did not start: {line!r}")
    return proc, int(line.split()[1])


@pytest.fixture(scope="module")
def chhttp_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    proc, port = start_chhttp(tmp_path_factory.mktemp("chhttp") / "db")
    try:
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
def store(chhttp_port: int, tmp_path: Path) -> str:
    """A fresh database on the fixture, migrated with ``watchdepth migrate``."""
    dsn = f"clickhouse://default:@127.0.0.1:{chhttp_port}/wd{next(_db)}"
    r = subprocess.run(
        [sys.executable, "-m", "watchdepth.cli", "migrate", "--store", dsn], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    return dsn
