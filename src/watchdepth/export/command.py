"""``watchdepth export``: build a report from the shell, with a progress bar.

Not built yet: issue 5.
"""

from __future__ import annotations

import argparse
from typing import Any

from watchdepth.config import Settings


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("export", help="build a report (CSV/XLSX in a ZIP) (not built yet)")
    p.add_argument("--data", dest="data_dir", help="data directory (default ./watchdepth-data)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    print("error: `watchdepth export` is not built yet", flush=True)
    return 2
