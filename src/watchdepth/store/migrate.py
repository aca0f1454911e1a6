"""``watchdepth migrate``: apply the ClickHouse schema migrations.

Not built yet: issue 7.
"""

from __future__ import annotations

import argparse
from typing import Any

from watchdepth.config import Settings


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("migrate", help="apply ClickHouse schema migrations (not built yet)")
    p.add_argument("--data", dest="data_dir", help="data directory (default ./watchdepth-data)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    print("error: `watchdepth migrate` is not built yet", flush=True)
    return 2
