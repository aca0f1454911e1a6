"""Pure parts of ``watchdepth.cluster.roles``: which routes a role serves, which stores it accepts,
and the three-way merge that refreshes the catalog without losing a concurrent local change."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Route

from watchdepth.catalog.merge import merge_in_place
from watchdepth.cluster import roles as cluster
from watchdepth.config import Settings
from watchdepth.errors import WatchdepthError


async def _noop(request: Any) -> Any:  # pragma: no cover - never called
    return None


PATHS = ["/collect", "/v1/events/import", "/healthz", "/metrics", "/v1/analytics", "/v1/videos", "/tracker.js", "/"]


def _paths(role: str) -> list[str]:
    return [r.path for r in cluster.routes_for(role, [Route(p, _noop) for p in PATHS])]  # type: ignore[attr-defined]


def test_routes_of_each_role() -> None:
    assert _paths("all") == PATHS
    assert _paths("collector") == ["/collect", "/v1/events/import", "/healthz", "/metrics", "/internal/watching-now"]
    assert _paths("api") == ["/healthz", "/metrics", "/v1/analytics", "/v1/videos", "/tracker.js", "/"]


def test_roles_other_than_all_need_a_shared_store() -> None:
    cluster.check(Settings())
    cluster.check(Settings(role="api", store="clickhouse://u:p@h:8123/db"))
    with pytest.raises(WatchdepthError, match="--role collector needs a store shared"):
        cluster.check(Settings(role="collector"))
    with pytest.raises(WatchdepthError, match="unknown role"):
        cluster.check(Settings(role="both", store="clickhouse://h/db"))


def test_refresh_merge_keeps_changes_made_during_the_read() -> None:
    a, b, c, x = object(), object(), object(), object()
    live = {"a": a, "b": b, "gone": c}
    before = dict(live)
    # while the store was read: "x" created here, "gone" deleted here, "b" replaced here
    live["x"] = x
    del live["gone"]
    b2 = live["b"] = object()
    new = {"a": object(), "b": object(), "gone": c, "other": object()}  # what the store said
    merge_in_place(live, before, new)
    assert set(live) == {"a", "b", "x", "other"}
    assert live["a"] is new["a"] and live["other"] is new["other"]  # others' changes arrive
    assert live["b"] is b2 and live["x"] is x  # ours are kept until the next round
    # a key deleted elsewhere, untouched here, goes
    live2 = {"k": a}
    merge_in_place(live2, dict(live2), {})
    assert live2 == {}
