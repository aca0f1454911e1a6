"""A small demo-like workspace for the Kinescope compatibility tests, and a server holding it.

The log, worked by hand (docs/metrics.md §3: a view is a run reaching 5 s; a load is a player load):

- A: v1 (project p1, folder fa), desktop, DE, 2026-01-05 10:00Z: plays 0 -> 10 s (a view, 10 s).
- B: v1, phone, US, 2026-01-06 10:00Z: plays 0 -> 6 s (a view, 6 s).
- C: v2 (p1, folder fb), desktop, US, 2026-01-05 23:30Z: loads only.
- H0..H11: v3 (p2), desktop, DE, 2026-01-07 at 00:10Z, 01:10Z, ... 11:10Z: loads only.
- v4 "Вводный КУРС" (p2, no folder): never played; stream s1 (p2) and its event e1: never watched.

So on 2026-01-05..06 (UTC): desktop 1 view / 2 loads, mobile 1 view / 1 load; DE 1 view /
1 load, US 1 view / 2 loads. In Europe/Berlin (UTC+1) C falls on 2026-01-06.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.conftest import DESKTOP_UA, PHONE_UA, Server, load_events

DE, US = "46.4.0.1", "8.8.8.8"
JAN5 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
HOUR = 3_600_000
TWO_DAYS = {"from": "2026-01-05", "to": "2026-01-07", "timezone": "UTC"}


def seed(s: Server) -> None:
    s.ok("POST", "/v1/projects", json={"id": "p1", "name": "Project one"})
    s.ok("POST", "/v1/projects", json={"id": "p2", "name": "Project two"})
    s.ok("POST", "/v1/folders", json={"id": "fa", "project_id": "p1", "name": "a"})
    s.ok("POST", "/v1/folders", json={"id": "fb", "project_id": "p1", "parent_id": "fa", "name": "b"})
    s.ok(
        "POST", "/v1/videos", json={"id": "v1", "project_id": "p1", "folder_id": "fa", "title": "One", "duration": 100}
    )
    s.ok(
        "POST", "/v1/videos", json={"id": "v2", "project_id": "p1", "folder_id": "fb", "title": "Two", "duration": 10.5}
    )
    s.ok("POST", "/v1/videos", json={"id": "v3", "project_id": "p2", "title": "Three", "duration": 60})
    s.ok("POST", "/v1/videos", json={"id": "v4", "project_id": "p2", "title": "Вводный КУРС", "duration": 30})
    s.ok("POST", "/v1/streams", json={"id": "s1", "project_id": "p2", "title": "Live"})
    s.ok("POST", "/v1/streams/s1/events", json={"id": "e1", "title": "Episode 1"})
    events = [
        *load_events(
            {"video_id": "v1"},
            "A",
            "A1",
            JAN5 + 10 * HOUR,
            [("play", 1, 0), ("progress", 6, 5), ("progress", 11, 10)],
            ip=DE,
            user_agent=DESKTOP_UA,
        ),
        *load_events(
            {"video_id": "v1"},
            "B",
            "B1",
            JAN5 + 34 * HOUR,
            [("play", 1, 0), ("progress", 7, 6)],
            ip=US,
            user_agent=PHONE_UA,
        ),
        *load_events({"video_id": "v2"}, "C", "C1", JAN5 + 23 * HOUR + 1_800_000, [], ip=US, user_agent=DESKTOP_UA),
    ]
    for h in range(12):
        events += load_events(
            {"video_id": "v3"}, f"H{h}", f"H{h}L", JAN5 + (48 + h) * HOUR + 600_000, [], ip=DE, user_agent=DESKTOP_UA
        )
    r = s.import_events(events)
    assert r.status_code == 202, r.text


def running(data: Path, backend: str = "duckdb") -> Iterator[Server]:
    """A started server on ``data`` holding ``seed`` (on ``backend``: duckdb or clickhouse through chDB)."""
    s = Server(data, store=f"chdb://{data / 'chdb'}" if backend == "clickhouse" else None)
    s.start()
    try:
        seed(s)
        yield s
    finally:
        s.stop()
        s.client.close()
