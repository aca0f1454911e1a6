"""``watchdepth simulate``: play N synthetic viewers against a running server.

Not built yet: issue 6.
"""

from __future__ import annotations

import argparse
from typing import Any

from watchdepth.config import Settings


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("simulate", help="play synthetic viewers against a server (not built yet)")
    p.add_argument("--data", dest="data_dir", help="data directory (default ./watchdepth-data)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    print("error: `watchdepth simulate` is not built yet", flush=True)
    return 2
