"""Ext ``parts`` of /v1/analytics/overview through the real server (DuckDB store).

Two loads of v1 (100 s) on 2026-01-05: A from Germany plays 0 -> 10 s continuously (a view,
10 s watched, docs/metrics.md §3); B from the US only loads (a player load, no view). By hand:
player_loads 2, views 1, watch_time 10; top countries DE (1 view, 1 load) before US (0, 1).
"""

from __future__ import annotations

from typing import Any

from tests.conftest import DESKTOP_UA, Server

DAY1 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
PERIOD = {"from": "2026-01-05", "to": "2026-01-06", "timezone": "UTC"}  # one whole day


def _events() -> list[dict[str, Any]]:
    t = DAY1 + 36_000_000  # 10:00
    a = {"video_id": "v1", "session_id": "A", "load_id": "A1", "ip": "46.4.0.1", "user_agent": DESKTOP_UA}
    b = {"video_id": "v1", "session_id": "B", "load_id": "B1", "ip": "8.8.8.8", "user_agent": DESKTOP_UA}
    return [
        {"type": "load", "seq": 0, "ts": t, **a},
        {"type": "play", "seq": 1, "ts": t + 1000, "position": 0, **a},
        {"type": "progress", "seq": 2, "ts": t + 6000, "position": 5, **a},
        {"type": "progress", "seq": 3, "ts": t + 11000, "position": 10, **a},
        {"type": "load", "seq": 0, "ts": t + 60_000, **b},
    ]


def _overview(s: Server, **params: Any) -> Any:
    r = s.api("GET", "/v1/analytics/overview", params={**PERIOD, **params})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_parts_leave_out_what_is_not_asked(catalog: Server) -> None:
    r = catalog.import_events(_events())
    assert r.status_code == 202, r.text
    full = _overview(catalog)
    assert set(full) == {"total", "timeline", "top"}
    assert (full["total"]["player_loads"], full["total"]["views"], full["total"]["watch_time"]) == (2, 1, 10)
    assert [(c["code"], c["views"], c["player_loads"]) for c in full["top"]["countries"]] == [
        ("DE", 1, 1),
        ("US", 0, 1),
    ]

    only_total = _overview(catalog, parts="total")
    assert only_total == {"total": full["total"]}
    two = _overview(catalog, parts="total,timeline", group_time="hour")
    assert set(two) == {"total", "timeline"} and two["total"] == full["total"]
    assert len(two["timeline"]) == 24
    assert [(p["date"], p["views"], p["player_loads"]) for p in two["timeline"] if p["player_loads"]] == [
        ("2026-01-05T10:00:00Z", 1, 2)
    ]
    # repeated and in any order: the same as the comma list
    top = catalog.api(
        "GET", "/v1/analytics/overview", params=[*PERIOD.items(), ("parts", "top"), ("parts", "timeline")]
    )
    assert top.status_code == 200, top.text
    assert top.json()["data"] == {"timeline": full["timeline"], "top": full["top"]}


def test_unknown_or_empty_part_is_invalid_params(catalog: Server) -> None:
    for value in ("total,tops", ""):
        r = catalog.api("GET", "/v1/analytics/overview", params={**PERIOD, "parts": value})
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["code"] == 400400
        assert [p["name"] for p in err["invalid_params"]] == ["parts"]
        assert "total, timeline, top" in str(err["invalid_params"][0])
