"""Idempotency by ``id`` across the workspace and across restarts (docs/metrics.md §2), both backends:
an event whose ``id`` was already stored is acknowledged and not counted again, whichever
session it comes in and whether or not the collector still holds that id in memory."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sessionize.helpers import T0, Player
from watchdepth.serve.ingest import Ingest
from watchdepth.store.base import Aggregate


def loads(store: Any) -> int:
    return int(store.aggregate(Aggregate(start_ms=T0, end_ms=T0 + 86_400_000)).rows[0][0])


@pytest.mark.parametrize("bound", [1_000_000, 0], ids=["all-held", "looked-up"])
def test_an_id_stored_before_a_restart_is_a_duplicate_in_any_session(
    store: Any, bound: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # all-held: the stored ids are read once and held; looked-up: too many to hold, each batch asks the log
    from watchdepth.serve import ingest
    from watchdepth.sessionize import sessionizer

    monkeypatch.setattr(ingest, "RECENT_IDS", bound)
    monkeypatch.setattr(sessionizer, "RECENT_IDS", bound)
    first = Ingest(store)
    got = first.run_sync([Player("S1", "L1").load(id="import-1"), Player("S1", "L1").load(seq=1, id="L1:1")])
    assert (got.accepted, got.duplicates) == (2, 0)
    # a restart: a new collector holds nothing; the same id comes in another session
    second = Ingest(store)
    again = second.run_sync([Player("S2", "L2").load(id="import-1"), Player("S2", "L2").load(seq=1, id="import-2")])
    assert (again.accepted, again.duplicates) == (1, 1)
    assert loads(store) == 2  # L1 and L2, once each
    assert second.sessionizer.ids_complete is (bound > 0)
    assert (second.run_sync([Player("S3", "L3").load(id="import-2")]).duplicates) == 1
    assert (second.run_sync([Player("S3", "L3").load(id="import-1")]).duplicates) == 1
    assert store.ids_stored(["import-1", "import-2", "import-3"]) == {"import-1", "import-2"}
