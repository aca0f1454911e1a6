"""Settings from the environment: a value that is no number, or a number no setting can mean,
is a clear error naming the variable (the CLI prints it and exits 2), never a stack trace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from watchdepth import config
from watchdepth.errors import ValidationFailed


@pytest.mark.parametrize("raw", ["abc", "1e308", "nan", "inf", "-5", "1e16"])
def test_a_numeric_setting_out_of_bounds_is_refused_by_name(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDEPTH_KEEP_ALIVE_TIMEOUT", raw)
    with pytest.raises(ValidationFailed, match=f"WATCHDEPTH_KEEP_ALIVE_TIMEOUT='{raw}'"):
        config.load()


def test_good_values_still_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDEPTH_KEEP_ALIVE_TIMEOUT", "30.5")
    monkeypatch.setenv("WATCHDEPTH_MAX_CONNECTIONS", "0")
    got = config.load()
    assert (got.keep_alive_timeout, got.max_connections) == (30.5, 0)


def test_the_cli_says_which_variable_and_exits_2(tmp_path: Path) -> None:
    env = {"WATCHDEPTH_MAX_CONNECTIONS": "lots", "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-m", "watchdepth.cli", "token", "list", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2 and r.stderr.strip() == "error: WATCHDEPTH_MAX_CONNECTIONS='lots' is not a number", (
        r.stderr
    )
