"""The run rules of docs/metrics.md §3, applied to one load's open run.

Input: the load's open run end (or none) and one positioned event.
Output: a ``Step`` saying, in order, how the run is extended, closed, opened, and
closed again. It knows nothing of sessions, watched sets or crediting
(``sessionizer`` does that).
"""

from __future__ import annotations

from typing import NamedTuple

#: ε of docs/metrics.md §3: a play within one second of the run's end keeps the run.
EPSILON = 1.0
#: Float noise allowance for comparisons of positions sent as decimals.
FUZZ = 1e-6


class Step(NamedTuple):
    """The effect of one event on a load's run, applied in field order.

    1. ``extend_to``: the open run's end moves to this position (None: unchanged);
    2. ``close``: the open run is closed;
    3. ``open_at``: a new run [p, p] opens (None: none);
    4. ``close_after``: the run now open is closed (``ended``).
    """

    extend_to: float | None = None
    close: bool = False
    open_at: float | None = None
    close_after: bool = False


def step(kind: str, position: float, from_: float | None, run_end: float | None) -> Step:
    """One row of the table in docs/metrics.md §3. ``run_end`` is None when no run is open."""
    if kind == "play":
        return _play(position, run_end)
    if kind == "seek":
        return _seek(position, from_, run_end)
    moved = _progress(position, run_end)  # progress, pause, ended
    return moved._replace(close_after=True) if kind == "ended" else moved


def _play(p: float, run_end: float | None) -> Step:
    if run_end is None:
        return Step(open_at=p)
    if abs(p - run_end) <= EPSILON + FUZZ:
        return Step()
    return Step(close=True, open_at=p)


def _seek(p: float, from_: float | None, run_end: float | None) -> Step:
    if run_end is None:
        return Step(open_at=p)
    extend = from_ if from_ is not None and from_ > run_end else None
    return Step(extend_to=extend, close=True, open_at=p)


def _progress(p: float, run_end: float | None) -> Step:
    if run_end is None:
        return Step(open_at=p)
    if p >= run_end:
        return Step(extend_to=p)
    if run_end - p <= EPSILON + FUZZ:
        return Step()
    return Step(close=True, open_at=p)  # a jump back with no seek
