"""``/openapi.json`` and ``/docs`` against the route table of the app ``serve`` runs.

The app is built in process as ``serve`` builds it (the public routes and the tracker,
dashboard and export routes), on a real DuckDB data dir. Routes are walked here on their
own (not with ``api.openapi``'s walk), so a route the generator skips fails the test.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from watchdepth import cli, config
from watchdepth.api import openapi
from watchdepth.serve import services
from watchdepth.serve.app import create_app


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    svc = services.build(config.load(data_dir=tmp_path_factory.mktemp("data")))
    try:
        yield create_app(svc, extra_routes=cli._extra_routes(svc))
    finally:
        svc.close()


def get(app: Starlette, path: str) -> httpx.Response:
    """One GET through the app itself (no lifespan: these routes need no ingest loop)."""

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wd") as client:
            return await client.get(path)

    return asyncio.run(main())


@pytest.fixture(scope="module")
def document(served: Starlette) -> dict[str, Any]:
    response = get(served, "/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """(METHOD, path as OpenAPI writes it, endpoint) of every route; HEAD is GET's."""
    for route in routes:
        if isinstance(route, Mount):
            yield from walk(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            path = re.sub(r":\w+}", "}", prefix + route.path)
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    yield method, path, route.endpoint


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}


def test_every_route_and_method_is_in_openapi_json(served: Starlette, document: dict[str, Any]) -> None:
    routes = {(m, p) for m, p, _ in walk(served.routes)}
    assert ("PUT", "/v1/videos/{id}") in routes  # the walk sees what the old hand-written document missed
    assert routes - documented(document) == set()


def test_every_documented_path_and_method_is_served(served: Starlette, document: dict[str, Any]) -> None:
    routes = {(m, p) for m, p, _ in walk(served.routes)}
    assert documented(document) - routes == set()


def test_every_entry_of_the_operations_table_is_a_route(served: Starlette) -> None:
    """A route renamed or removed leaves no stale parameters behind."""
    routes = {f"{m} {p}" for m, p, _ in walk(served.routes)}
    assert set(openapi.OPERATIONS) - routes == set()


def test_every_handler_has_a_summary(served: Starlette) -> None:
    missing = sorted(
        f"{m} {p} ({getattr(f, '__qualname__', f)})"
        for m, p, f in walk(served.routes)
        if not (inspect.getdoc(f) or "").strip()
    )
    assert missing == [], "handlers without a docstring (its first paragraph is the summary in /openapi.json)"


def test_operations_carry_their_parameters(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for path, ops in paths.items():
        for method, op in ops.items():
            assert op["summary"] and op["summary"] != f"{method.upper()} {path}", (method, path)
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
            assert ("security" in op) == path.startswith("/v1/"), (method, path)
    assert {p["name"] for p in paths["/v1/analytics"]["get"]["parameters"]} >= {
        "from",
        "to",
        "group_by",
        "fields",
        "order",
    }
    assert "requestBody" in paths["/v1/folders/{id}"]["put"]
    assert "204" in paths["/v1/videos/{id}"]["delete"]["responses"]
    codes = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert set(codes) == set(openapi.error_codes())


def test_the_quality_fields_are_documented(document: dict[str, Any]) -> None:
    """docs/metrics.md §7: asked by name in /v1/analytics, always in the overview, offered by the export."""
    from watchdepth.query.metrics import QUALITY_FIELDS

    paths = document["paths"]
    fields = next(p for p in paths["/v1/analytics"]["get"]["parameters"] if p["name"] == "fields")
    overview = paths["/v1/analytics/overview"]["get"]["description"]
    export = paths["/v1/analytics/exports"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    for name in QUALITY_FIELDS:
        assert name in fields["description"] and name in overview and name in export["description"], name


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)  # the OpenAPI 3.1 schema and its rules: refs resolve, path parameters declared, ...


def test_refs_resolve(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(document))
    assert refs and set(refs) <= set(schemas)


def test_docs_page_lists_every_route(served: Starlette, document: dict[str, Any]) -> None:
    page = get(served, "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for method, path in documented(document):
        assert f"<code>{method}</code></td><td><code>{path}</code>" in page.text


def test_a_route_without_metadata_still_appears() -> None:
    async def hello(request: Any) -> Any:
        """Say hello."""

    doc = openapi.spec([Route("/v1/hello/{name:path}", hello, methods=["GET", "HEAD", "POST"])])
    assert set(doc["paths"]["/v1/hello/{name}"]) == {"get", "post"}
    assert doc["paths"]["/v1/hello/{name}"]["get"]["summary"] == "Say hello."
    assert doc["paths"]["/v1/hello/{name}"]["get"]["parameters"][0]["name"] == "name"
