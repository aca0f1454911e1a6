"""Watching now (docs/metrics.md §4), kept incrementally so a read costs O(contents), not O(sessions).

Input: ``note(session, t, content, playing)`` for each applied counted event (``load`` or a
positioned type), in processing order; ``counts(now_ms)`` from any thread.
Output: content id -> number of sessions whose latest counted event was received in the
last 30 s, i.e. ``now - 30 s < t``, and is ``play`` or ``progress``. An event received
exactly 30.0 s ago is out: "the last 30 s" is the half-open window (now − 30 s, now].

How: one record per session seen in the window (its latest event's time, and its content
when that event is play/progress), a per-content counter of playing sessions, and a
min-heap of expiry times with exactly one live entry per session. A session that keeps
sending is re-queued lazily when its old entry comes due, so the heap never holds more
than one entry per session and events applied out of time order (a replay after a failed
write, concurrent requests) expire at their own time. Reads pop only what has expired.
It does not decide which events count (``sessionizer`` does) and keeps no history.
"""

from __future__ import annotations

import heapq
import threading
from collections import Counter

#: "Watching now" looks this far back (docs/metrics.md §4).
WINDOW_MS = 30_000


class _Latest:
    """One session's latest counted event: its time, content when playing, and its heap entry."""

    __slots__ = ("t", "content", "due")

    def __init__(self, t: int, content: str | None) -> None:
        self.t = t
        self.content = content  # None: the latest counted event is not play/progress
        self.due = t  # time of this session's one live heap entry (<= t)


class WatchingNow:
    """Sessions playing now, per content; thread-safe (written by the ingest worker, read by the API)."""

    def __init__(self, window_ms: int = WINDOW_MS) -> None:
        self.window_ms = window_ms
        self._latest: dict[str, _Latest] = {}
        self._by_content: Counter[str] = Counter()
        self._heap: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Sessions held (seen within the window, not yet expired by a read)."""
        return len(self._latest)

    def note(self, session_id: str, t: int, content_id: str, playing: bool) -> None:
        """A counted event of ``session_id`` was applied: it is now the session's latest."""
        content = content_id if playing else None
        with self._lock:
            rec = self._latest.get(session_id)
            if rec is None:
                self._latest[session_id] = _Latest(t, content)
                heapq.heappush(self._heap, (t, session_id))
            else:
                if rec.content is not None:
                    self._by_content[rec.content] -= 1
                rec.t, rec.content = t, content
                if t < rec.due:  # older than its queued expiry: queue it earlier (the old entry goes stale)
                    rec.due = t
                    heapq.heappush(self._heap, (t, session_id))
            if content is not None:
                self._by_content[content] += 1

    def drop(self, session_id: str) -> None:
        """Forget a session (its state is being rebuilt); its heap entry goes stale."""
        with self._lock:
            rec = self._latest.pop(session_id, None)
            if rec is not None and rec.content is not None:
                self._by_content[rec.content] -= 1

    def counts(self, now_ms: int) -> Counter[str]:
        """Content id -> sessions watching at ``now_ms`` (only contents with at least one)."""
        horizon = now_ms - self.window_ms  # t <= horizon is 30 s old or more: out
        with self._lock:
            self._expire(horizon)
            return +self._by_content

    def _expire(self, horizon: int) -> None:
        heap, latest = self._heap, self._latest
        while heap and heap[0][0] <= horizon:
            due, sid = heapq.heappop(heap)
            rec = latest.get(sid)
            if rec is None or rec.due != due:
                continue  # stale entry: the session was dropped or re-queued earlier
            if rec.t <= horizon:
                del latest[sid]
                if rec.content is not None:
                    self._by_content[rec.content] -= 1
            else:  # it sent again since: queue its new expiry
                rec.due = rec.t
                heapq.heappush(heap, (rec.t, sid))
