"""Store fixtures: the same tests on the embedded DuckDB file and on ClickHouse (chDB in process).

``store`` is parametrised over both backends. ClickHouse runs through clickhouse-connect's
chDB interface on one directory per test run (chDB hosts one engine per process); each
test gets a fresh, migrated database in it, and a keeper client holds the engine open so
that it starts once (~1 s) rather than per test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_ids = itertools.count()


@pytest.fixture(scope="session")
def chdb_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    pytest.importorskip("chdb")
    from watchdepth.store.clickhouse.connection import Target, connect

    path = tmp_path_factory.mktemp("chdb")
    keeper = connect(Target("chdb", "default", path=str(path)), None)
    yield path
    keeper.close()


def open_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    if backend == "duckdb":
        from watchdepth.store.duckdb import DuckDBStore

        return DuckDBStore(tmp_path / "store.duckdb")
    from watchdepth.store.clickhouse import ClickHouseStore, Target

    path = request.getfixturevalue("chdb_engine")
    return ClickHouseStore(Target("chdb", f"t{next(_ids)}", path=str(path)))


@pytest.fixture(params=["duckdb", pytest.param("clickhouse", marks=pytest.mark.clickhouse)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    s = open_store(request.param, tmp_path, request)
    yield s
    s.close()
