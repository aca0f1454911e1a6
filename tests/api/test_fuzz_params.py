"""Property-based fuzz of the query parameters of every /v1 analytics and catalog GET route.

One real ``serve`` (``kinescope_data``'s workspace) and one keep-alive connection. Each
example picks a route from the route tables (path parameters filled with known and unknown
ids) and up to six parameters, named from every parameter those routes read plus junk,
valued at the edges (dates at and past the window, 23-digit pages, bucket floods, odd zones,
Kinescope's singular names, control characters, long strings). Every answer must be below
500 and come over the same connection (``fuzz_helpers.OneConnection``); afterwards the store still answers. Derandomized,
with a fixed budget (~10 s here). ``realtime/stream`` is left out: it is an endless SSE
stream, and reads its scope with the same parser as ``realtime``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.kinescope_data import running
from tests.conftest import Server
from tests.fuzz_helpers import OneConnection
from watchdepth.api import analytics, catalog, live

pytestmark = pytest.mark.slow

_SKIP = {"/v1/analytics/realtime/stream"}
ROUTES = sorted(
    {
        r.path
        for r in [*analytics.routes(), *live.routes(), *catalog.routes()]
        if "GET" in (r.methods or ()) and r.path.startswith("/v1/") and r.path not in _SKIP
    }
    | {"/v1/analytics/referrers.csv", "/v1/analytics/referrers.xlsx"}
)
PATH_VALUES = {
    "id": ["v1", "p1", "fa", "e1", "s1", "nope", "x" * 300],
    "project_id": ["p1", "p2", "nope"],
    "stream_id": ["s1", "nope"],
}
DATES = [
    "2026-01-05",
    "2026-01-07",
    "2000-01-01",
    "1999-12-31",
    "0001-01-01",
    "9999-12-31",
    "1900-01-01",
    "2099-12-31",
    "2026-02-30",
    "2026-01-05T00:00:00Z",
    "2026-01-05T00:00:00+14:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "2026-01-05T00:00:00",
    "20260105",
]
NUMBERS = ["99999999999999999999999", "-1", "0", "1", "10", "1000", "1001", "1e3", "1_000", "٣", " 2", "1" * 5000]
IDS = ["p1", "p2", "v1", "v4", "s1", "e1", "fa", "fb", "nope", "v1,v2", "p1,nope"]
#: Every parameter the routes read, with values at its edges.
PARAMS: dict[str, list[str]] = {
    "from": DATES,
    "to": DATES,
    "period": ["all_time", "last_year", "today", "last_24_hours", "yesterday", "decade"],
    "timezone": ["Europe/Berlin", "Asia/Kolkata", "Etc/GMT+14", "UTC", "America", "../../etc/passwd", "Europe/Nowhere"],
    "group_time": ["hour", "day", "week", "month", "year"],
    "group": ["hour", "day", "week", "month", "minute"],
    "group_by": ["date", "video_id,date", "country,platform,os,browser,domain,page,external_id", "device", "date,date"],
    "group_entities": ["device,country_code,city,workspace_id,folder_name,project_name", "watch_time", "video_id"],
    "fields": ["view,unique_view,player_load,watch_time", "play,pause", "buffering_time", "views,view", "video_id"],
    "order": ["views.desc", "view.desc,play.desc", "date.asc", ".desc", "views.up", "title.desc", "name.asc"],
    "page": NUMBERS,
    "per_page": NUMBERS,
    "step": NUMBERS,
    "project_id": IDS,
    "video_id": IDS,
    "folder_id": IDS,
    "stream_id": IDS,
    "event_id": IDS,
    "external_id": IDS,
    "parent_id": IDS,
    "video_ids[]": IDS,
    "parts": ["total,timeline", "top", "", "tops"],
    "q": ["курс", "%", ""],
    "status[]": ["done", "error", "bogus"],
    "status": ["done", "bogus"],
    "without_folder": ["true", "no"],
    "catalog_type": ["vod", "live", "music"],
    "direction": ["asc", "desc", "up"],
}
JUNK = ["", " ", "\x00", "\t", "%", "ä" * 300, "x" * 5000]
names = st.one_of(st.sampled_from(sorted(PARAMS)), st.text(max_size=12))


@st.composite
def pairs_of(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(names)
    value = draw(
        st.one_of(
            st.sampled_from(PARAMS.get(name) or JUNK),
            st.sampled_from(JUNK),
            st.text(max_size=30),
            st.integers(-(10**30), 10**30).map(str),
        )
    )
    return name, value


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    route = draw(st.sampled_from(ROUTES))
    path = re.sub(r"\{(\w+)\}", lambda m: draw(st.sampled_from(PATH_VALUES[m.group(1)])), route)
    pairs = draw(st.lists(pairs_of(), max_size=6))
    if draw(st.booleans()):  # often a valid period, so the other parameters are reached
        pairs = [("from", "2026-01-04"), ("to", "2026-01-08"), *pairs]
    return path, pairs


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(tmp_path_factory.mktemp("fuzz-params"))


@pytest.fixture(scope="module")
def conn(srv: Server) -> Iterator[OneConnection]:
    c = OneConnection(srv.url, {"Authorization": f"Bearer {srv.token}"})
    yield c
    c.close()


@settings(max_examples=400, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(request=requests())
def test_no_parameter_gets_a_5xx_or_drops_the_connection(conn: OneConnection, request: tuple[str, list[Any]]) -> None:
    path, pairs = request
    r = conn.send("GET", path, params=pairs)
    assert r.status_code < 500, (path, pairs, r.status_code, r.text[:500])
    if r.status_code >= 400:
        assert r.json()["error"]["code"] in (400400, 400216, 404404, 100103), r.text[:500]


def test_the_store_still_answers_after_the_fuzz(srv: Server, conn: OneConnection) -> None:
    r = conn.send(
        "GET", "/v1/analytics/overview", params=[("from", "2026-01-05"), ("to", "2026-01-07"), ("parts", "total")]
    )
    assert r.status_code == 200
    assert r.json()["data"]["total"]["player_loads"] == 3
