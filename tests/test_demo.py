"""The demo's synthetic viewing sends the quality events a real tracker sends (docs/metrics.md §7),
so ``serve --demo`` shows sane quality numbers rather than every played load as an exit before start.

The lines are checked load by load (the tracker's order and fields), then a demo history goes
through the import path into the embedded store, as ``serve --demo`` does, and the real server's
overview and breakdown are read.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import msgspec

from tests.conftest import Server
from watchdepth.demo import workspace as demo

NOW = 1_768_953_600_000  # 2026-01-21T00:00:00Z


def loads(lines: list[bytes]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        e = msgspec.json.decode(line)
        out.setdefault(e["load_id"], []).append(e)
    return out


def test_each_load_sends_its_quality_events_as_the_tracker_does() -> None:
    by_load = loads(list(demo.history(NOW, days=5, sessions_per_day=60)))
    kinds = {"started": 0, "failed_before": 0, "left_before": 0}
    for events in by_load.values():
        types = [e["type"] for e in events]
        assert [e["seq"] for e in events] == list(range(len(events)))
        assert all(a["ts"] <= b["ts"] for a, b in itertools.pairwise(events))
        if "play" not in types:
            continue
        first_play = types.index("play")
        assert types.count("startup") <= 1
        fatal = [i for i, e in enumerate(events) if e["type"] == "error"]
        assert all(events[i]["fatal"] is True and events[i]["code"] for i in fatal)
        assert len(fatal) <= 1 and (not fatal or fatal[0] == len(events) - 1)  # a fatal error ends the load
        if "startup" in types:
            kinds["started"] += 1
            i = types.index("startup")
            assert i == first_play + 1  # the first frame comes before any heartbeat
            assert events[i]["ts"] - events[first_play]["ts"] == events[i]["ms"] > 0
            assert "position" not in events[i]
            stalls = [e for e in events if e["type"] == "stall"]
            assert all(types.index("stall") > i and s["ms"] > 0 and "position" in s for s in stalls)
        elif fatal:
            kinds["failed_before"] += 1
            assert types == ["load", "play", "error"]
        else:
            kinds["left_before"] += 1
            assert types == ["load", "play"]
    assert kinds["started"] > 20 * (kinds["failed_before"] + kinds["left_before"]) > 0
    assert kinds["failed_before"] > 0 and kinds["left_before"] > 0


def seed(data: Path) -> str:
    from watchdepth.cli import _apply_lines
    from watchdepth.config import Settings
    from watchdepth.serve import services

    s = services.build(Settings(data_dir=data))
    try:
        for entity, rows in (
            ("projects", demo.PROJECTS),
            ("folders", demo.FOLDERS),
            ("videos", demo.VIDEOS),
            ("streams", demo.STREAMS),
        ):
            for row in rows:
                s.catalog.create(entity, dict(row))
        for row in demo.EVENTS:
            s.catalog.create("events", {**row, "project_id": s.catalog.get("streams", row["stream_id"])["project_id"]})
        _apply_lines(s, demo.history(NOW), label="demo")
        secret, _ = s.tokens.create("demo", (), False)
    finally:
        s.close()
    return secret


def test_the_demo_shows_sane_quality_numbers(tmp_path: Path) -> None:
    srv = Server(tmp_path)
    srv.token = seed(tmp_path)
    srv.start()
    try:
        period = {"from": "2025-12-01", "to": "2026-01-21"}
        total = srv.ok("GET", "/v1/analytics/overview", params=period)["data"]["total"]
        browsers = srv.ok(
            "GET",
            "/v1/analytics",
            params={
                **period,
                "group_by": "browser",
                "fields": "rebuffer_ratio,startup_time",
                "order": "rebuffer_ratio.desc",
            },
        )["data"]
        countries = srv.ok(
            "GET",
            "/v1/analytics",
            params={**period, "group_by": "country", "fields": "startup_time", "order": "startup_time.desc"},
        )["data"]
    finally:
        srv.stop()
        srv.client.close()
    assert total["player_loads"] > 2000
    # the old demo sent no startup: every load that played (~75 % of them) was an exit before start
    assert 0.01 * total["player_loads"] < total["exits_before_start"] < 0.05 * total["player_loads"]
    assert 0.4 < total["failure_rate"] < 2.5
    assert 0.1 < total["rebuffer_ratio"] < 1.5
    assert 0.4 < total["startup_time"] < 1.2 < total["startup_time_p90"] < 3.0
    assert total["buffering_count"] > 0 and total["buffering_time"] > 0
    assert browsers[0]["browser"] == "Safari"  # the iPhone stalls most
    assert [r["country"] for r in countries[:2]] == ["NG", "BR"]  # slow connections start slowest
