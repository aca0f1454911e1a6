"""Every /v1 route × every way a caller may be refused, generated from the app's route table.

For each route and method of the app ``serve`` runs: no token (401 100101), an unknown
token (401 100102), a revoked token (401 100102), a read-only token on a write (403
100103), and a token of project p2 asking for project p1's entity (403 100103, or what
the route documents: 404 for another project's export job, a filtered list for lists).
A route added without an entry in ``CASES`` fails ``test_every_v1_route_has_a_case``, so
nobody has to remember to cover it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from starlette.routing import Route

from tests.api.inproc import running
from watchdepth import config
from watchdepth.export.source import ExportSpec
from watchdepth.serve import services
from watchdepth.serve.app import create_app, feature_routes
from watchdepth.serve.services import Services

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
IMPORT_LINE = {
    "type": "load",
    "video_id": "v1",
    "session_id": "s",
    "load_id": "l",
    "seq": 0,
    "ts": 1_767_225_600_000,
    "ip": "203.0.113.1",
    "user_agent": "Mozilla/5.0",
}


@dataclass(frozen=True)
class Case:
    """A request touching project p1's entity, and what a token of p2 gets for it."""

    params: dict[str, str] = field(default_factory=dict)  # path parameters
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    other: int = 403  # 200: a list, filtered to the token's projects (p1 never shows)


PERIOD = {"period": "last_month"}
VIDEO = {"id": "v1"}
CASES: dict[tuple[str, str], Case] = {
    ("POST", "/v1/events/import"): Case(body=IMPORT_LINE),
    ("GET", "/v1/analytics/overview"): Case(query={**PERIOD, "project_id": "p1"}),
    ("GET", "/v1/analytics"): Case(query={**PERIOD, "project_id": "p1", "group_by": "video_id"}),
    ("GET", "/v1/analytics/referrers"): Case(query={**PERIOD, "project_id": "p1"}),
    ("GET", "/v1/analytics/referrers.csv"): Case(query={**PERIOD, "project_id": "p1"}),
    ("GET", "/v1/analytics/referrers.xlsx"): Case(query={**PERIOD, "project_id": "p1"}),
    ("GET", "/v1/analytics/retention"): Case(query={**PERIOD, "video_id": "v1"}),
    ("GET", "/v1/analytics/realtime"): Case(query={"project_id": "p1"}),
    ("GET", "/v1/analytics/realtime/stream"): Case(query={"project_id": "p1"}),
    ("GET", "/v1/analytics/concurrency"): Case(query={**PERIOD, "video_id": "v1", "step": "3600"}),
    ("POST", "/v1/analytics/exports"): Case(
        body={"fields": ["views"], "format": "csv", "folder_ids": ["fa"], **PERIOD}
    ),
    ("GET", "/v1/analytics/exports/{id}"): Case(params={"id": "JOB"}, other=404),
    ("POST", "/v1/analytics/exports/{id}/retry"): Case(params={"id": "JOB"}, other=404),
    ("GET", "/v1/projects"): Case(other=200),
    ("POST", "/v1/projects"): Case(body={"name": "new"}),  # a token of some projects creates none
    ("GET", "/v1/folders"): Case(other=200),
    ("POST", "/v1/folders"): Case(body={"project_id": "p1", "name": "new"}),
    ("GET", "/v1/videos"): Case(other=200),
    ("POST", "/v1/videos"): Case(body={"project_id": "p1", "title": "new"}),
    ("GET", "/v1/streams"): Case(other=200),
    ("POST", "/v1/streams"): Case(body={"project_id": "p1", "title": "new"}),
    ("GET", "/v1/streams/{stream_id}/events"): Case(params={"stream_id": "s1"}),
    ("POST", "/v1/streams/{stream_id}/events"): Case(params={"stream_id": "s1"}, body={"title": "new"}),
}
ENTITIES = {"projects": "p1", "folders": "fa", "videos": "v1", "streams": "s1"}
for _entity, _id in ENTITIES.items():
    for _method, _body in (("GET", None), ("PATCH", {"name": "x"}), ("PUT", {"name": "x"}), ("DELETE", None)):
        _body = _body if _body is None or _entity in ("projects", "folders") else {"title": "x"}
        CASES[(_method, f"/v1/{_entity}/{{id}}")] = Case(params={"id": _id}, body=_body)
for _method, _body in (("GET", None), ("PATCH", {"title": "x"}), ("PUT", {"title": "x"}), ("DELETE", None)):
    CASES[(_method, "/v1/streams/{stream_id}/events/{id}")] = Case(params={"stream_id": "s1", "id": "e1"}, body=_body)
# Kinescope's own paths for folders, under their project
CASES[("GET", "/v1/projects/{project_id}/folders")] = Case(params={"project_id": "p1"})
CASES[("POST", "/v1/projects/{project_id}/folders")] = Case(params={"project_id": "p1"}, body={"name": "new"})
for _method, _body in (("GET", None), ("PATCH", {"name": "x"}), ("PUT", {"name": "x"}), ("DELETE", None)):
    CASES[(_method, "/v1/projects/{project_id}/folders/{id}")] = Case(
        params={"project_id": "p1", "id": "fa"}, body=_body
    )


class World:
    def __init__(self, client: httpx.Client, tokens: dict[str, str], job_id: str) -> None:
        self.client = client
        self.tokens = tokens
        self.job_id = job_id

    def call(self, method: str, path: str, case: Case, token: str | None) -> Any:
        params = {k: (self.job_id if v == "JOB" else v) for k, v in case.params.items()}
        url = path.format(**params)
        headers = {"authorization": f"Bearer {token}"} if token is not None else {}
        if path == "/v1/events/import":
            content = msgspec.json.encode(case.body)
        else:
            content = msgspec.json.encode(case.body) if case.body is not None else None
        return self.client.request(method, url, params=case.query, content=content, headers=headers)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with (
        running(tmp_path_factory.mktemp("matrix"), feature_routes, seed=False, rate_limit_api="off") as srv,
        httpx.Client(base_url=srv.url, timeout=30) as client,
    ):
        yield _seed(srv.services, client)


def _seed(svc: Services, client: httpx.Client) -> World:
    cat = svc.catalog
    cat.create("projects", {"id": "p1", "name": "One"})
    cat.create("projects", {"id": "p2", "name": "Two"})
    cat.create("folders", {"id": "fa", "project_id": "p1", "name": "a"})
    cat.create("videos", {"id": "v1", "project_id": "p1", "title": "V", "duration": 100})
    cat.create("streams", {"id": "s1", "project_id": "p1", "title": "S"})
    cat.create("events", {"id": "e1", "stream_id": "s1", "project_id": "p1", "title": "E"})
    tokens = {
        "all": svc.tokens.create("all")[0],
        "read_only": svc.tokens.create("ro", (), read_only=True)[0],
        "p2": svc.tokens.create("p2", ("p2",))[0],
        "p1": svc.tokens.create("p1", ("p1",))[0],
    }
    revoked, token = svc.tokens.create("gone")
    svc.tokens.revoke(token.id)
    tokens["revoked"] = revoked
    assert svc.exports is not None
    job = svc.exports.submit(
        ExportSpec(fields=["views"], format="csv", folder_ids=["fa"], period="last_month", projects=["p1"])
    )
    return World(client, tokens, job.id)


def v1_routes() -> list[tuple[str, str]]:
    """(method, path) of every /v1 route of the app ``serve`` runs (HEAD aside: it is GET's)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        svc = services.build(config.load(data_dir=Path(d)))
        try:
            app = create_app(svc, extra_routes=feature_routes(svc))
        finally:
            svc.close()
    return sorted(
        (m, r.path)
        for r in app.routes
        if isinstance(r, Route) and r.path.startswith("/v1")
        for m in (r.methods or ())
        if m != "HEAD"
    )


ROUTES = v1_routes()


def test_every_v1_route_has_a_case() -> None:
    missing = [r for r in ROUTES if r not in CASES]
    assert missing == [], f"add these routes to CASES in {__file__}"
    assert len(ROUTES) >= 40  # the table above was read from the real app


def _code(r: Any) -> tuple[int, int | None]:
    try:
        return r.status_code, r.json()["error"]["code"]
    except ValueError:
        return r.status_code, None


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_refusals(world: World, method: str, path: str) -> None:
    case = CASES.get((method, path))
    assert case is not None, f"no entry for {method} {path} in CASES"
    assert _code(world.call(method, path, case, None)) == (401, 100101)
    assert _code(world.call(method, path, case, "wd_not-a-token")) == (401, 100102)
    assert _code(world.call(method, path, case, world.tokens["revoked"])) == (401, 100102)
    if method in WRITES:
        assert _code(world.call(method, path, case, world.tokens["read_only"])) == (403, 100103)
    r = world.call(method, path, case, world.tokens["p2"])
    if case.other == 200:
        assert r.status_code == 200 and _of_p1(r.json()["data"]) == []  # p1's entities are not listed
    else:
        assert _code(r) == (case.other, {403: 100103, 404: 404404}[case.other]), r.text


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] == "GET" and not r[1].endswith("/stream")])
def test_the_same_reads_pass_with_the_right_token(world: World, method: str, path: str) -> None:
    """The control: the refusals above come from the token, not from a bad sample request."""
    case = CASES[(method, path)]
    for who in ("all", "p1", "read_only"):
        r = world.call(method, path, case, world.tokens[who])
        assert r.status_code == 200, (who, r.text)
    if case.other == 200:
        assert _of_p1(world.call(method, path, case, world.tokens["p1"]).json()["data"]) != []


def _of_p1(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if "p1" in (r.get("project_id"), r["id"])]
