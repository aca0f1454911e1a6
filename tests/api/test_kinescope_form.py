"""Kinescope's custom form of /v1/analytics, the overview's shapes and exclusive ``to`` (docs/api.md).

One real server per backend (DuckDB, and ClickHouse through chDB) for the module, holding ``kinescope_data``'s log (its
docstring works the numbers by hand).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.kinescope_data import TWO_DAYS, running
from tests.conftest import Server
from watchdepth.store.base import SUMS


@pytest.fixture(scope="module", params=["duckdb", "clickhouse"])
def srv(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Server]:
    """Both backends answer every question of this module the same way."""
    yield from running(tmp_path_factory.mktemp("kinescope"), request.param)


def get(s: Server, path: str, **params: Any) -> Any:
    r = s.api("GET", path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def error(s: Server, path: str, **params: Any) -> dict[str, Any]:
    r = s.api("GET", path, params=params)
    assert r.status_code == 400, r.text
    err: dict[str, Any] = r.json()["error"]
    assert err["code"] == 400400, err
    return err


# -- the custom form ---------------------------------------------------------------------------


def test_singular_fields_name_the_rows_and_the_order(srv: Server) -> None:
    body = get(
        srv,
        "/v1/analytics",
        **TWO_DAYS,
        group_entities="country_code",
        fields="country_code,view,unique_view,player_load,watch_time",
        order="view.desc,player_load.desc",
    )
    assert body["data"] == [
        {"country_code": "US", "view": 1, "unique_view": 1, "player_load": 2, "watch_time": 6},
        {"country_code": "DE", "view": 1, "unique_view": 1, "player_load": 1, "watch_time": 10},
    ]
    assert list(body["meta"]["order"].items()) == [("view", "desc"), ("player_load", "desc")]
    flipped = get(
        srv,
        "/v1/analytics",
        **TWO_DAYS,
        group_entities="country_code",
        fields="view,player_load",
        order="view.desc,player_load.asc",
    )
    assert [r["country_code"] for r in flipped["data"]] == ["DE", "US"]


def test_group_alone_groups_by_date(srv: Server) -> None:
    body = get(srv, "/v1/analytics", **TWO_DAYS, group="day", fields="view,player_load")
    assert body["data"] == [
        {"date": "2026-01-05T00:00:00Z", "view": 1, "player_load": 2},
        {"date": "2026-01-06T00:00:00Z", "view": 1, "player_load": 1},
    ]


def test_group_adds_date_to_the_entities(srv: Server) -> None:
    body = get(
        srv, "/v1/analytics", **TWO_DAYS, group="day", group_entities="device", fields="device,view", order="view.desc"
    )
    rows = sorted((r["date"], r["device"], r["view"]) for r in body["data"])
    assert rows == [("2026-01-05T00:00:00Z", "desktop", 1), ("2026-01-06T00:00:00Z", "mobile", 1)]


def test_device_names_are_kinescopes(srv: Server) -> None:
    body = get(
        srv,
        "/v1/analytics",
        **TWO_DAYS,
        group_entities="device",
        fields="device,view,player_load",
        order="player_load.desc",
    )
    assert body["data"] == [
        {"device": "desktop", "view": 1, "player_load": 2},
        {"device": "mobile", "view": 1, "player_load": 1},
    ]


def test_catalog_names_workspace_and_city(srv: Server) -> None:
    body = get(
        srv, "/v1/analytics", **TWO_DAYS, group_entities="project_name,workspace_id,city", fields="view,player_load"
    )
    assert body["data"] == [
        {"project_name": "Project one", "workspace_id": "default", "city": None, "view": 2, "player_load": 3}
    ]
    folders = get(
        srv, "/v1/analytics", **TWO_DAYS, group_entities="folder_name", fields="player_load", order="folder_name.asc"
    )
    assert folders["data"] == [{"folder_name": "a", "player_load": 2}, {"folder_name": "a/b", "player_load": 1}]


def test_all_rows_without_per_page_in_the_custom_form_only(srv: Server) -> None:
    day = {"from": "2026-01-07", "to": "2026-01-08", "timezone": "UTC"}
    custom = get(srv, "/v1/analytics", **day, group="hour", fields="player_load")
    assert [r["player_load"] for r in custom["data"]] == [1] * 12
    assert custom["data"][0]["date"] == "2026-01-07T00:00:00Z"
    assert custom["meta"]["pagination"]["total"] == 12
    plural = get(srv, "/v1/analytics", **day, group_by="date", group_time="hour", fields="player_loads")
    assert len(plural["data"]) == 10 and plural["meta"]["pagination"]["total"] == 12
    paged = get(srv, "/v1/analytics", **day, group="hour", fields="player_load", per_page=5, page=3)
    assert len(paged["data"]) == 2


def test_a_dimension_in_fields_is_a_no_op_and_default_fields(srv: Server) -> None:
    body = get(srv, "/v1/analytics", **TWO_DAYS, group_entities="video_id", fields="video_id", order="video_id.asc")
    assert [(r["video_id"], r["view"], r["unique_view"], r["player_load"], r["watch_time"]) for r in body["data"]] == [
        ("v1", 2, 2, 2, 16),
        ("v2", 0, 0, 1, 0),
    ]


def test_the_forms_mix(srv: Server) -> None:
    body = get(srv, "/v1/analytics", **TWO_DAYS, group_by="video_id", fields="views,player_load", order="views.desc")
    assert [(r["video_id"], r["views"], r["player_load"]) for r in body["data"]] == [("v1", 2, 2), ("v2", 0, 1)]


def test_event_counts_and_quality_fields(srv: Server) -> None:
    if "play" in SUMS:  # the store keeps the event counts (docs/metrics.md §4)
        body = get(
            srv,
            "/v1/analytics",
            **TWO_DAYS,
            group_entities="video_id",
            fields="play,player_init,replay",
            order="play.desc",
        )
        assert [(r["video_id"], r["play"], r["player_init"], r["replay"]) for r in body["data"]] == [
            ("v1", 2, 2, 0),
            ("v2", 0, 1, 0),
        ]
    else:
        err = error(srv, "/v1/analytics", **TWO_DAYS, group_entities="video_id", fields="view,play,replay")
        assert err["invalid_params"][0]["name"] == "fields"
        assert err["invalid_params"][0]["reason"] == "not_available"
        assert "play, replay" in err["invalid_params"][0]["message"]
    # Kinescope's quality names (docs/metrics.md §7): answered; this data has no stall
    body = get(srv, "/v1/analytics", **TWO_DAYS, group="day", fields="view,buffering_time,buffering_count")
    assert [(r["buffering_time"], r["buffering_count"]) for r in body["data"]] == [(0.0, 0), (0.0, 0)]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"group": "minute"}, "group"),
        ({"group": "day", "group_time": "hour"}, "group"),
        ({"group_entities": "device,colour"}, "group_entities"),
        ({"group_entities": "device", "fields": "view,views_total"}, "fields"),
    ],
)
def test_bad_custom_parameters_are_named(srv: Server, params: dict[str, str], name: str) -> None:
    err = error(srv, "/v1/analytics", **TWO_DAYS, **params)
    assert [p["name"] for p in err["invalid_params"]] == [name]


def test_order_on_a_field_not_in_the_answer_is_400216(srv: Server) -> None:
    r = srv.api("GET", "/v1/analytics", params={**TWO_DAYS, "group": "day", "fields": "view", "order": "play.desc"})
    assert r.status_code == 400 and r.json()["error"]["code"] == 400216


# -- the two forms agree -----------------------------------------------------------------------

PAIRS = [
    ("view", "views"),
    ("unique_view", "unique_views"),
    ("player_load", "player_loads"),
    ("watch_time", "watch_time"),
]
ENTITIES = [
    ("video_id", "video_id"),
    ("project_id", "project_id"),
    ("folder_id", "folder_id"),
    ("country_code", "country"),
    ("device", "platform"),
]


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    entities=st.lists(st.sampled_from(ENTITIES), min_size=0, max_size=2, unique=True),
    fields=st.lists(st.sampled_from(PAIRS), min_size=1, max_size=4, unique=True),
    size=st.sampled_from([None, "hour", "day", "week"]),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata"]),
    days=st.integers(1, 4),
)
def test_both_forms_give_the_same_numbers(
    srv: Server, entities: list[tuple[str, str]], fields: list[tuple[str, str]], size: str | None, tz: str, days: int
) -> None:
    if not entities and size is None:
        size = "day"
    period = {"from": "2026-01-04", "to": f"2026-01-{4 + days:02d}", "timezone": tz}
    custom: dict[str, Any] = {**period, "fields": ",".join(f for f, _ in fields)}
    plural: dict[str, Any] = {**period, "fields": ",".join(f for _, f in fields), "per_page": 1000}
    if entities:
        custom["group_entities"] = ",".join(e for e, _ in entities)
    plural["group_by"] = ",".join([p for _, p in entities] + (["date"] if size else []))
    if size:
        custom["group"] = size
        plural["group_time"] = size
    a = get(srv, "/v1/analytics", **custom)["data"]
    b = get(srv, "/v1/analytics", **plural)["data"]

    def key(row: dict[str, Any], names: list[str]) -> tuple[Any, ...]:
        return tuple(str(row.get(n)) for n in names)

    ka = [e for e, _ in entities] + (["date"] if size else [])
    kb = [p for _, p in entities] + (["date"] if size else [])
    renamed = {"smartphone": "mobile"}
    left = sorted((key(r, ka), tuple(r[f] for f, _ in fields)) for r in a)
    right = sorted((tuple(renamed.get(v, v) for v in key(r, kb)), tuple(r[f] for _, f in fields)) for r in b)
    assert left == right


# -- the overview's shapes ---------------------------------------------------------------------


def test_overview_devices_and_timeline_duration(srv: Server) -> None:
    data = get(srv, "/v1/analytics/overview", **TWO_DAYS)["data"]
    devices = {d["name"]: (d["views"], d["player_loads"]) for d in data["top"]["devices"]}
    assert devices == {"desktop": (1, 2), "mobile": (1, 1), "tablet": (0, 0), "tv": (0, 0)}
    # duration: Σ views × content duration (v1: 100 s) in each bucket
    assert [(t["date"], t["duration"], t["views"]) for t in data["timeline"]] == [
        ("2026-01-05T00:00:00Z", 100, 1),
        ("2026-01-06T00:00:00Z", 100, 1),
    ]
    assert data["total"]["duration"] == 200


# -- exclusive ``to`` ----------------------------------------------------------------------------


def test_a_bare_date_to_is_exclusive_on_a_day_boundary_in_berlin(srv: Server) -> None:
    def loads(**period: str) -> int:
        body = get(srv, "/v1/analytics/overview", **period, parts="total")
        return int(body["data"]["total"]["player_loads"])

    # Berlin's 2026-01-05 is [2026-01-04T23:00Z, 2026-01-05T23:00Z): A only; C (23:30Z) is Berlin's 6th.
    assert loads(**{"from": "2026-01-05", "to": "2026-01-06", "timezone": "Europe/Berlin"}) == 1
    assert loads(**{"from": "2026-01-05", "to": "2026-01-06", "timezone": "UTC"}) == 2
    assert loads(**{"from": "2026-01-05", "to": "2026-01-07", "timezone": "Europe/Berlin"}) == 3
    body = get(srv, "/v1/analytics/overview", **{"from": "2026-01-05", "to": "2026-01-07", "timezone": "Europe/Berlin"})
    assert body["meta"]["time"] == {
        "from": "2026-01-04T23:00:00Z",
        "to": "2026-01-06T23:00:00Z",
        "timezone": "Europe/Berlin",
    }
    assert len(body["data"]["timeline"]) == 2
    err = error(srv, "/v1/analytics/overview", **{"from": "2026-01-05", "to": "2026-01-05"})
    assert err["invalid_params"][0]["name"] == "to"


def test_no_group_at_all_is_one_row_of_totals(srv: Server) -> None:
    body = get(srv, "/v1/analytics", **TWO_DAYS, fields="view,player_load")
    assert body["data"] == [{"view": 2, "player_load": 3}]
    empty = get(srv, "/v1/analytics", **{"from": "2025-01-01", "to": "2025-01-02"}, fields="view,player_load")
    assert empty["data"] == [{"view": 0, "player_load": 0}], empty["data"]
