"""Kinescope's real clients, replayed: each request they build, each field they read.

Read from their sources (public GitHub):

- ``kinescoper/kinescope-mcp`` v0.1.5, ``src/tools/**``: axios with ``baseURL=<base>/v1`` and a
  query string built by ``URLSearchParams`` (``,`` sent as ``%2C``, arrays as repeated
  ``name[]``). ``analytics/custom.ts`` sends only ``from``, ``to``, ``group``,
  ``group_entities``, ``fields``, ``order`` (no ``per_page``, no ``timezone``) and returns
  ``data``; ``overview.ts`` sends ``from``, ``to``, ``group_time``, ``video_id``;
  ``videos-list.ts``, ``projects-list.ts`` and the folder tools under ``projects/_project_id``.
- ``mesilov/kinescope-php-sdk``, ``src/Services``: ``FoldersService`` (``/v1/projects/{id}/folders``
  with ``page``, ``per_page``, ``parent_id``, and ``Sort``'s ``order=field&direction=dir``),
  ``Videos::list`` (``project_id``, ``folder_id``, ``q``, ``status``), ``Statistics`` (every
  ``done`` video, 100 a page, while ``page < ceil(total / per_page)``), ``Projects``. Its DTOs
  read ``meta.pagination.{total,page,per_page}`` (``MalformedResponseException`` without
  them), ``status`` through ``VideoStatus::from`` (an unknown value throws), ``duration`` as
  ``(int) round((float) …)`` and ``created_at``/``updated_at`` as dates (``now`` when absent).

The workspace is ``kinescope_data``'s (numbers worked there by hand).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.api.kinescope_data import running
from tests.conftest import Server
from watchdepth.store.base import SUMS

PERIOD = [("from", "2026-01-05"), ("to", "2026-01-07")]
VIDEO_STATUSES = {"pending", "uploading", "pre-processing", "processing", "aborted", "done", "error"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(tmp_path_factory.mktemp("clients"))


def mcp_get(s: Server, path: str, pairs: list[tuple[str, str]]) -> Any:
    """``client.get(path + "?" + URLSearchParams)``; axios throws on a non-2xx answer."""
    query = urlencode(pairs)
    r = s.api("GET", f"/v1{path}?{query}" if query else f"/v1{path}")
    assert r.status_code < 300, (path, query, r.status_code, r.text)
    return r.json()


def php_get(s: Server, path: str, query: dict[str, Any]) -> dict[str, Any]:
    """Guzzle with ``http_build_query``: ``null`` values are dropped by ``buildFilterQuery`` first."""
    r = s.api("GET", path, params={k: str(v) for k, v in query.items() if v is not None})
    assert 200 <= r.status_code < 300, (path, query, r.status_code, r.text)
    body: dict[str, Any] = r.json()
    return body


def is_date(value: Any) -> bool:
    return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None


# -- the MCP server's analytics tools -----------------------------------------------------------


def custom(s: Server, **args: str) -> Any:
    """``kinescope_analytics_custom``: the arguments in its schema's order; answers ``result.data``."""
    pairs = [*PERIOD, *((k, args[k]) for k in ("group", "group_entities", "fields", "order") if k in args)]
    body = mcp_get(s, "/analytics", pairs)
    return body.get("data") or body


def test_mcp_custom_month_by_country_with_event_counts(srv: Server) -> None:
    args = {
        "group": "month",
        "group_entities": "country_code",
        "fields": "country_code,view,unique_view,watch_time,play,pause,replay",
        "order": "view.desc",
    }
    if not {"play", "pause", "replay"} <= set(SUMS):
        # Until the store keeps the event counts, the answer says so, naming them (docs/api.md 400400).
        r = srv.api("GET", "/v1/analytics?" + urlencode([*PERIOD, *args.items()]))
        assert r.status_code == 400
        err = r.json()["error"]
        assert err["code"] == 400400 and err["invalid_params"][0]["name"] == "fields"
        assert "play, pause, replay" in err["invalid_params"][0]["message"]
        args["fields"] = "country_code,view,unique_view,watch_time"
    rows = custom(srv, **args)
    assert {r["country_code"] for r in rows} == {"DE", "US"}
    for r in rows:
        assert r["date"] == "2026-01-01T00:00:00Z"
        assert all(isinstance(r[f], int) for f in args["fields"].split(",") if f != "country_code")
    by_country = {r["country_code"]: (r["view"], r["unique_view"], r["watch_time"]) for r in rows}
    assert by_country == {"DE": (1, 1, 10), "US": (1, 1, 6)}


def test_mcp_custom_devices(srv: Server) -> None:
    rows = custom(srv, group_entities="device", fields="device,view,player_load")
    assert sorted((r["device"], r["view"], r["player_load"]) for r in rows) == [("desktop", 1, 2), ("mobile", 1, 1)]
    assert all(set(r) == {"device", "view", "player_load"} for r in rows)


def test_mcp_custom_days_without_an_entity(srv: Server) -> None:
    rows = custom(srv, group="day", fields="view,unique_view,player_load,watch_time")
    assert rows == [
        {"date": "2026-01-05T00:00:00Z", "view": 1, "unique_view": 1, "player_load": 2, "watch_time": 10},
        {"date": "2026-01-06T00:00:00Z", "view": 1, "unique_view": 1, "player_load": 1, "watch_time": 6},
    ]


def test_mcp_custom_two_key_order(srv: Server) -> None:
    fields = "video_id,view,play" if "play" in SUMS else "video_id,view,player_load"
    second = fields.rsplit(",", 1)[1]
    body = mcp_get(
        srv,
        "/analytics",
        [*PERIOD, ("group_entities", "video_id"), ("fields", fields), ("order", f"view.desc,{second}.desc")],
    )
    assert list(body["meta"]["order"]) == ["view", second]
    assert [r["video_id"] for r in body["data"]] == ["v1", "v2"]


def test_mcp_custom_fifteen_days_all_rows(srv: Server) -> None:
    rows = mcp_get(
        srv,
        "/analytics",
        [
            ("from", "2026-01-07T00:00:00Z"),
            ("to", "2026-01-07T12:00:00Z"),
            ("group", "hour"),
            ("fields", "player_load"),
        ],
    )["data"]
    assert len(rows) == 12  # more than one default page of 10


def test_mcp_overview(srv: Server) -> None:
    data = mcp_get(srv, "/analytics/overview", [*PERIOD, ("group_time", "day")])
    data = data.get("data") or data
    total = data["total"]
    assert {k: total[k] for k in ("views", "duration", "watch_time", "player_loads")} == {
        "views": 2,
        "duration": 200,
        "watch_time": 16,
        "player_loads": 3,
    }
    for item in data["timeline"]:
        assert is_date(item["date"])
        assert all(isinstance(item[k], int) for k in ("views", "duration", "watch_time", "player_loads"))
    assert set(data["top"]) >= {"oses", "devices", "browsers", "countries"}
    for kind, items in data["top"].items():
        for item in items:
            assert (
                isinstance(item["name"], str)
                and isinstance(item["views"], int)
                and isinstance(item["player_loads"], int)
            )
            if kind == "countries":
                assert isinstance(item["code"], str)
    assert [d["name"] for d in data["top"]["devices"]][:2] == ["desktop", "mobile"]
    one = mcp_get(srv, "/analytics/overview", [*PERIOD, ("video_id", "v2")])["data"]
    assert (one["total"]["player_loads"], one["total"]["views"]) == (1, 0)


# -- the MCP server's catalog tools -------------------------------------------------------------


def test_mcp_videos_list_filters(srv: Server) -> None:
    def ids(pairs: list[tuple[str, str]]) -> list[str]:
        body = mcp_get(srv, "/videos", pairs)
        assert set(body) == {"meta", "data"}
        return sorted(v["id"] for v in body["data"])

    assert ids([("q", "курс")]) == ["v4"]  # title, case-insensitive (Cyrillic too)
    assert ids([("video_ids[]", "v1"), ("video_ids[]", "v3")]) == ["v1", "v3"]
    assert ids([("status[]", "done")]) == ["v1", "v2", "v3", "v4"]
    assert ids([("status[]", "processing"), ("status[]", "error")]) == []
    assert ids([("without_folder", "true")]) == ["v3", "v4"]
    assert ids([("project_id", "p1"), ("folder_id", "fa")]) == ["v1"]
    body = mcp_get(srv, "/videos", [("page", "1"), ("per_page", "2"), ("order", "title.desc")])
    assert [v["title"] for v in body["data"]] == ["Вводный КУРС", "Two"]
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 2, "total": 4}


def test_mcp_projects_and_folders(srv: Server) -> None:
    projects = mcp_get(srv, "/projects", [("catalog_type", "vod"), ("per_page", "100"), ("page", "1")])
    assert sorted(p["id"] for p in projects["data"]) == ["p1", "p2"]
    made = srv.api(
        "POST", "/v1/projects/p2/folders", json={"name": "lessons"}
    )  # create-folder.ts: body without project_id
    assert made.status_code == 201, made.text
    folder = made.json()["data"]
    assert folder["project_id"] == "p2" and folder["parent_id"] is None
    child = srv.ok("POST", "/v1/projects/p2/folders", json={"name": "week 1", "parent_id": folder["id"]})["data"]
    listed = mcp_get(srv, "/projects/p2/folders", [("order", "name.asc"), ("page", "1"), ("per_page", "10")])
    assert [f["name"] for f in listed["data"]] == ["lessons", "week 1"]
    assert listed["meta"]["order"] == {"name": "asc"}
    got = mcp_get(srv, f"/projects/p2/folders/{child['id']}", [])["data"]
    assert got["parent_id"] == folder["id"]
    renamed = srv.ok("PUT", f"/v1/projects/p2/folders/{child['id']}", json={"name": "week one"})["data"]
    assert renamed["name"] == "week one" and renamed["updated_at"] >= renamed["created_at"]
    assert srv.api("GET", f"/v1/projects/p1/folders/{child['id']}").status_code == 404  # not that project's
    assert srv.api("DELETE", f"/v1/projects/p2/folders/{child['id']}").status_code == 204
    assert srv.api("DELETE", f"/v1/projects/p2/folders/{folder['id']}").status_code == 204
    assert mcp_get(srv, "/projects/p2/folders", [])["data"] == []


def test_kinescope_create_project_body(srv: Server) -> None:
    body = {
        "name": "Project custom",
        "privacy_type": "custom",
        "privacy_domains": ["custom.domain.com"],
        "player_id": "...",
        "encrypted": False,
        "catalog_type": "vod",
    }  # its OpenAPI example
    made = srv.api("POST", "/v1/projects", json=body)
    assert made.status_code == 201, made.text
    project = made.json()["data"]
    assert project["name"] == "Project custom" and is_date(project["updated_at"])
    assert srv.api("DELETE", f"/v1/projects/{project['id']}").status_code == 204
    bad = srv.api("GET", "/v1/projects", params={"catalog_type": "music"})
    assert bad.status_code == 400 and bad.json()["error"]["invalid_params"][0]["name"] == "catalog_type"


def test_an_unknown_list_filter_is_refused(srv: Server) -> None:
    r = srv.api("GET", "/v1/videos", params={"tag_ids[]": "t1"})
    assert r.status_code == 400
    assert r.json()["error"]["invalid_params"][0]["name"] == "tag_ids[]"


# -- the PHP SDK's services ---------------------------------------------------------------------


def php_meta(body: dict[str, Any]) -> tuple[int, int, int]:
    """``MetaDTO::fromArray``: throws without pagination.{total,page,per_page}."""
    p = body["meta"]["pagination"]
    return int(p["total"]), int(p["page"]), int(p["per_page"])


def php_video(v: dict[str, Any]) -> dict[str, Any]:
    """``VideoDTO::fromArray``: the fields it reads, converted as it converts them."""
    assert v.get("status") in VIDEO_STATUSES  # VideoStatus::from(...) throws otherwise; absent means "pending"
    assert is_date(v["created_at"]) and is_date(v["updated_at"])  # absent would be "now"
    return {
        "id": str(v["id"]),
        "title": str(v.get("title") or ""),
        "status": v["status"],
        "duration": math.floor(
            float(v.get("duration") or 0) + 0.5
        ),  # PHP's round: half away from zero "project_id": v.get("project_id"),
        "folder_id": v.get("folder_id"),
    }


def test_php_folders_service(srv: Server) -> None:
    body = php_get(srv, "/v1/projects/p1/folders", {"page": 1, "per_page": 20, "parent_id": None})
    assert php_meta(body) == (2, 1, 20)
    for f in body["data"]:  # FolderDTO::fromArray
        assert isinstance(f["id"], str) and f["project_id"] == "p1" and isinstance(f["name"], str)
        assert is_date(f["created_at"]) and is_date(f["updated_at"])
    children = php_get(srv, "/v1/projects/p1/folders", {"page": 1, "per_page": 20, "parent_id": "fa"})
    assert [f["id"] for f in children["data"]] == ["fb"]
    sorted_ = php_get(srv, "/v1/projects/p1/folders", {"page": 1, "per_page": 20, "order": "name", "direction": "desc"})
    assert [f["name"] for f in sorted_["data"]] == ["b", "a"]
    one = php_get(srv, "/v1/projects/p1/folders/fb", {})["data"]
    assert (one["id"], one["parent_id"]) == ("fb", "fa")
    # getAll: pages of 100 while hasNextPage()
    page, seen = 1, []
    while True:
        got = php_get(srv, "/v1/projects/p1/folders", {"page": page, "per_page": 100})
        seen += got["data"]
        total, current, per = php_meta(got)
        if not current < math.ceil(total / per):
            break
        page += 1
    assert sorted(f["id"] for f in seen) == ["fa", "fb"]


def test_php_videos_and_statistics(srv: Server) -> None:
    body = php_get(
        srv, "/v1/videos", {"page": 1, "per_page": 20, "project_id": "p1", "folder_id": None, "q": None, "status": None}
    )
    assert sorted(php_video(v)["id"] for v in body["data"]) == ["v1", "v2"]
    search = php_get(srv, "/v1/videos", {"page": 1, "per_page": 20, "q": "two"})
    assert [php_video(v)["title"] for v in search["data"]] == ["Two"]
    video = php_video(php_get(srv, "/v1/videos/v2", {})["data"])
    assert (video["status"], video["duration"], video["folder_id"]) == ("done", 11, "fb")
    # Statistics::forProject: every done video, 100 a page; videosCount is meta total.
    page, seconds, count = 1, 0, None
    while True:
        got = php_get(srv, "/v1/videos", {"page": page, "per_page": 100, "project_id": "p1", "status": "done"})
        total, current, per = php_meta(got)
        count = total if page == 1 else count
        seconds += sum(php_video(v)["duration"] for v in got["data"])
        if not current < math.ceil(total / per):
            break
        page += 1
    assert (count, seconds) == (2, 111)


def test_php_projects(srv: Server) -> None:
    body = php_get(srv, "/v1/projects", {"page": 1, "per_page": 20, "order": "name", "direction": "asc"})
    assert php_meta(body)[0] >= 2
    names = [p["name"] for p in body["data"]]
    assert names == sorted(names)
    for p in body["data"]:  # ProjectDTO::fromArray
        assert isinstance(p["id"], str) and is_date(p["created_at"]) and is_date(p["updated_at"])
    assert php_get(srv, "/v1/projects/p1", {})["data"]["name"] == "Project one"
