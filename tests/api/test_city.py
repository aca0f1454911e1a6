"""``city`` from a City .mmdb given with ``--geoip`` (WATCHDEPTH_GEOIP), on both backends (issue 14).

A tiny GeoLite2-City file (tests/collect/mmdb.py): 81.2.69.0/24 is London (GB), 89.160.20.112/28
is Sweden with no city, 216.160.83.56/29 is Milton (US). Loads, each played 0 -> 10 s (a view):
two from London, one from Milton, one from Sweden, one from a private address (no country).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collect.mmdb import write_mmdb
from tests.conftest import DESKTOP_UA, Server, load_events

JAN5 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
DAY = {"from": "2026-01-05", "to": "2026-01-06", "timezone": "UTC"}
LOADS = [("81.2.69.142", 1), ("81.2.69.7", 2), ("216.160.83.58", 3), ("89.160.20.120", 4), ("10.1.2.3", 5)]


def city_file(path: Path) -> Path:
    write_mmdb(path, {
        "81.2.69.0/24": {"city": {"geoname_id": 2643743, "names": {"en": "London", "ru": "Лондон"}},
                         "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}}},
        "89.160.20.112/28": {"country": {"iso_code": "SE"}},
        "216.160.83.56/29": {"city": {"names": {"en": "Milton"}}, "country": {"iso_code": "US"}},
    }, database_type="GeoLite2-City")  # fmt: skip
    return path


def serve(data: Path, backend: str, geoip: Path | None) -> Iterator[Server]:
    env = {"WATCHDEPTH_GEOIP": str(geoip)} if geoip else {}
    s = Server(data, env=env, store=f"chdb://{data / 'chdb'}" if backend == "clickhouse" else None)
    s.start()
    try:
        s.ok("POST", "/v1/projects", json={"id": "p1", "name": "P"})
        s.ok("POST", "/v1/videos", json={"id": "v1", "project_id": "p1", "title": "One", "duration": 100})
        events = []
        for ip, n in LOADS:
            events += load_events(
                {"video_id": "v1"},
                f"S{n}",
                f"L{n}",
                JAN5 + n * 3_600_000,
                [("play", 1, 0), ("progress", 11, 10)],
                ip=ip,
                user_agent=DESKTOP_UA,
            )
        r = s.import_events(events)
        assert r.status_code == 202, r.text
        yield s
    finally:
        s.stop()
        s.client.close()


@pytest.fixture(scope="module", params=["duckdb", "clickhouse"])
def srv(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("city")
    yield from serve(data, request.param, city_file(data / "GeoLite2-City.mmdb"))


def get(s: Server, **params: Any) -> Any:
    r = s.api("GET", "/v1/analytics", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_group_entities_city(srv: Server) -> None:
    body = get(
        srv, **DAY, group_entities="city,country_code", fields="view,player_load,watch_time", order="view.desc,city.asc"
    )
    rows = sorted(body["data"], key=lambda r: (r["city"] or "~", r["country_code"] or "~"))
    assert rows == [
        {"city": "London", "country_code": "GB", "view": 2, "player_load": 2, "watch_time": 20},
        {"city": "Milton", "country_code": "US", "view": 1, "player_load": 1, "watch_time": 10},
        {"city": None, "country_code": "SE", "view": 1, "player_load": 1, "watch_time": 10},
        {"city": None, "country_code": None, "view": 1, "player_load": 1, "watch_time": 10},
    ]


def test_group_by_city_alone_merges_the_unknown(srv: Server) -> None:
    body = get(srv, **DAY, group_by="city", fields="views,player_loads", order="views.desc,city.asc")
    assert body["data"] == [
        {"city": "London", "views": 2, "player_loads": 2},
        {"city": None, "views": 2, "player_loads": 2},
        {"city": "Milton", "views": 1, "player_loads": 1},
    ]


def test_the_shipped_country_file_gives_null_cities(tmp_path: Path) -> None:
    for s in serve(tmp_path, "duckdb", None):
        body = get(s, **DAY, group_entities="city", fields="player_load")
        assert body["data"] == [{"city": None, "player_load": 5}]
