"""The ClickHouse backend (``watchdepth serve --store clickhouse://...`` and chDB in process).

- ``connection``: a DSN -> ``Target`` -> a clickhouse-connect client.
- ``store``: ``ClickHouseStore``, the ``Store`` interface over one database or a cluster.
- ``plan``: logical ``Aggregate`` queries -> ClickHouse SQL.
- ``migrate``: the versioned schema in ``migrations/``, and ``watchdepth migrate``.
"""

from watchdepth.store.clickhouse.connection import Target, is_clickhouse_dsn, parse_dsn
from watchdepth.store.clickhouse.store import ClickHouseStore

__all__ = ["ClickHouseStore", "Target", "is_clickhouse_dsn", "parse_dsn"]
