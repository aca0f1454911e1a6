"""Issue 13, rows 3 and 4 (query parameters): every number bounded, a 400400 naming the parameter.

Before: ``to=9999-12-31`` and ``from=0001-01-01&timezone=Europe/Berlin`` answered 500,
``page=99999999999999999999999`` leaked DuckDB's message in a 500, ``timezone=America``
(a directory of the zone database) 500, and hour buckets over a century took 80 s and 184 MB.
Each case runs on one keep-alive connection, which must survive every answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.kinescope_data import running
from tests.conftest import Server
from watchdepth.query.periods import MAX_BUCKETS


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(tmp_path_factory.mktemp("bounds"))


@pytest.fixture(scope="module")
def conn(srv: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {srv.token}"}, timeout=30) as c:
        yield c


def refused(c: httpx.Client, path: str, params: dict[str, Any]) -> dict[str, Any]:
    r = c.get(path, params=params)
    assert r.status_code == 400, (params, r.status_code, r.text[:300])
    assert r.headers.get("connection", "").lower() != "close"
    err: dict[str, Any] = r.json()["error"]
    assert err["code"] == 400400, err
    assert "duckdb" not in r.text.lower() and "Traceback" not in r.text
    return err["invalid_params"][0]


OVERVIEW = "/v1/analytics/overview"
TABLE = "/v1/analytics"


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        (OVERVIEW, {"from": "2026-01-01", "to": "9999-12-31"}, "to"),
        (OVERVIEW, {"from": "0001-01-01", "to": "2026-01-01", "timezone": "Europe/Berlin"}, "from"),
        (OVERVIEW, {"from": "0001-01-01T00:00:00+14:00", "to": "2026-01-01"}, "from"),
        (OVERVIEW, {"from": "2026-01-01", "to": "9999-12-31T23:59:59-12:00"}, "to"),
        (OVERVIEW, {"from": "1900-01-01", "to": "2099-12-31", "group_time": "hour"}, "from"),
        (OVERVIEW, {"from": "2026-01-01", "to": "2026-01-02", "timezone": "America"}, "timezone"),
        (
            TABLE,
            {"from": "2026-01-01", "to": "2026-01-02", "group_by": "video_id", "page": "99999999999999999999999"},
            "page",
        ),
        (TABLE, {"from": "2026-01-01", "to": "2026-01-02", "group_by": "video_id", "page": "1000001"}, "page"),
        (TABLE, {"from": "2026-01-01", "to": "2026-01-02", "group_by": "video_id", "per_page": "1001"}, "per_page"),
        ("/v1/analytics/referrers", {"from": "2026-01-01", "to": "2026-01-02", "page": "1" * 30}, "page"),
        ("/v1/videos", {"page": "99999999999999999999999"}, "page"),
    ],
)
def test_out_of_range_parameters_are_named(conn: httpx.Client, path: str, params: dict[str, str], name: str) -> None:
    assert refused(conn, path, params)["name"] == name


def test_a_bucket_flood_is_refused_naming_the_limit(conn: httpx.Client) -> None:
    # 2000-01-01 .. 2026-12-01 in hours is ~236,000 buckets: refused before any is built.
    p = refused(conn, OVERVIEW, {"from": "2000-01-01", "to": "2026-12-01", "group_time": "hour"})
    assert (p["name"], p["reason"]) == ("group_time", "too_many") and str(MAX_BUCKETS) in p["message"]
    p = refused(conn, TABLE, {"from": "2000-01-01", "to": "2026-12-01", "group": "hour"})
    assert (p["name"], p["reason"]) == ("group", "too_many")
    p = refused(conn, TABLE, {"from": "2000-01-01", "to": "2026-12-01", "group_by": "date", "group_time": "hour"})
    assert p["name"] == "group_time"
    # the same period by month is fine, and so is a year by the hour (8,760 buckets)
    ok = conn.get(
        OVERVIEW, params={"from": "2000-01-01", "to": "2026-12-01", "group_time": "month", "parts": "timeline"}
    )
    assert ok.status_code == 200 and len(ok.json()["data"]["timeline"]) == 323
    year = conn.get(
        OVERVIEW, params={"from": "2025-01-01", "to": "2026-01-01", "group_time": "hour", "parts": "timeline"}
    )
    assert year.status_code == 200 and len(year.json()["data"]["timeline"]) == 8760
    # without a timeline, a long period costs nothing per bucket: allowed
    total = conn.get(
        OVERVIEW, params={"from": "2000-01-01", "to": "2026-12-01", "group_time": "hour", "parts": "total"}
    )
    assert total.status_code == 200


def test_the_window_edges_are_allowed(conn: httpx.Client) -> None:
    r = conn.get(OVERVIEW, params={"from": "2000-01-01", "to": "2026-01-07", "group_time": "month", "parts": "total"})
    assert r.status_code == 200 and r.json()["data"]["total"]["player_loads"] == 3
