"""The sessionizer's state comes back after a restart in the background, and counts stay exact.

``Ingest.start`` serves at once and replays the recent sessions step by step; a batch that
touches a session not replayed yet replays that session first. The case that needs it: a new
load (``seq`` 0, which never looks at the log by itself) in a session that already watched
the same seconds of the same video before the restart: docs/metrics.md counts a (session, video)
pair's view, impression and watched seconds once, so the second load adds nothing. Without
the rebuild it would count all three again (checked: 60 views, 60 unique, 480 s).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from watchdepth.collect.event import Event
from watchdepth.serve import ingest as ingest_module
from watchdepth.serve.ingest import Ingest
from watchdepth.store.duckdb import DuckDBStore

from .test_store import content

NOW = 1_767_571_200_000  # the clock of both "processes"
SESSIONS = 30


def load(session: str, load_id: str, t: int) -> list[Event]:
    """A load of v1 that plays [0, 8] s (a view, 8 s of watch time)."""

    def ev(type_: str, seq: int, dt: int, **kw: Any) -> Event:
        return Event(
            type=type_,
            content_id="v1",
            kind="video",
            project_id="p1",
            session_id=session,
            load_id=load_id,
            seq=seq,
            t=t + dt,
            received_at=t + dt,
            **kw,
        )

    return [ev("load", 0, 0), ev("play", 1, 1000, position=0.0), ev("progress", 2, 9000, position=8.0, from_=0.0)]


def totals(store: DuckDBStore) -> tuple[int, int, float]:
    store.wait_loaded()
    views, unique, wt = store._run("SELECT sum(views), sum(unique_views), sum(watch_time) FROM facts")[0]
    return int(views), int(unique), float(wt)


def test_a_session_touched_before_its_turn_is_rebuilt_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DuckDBStore(tmp_path / "wd.duckdb")
    try:
        content(store)
        before = Ingest(store, clock=lambda: NOW / 1000)
        for n in range(SESSIONS):
            before.run_sync(load(f"s{n}", "l1", NOW - 60_000), kind="collect")
        assert totals(store) == (SESSIONS, SESSIONS, 8.0 * SESSIONS)

        released = {"on": False}
        real_step = Ingest._rebuild_step

        def stalled(self: Ingest) -> None:  # the background rebuild has not reached anyone yet
            if released["on"]:
                real_step(self)
            else:
                time.sleep(0.01)

        monkeypatch.setattr(Ingest, "_rebuild_step", stalled)
        monkeypatch.setattr(ingest_module, "REBUILD_STEP_SESSIONS", 7)
        after = Ingest(store, clock=lambda: NOW / 1000)

        async def main() -> None:
            started = time.monotonic()
            await after.start()
            assert time.monotonic() - started < 1  # serving at once
            try:
                got = await asyncio.gather(
                    *(after.submit(load(f"s{n}", "l2", NOW - 30_000)) for n in range(0, SESSIONS, 2))
                )
                assert all(a.accepted == 3 for a in got)
                assert len(after._unbuilt) == SESSIONS // 2  # only the touched ones were replayed
                released["on"] = True
                for _ in range(500):
                    if not after._unbuilt:
                        break
                    await asyncio.sleep(0.01)
                assert not after._unbuilt
                # the untouched half, rebuilt in the background, counts as exactly
                got = await asyncio.gather(
                    *(after.submit(load(f"s{n}", "l2", NOW - 30_000)) for n in range(1, SESSIONS, 2))
                )
                assert all(a.accepted == 3 for a in got)
            finally:
                await after.stop()

        asyncio.run(main())
        # each pair's view, impression and seconds [0, 8] were counted before the restart
        assert totals(store) == (SESSIONS, SESSIONS, 8.0 * SESSIONS)
    finally:
        store.close()
