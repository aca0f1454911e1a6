"""Wiring: the tracker, dashboard and export routes are always there, and a broken import says so."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from watchdepth import config
from watchdepth.serve import services
from watchdepth.serve.app import feature_routes


def test_feature_routes_are_all_wired(tmp_path: Path) -> None:
    svc = services.build(config.load(data_dir=tmp_path))
    try:
        paths = {getattr(r, "path", "") for r in feature_routes(svc)}
    finally:
        svc.close()
    assert {"/tracker.js", "/", "/login", "/v1/analytics/exports"} <= paths


def test_a_broken_import_stops_the_wiring_instead_of_dropping_routes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "watchdepth.tracker.routes", None)  # as if its import failed
    svc = services.build(config.load(data_dir=tmp_path))
    try:
        with pytest.raises(ImportError):
            feature_routes(svc)
    finally:
        svc.close()
