"""``watchdepth copy``: a demo-like embedded installation moved into ClickHouse (chDB) gives the same API numbers.

The source is seeded in process through the same code as ``serve --demo`` (catalog, a
token, a few days of demo history through the import path). The copy and both servers run
as the real CLI in subprocesses (chDB hosts one engine per process).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server

pytestmark = pytest.mark.clickhouse
NOW = 1_768_953_600_000  # 2026-01-21T00:00:00Z
PERIOD = {"from": "2026-01-14", "to": "2026-01-22"}
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("/v1/analytics/overview", PERIOD),
    (
        "/v1/analytics/overview",
        {**PERIOD, "timezone": "Asia/Kolkata", "group_time": "day", "project_id": "demo-academy"},
    ),
    ("/v1/analytics", {**PERIOD, "group_by": "video_id", "order": "watch_time.desc"}),
    ("/v1/analytics", {**PERIOD, "group_entities": "date,country", "limit": 5, "offset": 2}),
    ("/v1/analytics", {**PERIOD, "group_by": "external_id,platform", "folder_id": "python"}),
    ("/v1/analytics/referrers", PERIOD),
    ("/v1/analytics/retention", {**PERIOD, "video_id": "py-01"}),
    ("/v1/projects", {}),
    ("/v1/folders", {}),
    ("/v1/videos", {}),
    ("/v1/streams", {}),  # the catalog, created_at too
]


def seed(data: Path) -> str:
    from watchdepth.cli import _apply_lines
    from watchdepth.config import Settings
    from watchdepth.demo import workspace as demo
    from watchdepth.serve import services

    s = services.build(Settings(data_dir=data))
    try:
        cat = s.catalog
        for entity, rows in (
            ("projects", demo.PROJECTS),
            ("folders", demo.FOLDERS),
            ("videos", demo.VIDEOS),
            ("streams", demo.STREAMS),
        ):
            for row in rows:
                cat.create(entity, dict(row))
        for row in demo.EVENTS:
            cat.create("events", {**row, "project_id": cat.get("streams", row["stream_id"])["project_id"]})
        _apply_lines(s, demo.history(NOW, days=8, sessions_per_day=30), label="demo")
        secret, _ = s.tokens.create("copied", (), False)
    finally:
        s.close()
    return secret


def copy_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watchdepth.cli", "copy", *args], capture_output=True, text=True, timeout=300
    )


def answers(server: Server) -> list[Any]:
    out = []
    for path, params in QUERIES:
        r = server.api("GET", path, params=params)
        assert r.status_code == 200, (path, r.text)
        out.append(r.json())
    return out


def test_copy_moves_everything_and_numbers_match(tmp_path: Path) -> None:
    src = tmp_path / "embedded"
    token = seed(src)
    dsn = f"chdb://{tmp_path / 'chdb'}"

    r = copy_cli("--from", str(src), "--to", dsn)
    assert r.returncode == 0, r.stderr
    assert "copy: 100%" in r.stderr and "copied events " in r.stderr  # the progress bar and the summary
    again = copy_cli("--from", str(src), "--to", dsn)
    assert again.returncode == 1 and "already holds data" in again.stderr and "--force" in again.stderr
    forced = copy_cli("--from", str(src), "--to", dsn, "--force", "--batch-rows", "5000")  # many batches
    assert forced.returncode == 0, forced.stderr
    assert forced.stderr.splitlines()[-1] == r.stderr.splitlines()[-1]  # the same counts, checked by the command

    embedded = Server(src)
    embedded.token = token  # the token was created in the embedded store
    embedded.start()
    try:
        expected = answers(embedded)
    finally:
        embedded.stop()
        embedded.client.close()
    assert expected[0]["data"]["total"]["player_loads"] > 100  # the demo history is there
    assert len(expected[-2]["data"]) == len(demo_videos())

    (tmp_path / "ch").mkdir()
    moved = Server(tmp_path / "ch", store=dsn)
    moved.token = token  # ... and works on ClickHouse: tokens were copied
    moved.start()
    try:
        assert answers(moved) == expected
    finally:
        moved.stop()
        moved.client.close()


def demo_videos() -> list[Any]:
    from watchdepth.demo import workspace as demo

    return demo.VIDEOS


def test_copy_refuses_a_bad_target_a_missing_or_running_source(tmp_path: Path) -> None:
    r = copy_cli("--from", str(tmp_path), "--to", "postgres://x")
    assert r.returncode == 1 and "ClickHouse DSN" in r.stderr
    r = copy_cli("--from", str(tmp_path / "nowhere"), "--to", f"chdb://{tmp_path / 'chdb'}")
    assert r.returncode == 1 and "no embedded database" in r.stderr
    running = Server(tmp_path)
    running.start()
    try:
        r = copy_cli("--from", str(tmp_path), "--to", f"chdb://{tmp_path / 'chdb'}")
        assert r.returncode == 1 and "stop `watchdepth serve`" in r.stderr and "Traceback" not in r.stderr
    finally:
        running.stop()
        running.client.close()


def test_a_file_from_before_city_is_upgraded_before_the_copy(tmp_path: Path) -> None:
    """The copy selects ClickHouse's columns from the file: one without ``city`` must be opened
    (upgraded) through ``DuckDBStore`` first, or the copy fails on the missing column."""
    from watchdepth.store.copy import _old_schema
    from watchdepth.store.duckdb import DuckDBStore

    path = tmp_path / "old.duckdb"
    store = DuckDBStore(path)
    assert not _old_schema(path)
    for table in ("events", "facts"):
        store._cur().execute(f"ALTER TABLE {table} DROP COLUMN city")  # as the previous release left it
    store.close()
    assert _old_schema(path)
    DuckDBStore(path).close()
    assert not _old_schema(path)
