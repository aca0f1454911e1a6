"""The running service's parts, built once from ``Settings`` and shared by every route.

Input: settings. Output: a ``Services`` holding the store, catalog, tokens, collector
and ingest loop. It opens the store; it does not serve HTTP (``app`` does).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchdepth.catalog.service import Catalog
from watchdepth.catalog.tokens import Tokens
from watchdepth.collect.device import DeviceParser
from watchdepth.collect.geo import GeoLookup
from watchdepth.collect.pipeline import Collector
from watchdepth.config import Settings
from watchdepth.serve.ingest import Ingest
from watchdepth.store.base import Store

log = logging.getLogger("watchdepth")


@dataclass
class Services:
    settings: Settings
    store: Store
    catalog: Catalog
    tokens: Tokens
    collector: Collector
    ingest: Ingest
    #: The report export worker (``export.jobs.ExportWorker``) once ``app.feature_routes`` wired it.
    exports: Any = None

    def close(self) -> None:
        self.store.close()


def open_store(settings: Settings) -> Store:
    owner_only(settings.data_dir)
    if settings.store.startswith(("clickhouse", "chdb")):
        from watchdepth.store.clickhouse import ClickHouseStore  # optional dependency

        return ClickHouseStore.from_dsn(settings.store, writer_file=settings.data_dir / "clickhouse-writer")
    from watchdepth.store.duckdb import DuckDBStore

    return DuckDBStore(
        settings.db_path, disk_reserve_bytes=settings.disk_reserve_mb << 20, memory_limit=settings.duckdb_memory_limit
    )


def owner_only(data_dir: Path) -> None:
    """The data dir 0700, and every file this process makes from now on 0600 (umask 077): the
    database, its WAL (which DuckDB makes anew after each checkpoint, so a chmod would not
    last), the journal, export files. They hold e-mails (``external_id``) and token hashes."""
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(data_dir, 0o700)
    except PermissionError:  # another user's directory: the files in it are still 0600
        log.warning("cannot make %s readable by its owner alone (not ours)", data_dir)


def build(settings: Settings, store: Store | None = None) -> Services:
    store = store if store is not None else open_store(settings)
    catalog = Catalog(store)
    collector = Collector(catalog.content, GeoLookup(settings.geoip), DeviceParser(), settings.trusted_proxies)
    return Services(settings, store, catalog, Tokens(store), collector, Ingest(store))
