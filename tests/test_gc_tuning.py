"""The one freeze after warm-up: reference cycles made afterwards are still collected (issue 17)."""

from __future__ import annotations

import asyncio
import gc
import warnings
import weakref
from collections.abc import Iterator

import pytest

from watchdepth.serve import gc_tuning


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture
def unfrozen() -> Iterator[None]:
    with warnings.catch_warnings():  # earlier tests' garbage (unclosed files...) is not this test's
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    yield
    gc.unfreeze()


def test_cycles_made_after_the_freeze_are_collected(unfrozen: None) -> None:
    async def serve_a_while() -> list[weakref.ref[Node]]:
        await asyncio.wait_for(gc_tuning.freeze_after_warm_up(warm_up=0.01), timeout=10)  # frozen, once
        return [_cycle() for _ in range(20)]  # garbage cycles made while the server runs, past warm-up

    warm = _cycle()  # garbage from before warm-up is collected before the freeze, not frozen
    garbage = asyncio.run(serve_a_while())
    assert gc.get_freeze_count() > 0
    gc.collect()
    assert warm() is None
    assert [ref for ref in garbage if ref() is not None] == []
