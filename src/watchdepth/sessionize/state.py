"""What the sessionizer remembers between events: per session, per load, per (session, content).

Input: nothing (plain containers). Output: the state objects, small by design (``__slots__``,
no per-event history) since one exists per active session. The rules that change them live
in ``sessionizer``.
"""

from __future__ import annotations

from watchdepth.schema import LoadDims
from watchdepth.sessionize.watched import WatchedSet

#: A load's dimensions (``watchdepth.schema.LoadDims``, a named tuple in facts' column order).
Dims = LoadDims


class PairState:
    """One (session, content): its watched set and what was already credited once."""

    __slots__ = ("watched", "impression", "view", "imp_t", "imp_dims")

    def __init__(self) -> None:
        self.watched = WatchedSet()
        self.impression = False
        self.view = False
        self.imp_t: int | None = None  # when its unique impression was credited (the cohort it belongs to)
        self.imp_dims: Dims | None = None  # the dimensions it was credited with


class LoadState:
    """One player load: its sequence bookkeeping and its open run."""

    __slots__ = (
        "max_seq",
        "gaps",
        "run_start",
        "run_end",
        "run_no",
        "run_content",
        "dims",
        "loaded",
        "ended",
        "replaying",
        "first_play",
        "started",
        "failed",
    )

    def __init__(self, dims: Dims) -> None:
        self.max_seq = -1
        self.gaps: list[list[int]] | None = None  # [lo, hi] seq ranges skipped so far (late candidates)
        self.run_start: float | None = None  # None: no run open
        self.run_end: float | None = None
        self.run_no = 0  # runs opened so far in this load; the open run is number run_no
        self.run_content: str | None = None  # what the open run plays (a playlist load moves on)
        self.dims = dims
        self.loaded = False  # a ``load`` event was credited
        self.ended: str | None = None  # the content whose end this load reached (a next play is a replay)
        self.replaying = False  # the play being applied is a replay
        self.first_play: int | None = None  # the time of its first ``play`` (docs/metrics.md §7's cohort)
        self.started = False  # a ``startup`` was credited
        self.failed = False  # a fatal ``error`` was credited

    def classify(self, seq: int) -> str:
        """'new', 'late' (a skipped seq arriving after a higher one) or 'duplicate'."""
        if seq > self.max_seq:
            if seq > self.max_seq + 1:
                self.gaps = (self.gaps or []) + [[self.max_seq + 1, seq - 1]]
            self.max_seq = seq
            return "new"
        for i, (lo, hi) in enumerate(self.gaps or ()):
            if lo <= seq <= hi:
                self._fill_gap(i, seq)
                return "late"
        return "duplicate"

    def _fill_gap(self, i: int, seq: int) -> None:
        assert self.gaps is not None
        lo, hi = self.gaps[i]
        rest = [r for r in ([lo, seq - 1], [seq + 1, hi]) if r[0] <= r[1]]
        self.gaps[i : i + 1] = rest
        if not self.gaps:
            self.gaps = None


class SessionState:
    """One device session: its loads, its (session, content) pairs, idempotency keys."""

    __slots__ = ("loads", "pairs", "ids", "last_t", "touched")

    def __init__(self) -> None:
        self.loads: dict[str, LoadState] = {}
        self.pairs: dict[str, PairState] = {}
        self.ids: set[str] | None = None  # its event ids not of the tracker's "load:seq" form (see ``Sessionizer.ids``)
        self.last_t = 0  # time of the latest event (ms), for expiry
        self.touched = 0.0  # wall clock of the latest change (s), so an import is not evicted mid-way
