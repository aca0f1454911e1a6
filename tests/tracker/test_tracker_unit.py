"""Runs the tracker's JavaScript unit tests (test_tracker_unit.js) under ``node --test``.

Once against the readable source and once against the minified copy served at
/tracker.js, so one pytest command runs everything. Skipped when Node is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="needs Node.js (node --test)")
@pytest.mark.parametrize("script", ["tracker.js", "tracker.min.js"])
def test_node_unit_tests_pass(script: str) -> None:
    assert NODE is not None
    env = {**os.environ, "WATCHDEPTH_TRACKER": script, "NODE_OPTIONS": ""}
    run = subprocess.run(
        [NODE, "--test", "--test-reporter=tap", str(HERE / "test_tracker_unit.js")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    failed = [line for line in run.stdout.splitlines() if line.startswith("not ok")]
    assert run.returncode == 0, "\n".join(failed) + "\n" + run.stdout[-6000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout
    passed = int(next(line for line in run.stdout.splitlines() if line.startswith("# pass")).split()[-1])
    assert passed >= 30
