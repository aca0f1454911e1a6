"""The watched set of one (session, content): a union of closed intervals of content time.

Input: intervals played, as they grow. Output: the pieces each addition newly covers,
which is exactly the watch time to credit (docs/metrics.md §3: a segment watched twice in
one session counts once). It does not know about runs, loads or time of day.
"""

from __future__ import annotations

#: Touching intervals merge: [0, 3] ∪ [3, 5] is [0, 5].
Pieces = list[tuple[float, float]]


class WatchedSet:
    """Disjoint, sorted intervals kept as one flat list ``[a0, b0, a1, b1, ...]``."""

    __slots__ = ("bounds",)

    def __init__(self) -> None:
        self.bounds: list[float] = []

    def add(self, a: float, b: float) -> Pieces:
        """Unite ``[a, b]`` into the set; return the pieces that were not covered before."""
        if b <= a:
            return []
        bounds = self.bounds
        if not bounds or a > bounds[-1]:  # the common case: playing on past everything seen
            bounds += (a, b)
            return [(a, b)]
        if a >= bounds[-2] and b <= bounds[-1]:
            return []
        if a >= bounds[-2]:  # extends the last interval
            new = [(bounds[-1], b)]
            bounds[-1] = b
            return new
        return self._add_general(a, b)

    def _add_general(self, a: float, b: float) -> Pieces:
        """Any other addition: a linear walk (a pair's set rarely has more than a few intervals)."""
        old = self.bounds
        kept: list[float] = []
        pieces: Pieces = []
        cursor, lo, hi, placed = a, a, b, False
        for i in range(0, len(old), 2):
            s, e = old[i], old[i + 1]
            if e < a or s > b:  # disjoint and not touching
                if s > b and not placed:
                    kept += (lo, hi)
                    placed = True
                kept += (s, e)
                continue
            if s > cursor:
                pieces.append((cursor, s))
            cursor = max(cursor, e)
            lo, hi = min(lo, s), max(hi, e)
        if cursor < b:
            pieces.append((cursor, b))
        if not placed:
            kept += (lo, hi)
        self.bounds = kept
        return pieces

    def length(self) -> float:
        b = self.bounds
        return sum(b[i + 1] - b[i] for i in range(0, len(b), 2))

    def intervals(self) -> Pieces:
        b = self.bounds
        return [(b[i], b[i + 1]) for i in range(0, len(b), 2)]
