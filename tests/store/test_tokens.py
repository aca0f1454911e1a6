"""Tokens on both backends: listed without their secret, revoked for this process and any other."""

from __future__ import annotations

from typing import Any

import pytest

from watchdepth.catalog.tokens import Tokens
from watchdepth.errors import NotFound


def test_list_and_revoke_survive_a_reopen(store: Any) -> None:
    tokens = Tokens(store)
    first, a = tokens.create("first", ["p1", "p2"], read_only=True)
    second, b = tokens.create("second")
    listed = tokens.list_all()
    assert [(t["id"], t["name"], t["projects"], t["read_only"]) for t in listed] == [
        (a.id, "first", ["p1", "p2"], True),
        (b.id, "second", [], False),
    ]
    assert all(str(t["created_at"]).endswith("Z") for t in listed)
    assert first not in repr(listed) and second not in repr(listed)

    assert tokens.revoke(a.id).name == "first"
    assert tokens.check(first) is None and tokens.check(second) is not None
    assert not tokens.active(a.id) and tokens.active(b.id)
    with pytest.raises(NotFound):
        tokens.revoke(a.id)
    reopened = Tokens(store)  # a restart, or another node reading the shared store
    assert reopened.check(first) is None and reopened.check(second) is not None
    assert [t["name"] for t in reopened.list_all()] == ["second"]
