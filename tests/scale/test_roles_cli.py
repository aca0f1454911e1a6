"""``watchdepth serve --role collector|api`` refuses the embedded store, as a user sees it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_role_other_than_all_needs_clickhouse(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "watchdepth.cli", "serve", "--data", str(tmp_path), "--role", "collector"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert "--role collector needs a store shared by several processes" in r.stderr
    assert "Traceback" not in r.stderr
