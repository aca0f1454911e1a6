"""The real report source in-process: a DuckDB data dir filled as ``watchdepth import`` does offline.

The rows are the hand-worked ones of ``test_e2e.py``; here the store is asked in chunks
of two items, so a stream and its event land in different chunks, and the token's
project scope and the period are applied by the source itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from tests.api.test_e2e import scenario
from watchdepth import config
from watchdepth.cli import _apply_lines
from watchdepth.export.source import EXPORT_FIELDS, parse_spec
from watchdepth.query import report
from watchdepth.query.report import StoreReportSource
from watchdepth.serve import services as svc

from .test_e2e import CATALOG, EXPECTED, live_events


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreReportSource]:
    services = svc.build(config.load(data_dir=tmp_path_factory.mktemp("report")))
    try:
        for entity, row in CATALOG:
            services.catalog.create(entity, dict(row))
        lines = [msgspec.json.encode(e) for e in scenario() + live_events()]
        assert _apply_lines(services, lines, label="test")["accepted"] == len(lines)
        yield StoreReportSource(services.store, services.catalog)
    finally:
        services.close()


def rows(source: StoreReportSource, **body: Any) -> list[list[object]]:
    spec = parse_spec(body)
    got = list(source.export_rows(spec))
    assert len(got) == source.count_rows(spec)
    return [[r[f] for f in EXPORT_FIELDS] for r in got]


@pytest.mark.parametrize("chunk", [2, 5000])
def test_rows_are_the_hand_worked_ones_in_any_chunking(
    source: StoreReportSource, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "CHUNK", chunk)
    assert rows(source, **{"from": "2026-01-05", "to": "2026-01-07", "folder_ids": ["fa"]}) == EXPECTED


def test_a_project_scope_and_the_period_are_applied(source: StoreReportSource) -> None:
    scoped = msgspec.structs.replace(parse_spec({"from": "2026-01-05", "to": "2026-01-07"}), projects=["p2"])
    got = [
        [r["video_id"] or r["event_id"] or r["stream_id"], r["views"], r["peak_concurrent_viewers"]]
        for r in source.export_rows(scoped)
    ]
    # p2 only: s1 sums its event e1 (E watched 30 s: a view, one session at a time), v3 never watched.
    assert got == [["s1", 1, 1], ["e1", 1, 1], ["v3", 0, None]]
    # The day before the scenario: every row is there, with zeros.
    before = rows(source, **{"from": "2026-01-04", "to": "2026-01-05"})
    assert len(before) == 9  # v1..v5 and s1, e1, s2, e2
    views, peak = EXPORT_FIELDS.index("views"), EXPORT_FIELDS.index("peak_concurrent_viewers")
    assert {r[views] for r in before} == {0} and {r[peak] for r in before} == {0, None}


def test_named_periods_resolve_when_the_report_was_asked_for(source: StoreReportSource) -> None:
    asked = 1_767_657_600.0  # 2026-01-06T00:00:00Z: "yesterday" is 2026-01-05, the scenario's first day
    spec = parse_spec({"period": "yesterday", "folder_ids": ["fb"]}, now=asked)
    p = source.period(spec)
    assert (p.start_ms, p.end_ms) == (1_767_571_200_000, 1_767_657_600_000)
    got = {r["video_id"] or r["event_id"]: r["views"] for r in source.export_rows(spec)}
    assert got == {"e2": 1, "v2": 0, "v4": 0}  # D watched v2 on day 2; H watched e2 on day 1
