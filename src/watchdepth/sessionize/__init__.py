"""Events of a load -> runs, views, watched sets and credited facts (docs/metrics.md §3–5)."""

from watchdepth.sessionize.sessionizer import (
    APPLIED,
    BOT,
    DUPLICATE,
    LATE,
    Credit,
    Outcome,
    Sessionizer,
    collect_order,
    import_order,
    startup_bin,
)

__all__ = [
    "APPLIED",
    "BOT",
    "DUPLICATE",
    "LATE",
    "Credit",
    "Outcome",
    "Sessionizer",
    "collect_order",
    "import_order",
    "startup_bin",
]
