"""The embedded backend: one DuckDB file, the default (``watchdepth serve``).

- ``store``: ``DuckDBStore``, the ``Store`` interface over the file.
- ``journal``: the append-only journal a batch is durable in before its 202, the disk
  reserve and the quarantine of batches the database refuses.
- ``loader``: the background thread that loads journaled batches into DuckDB.
- ``schema.sql``, ``rollup``: the tables, and the hourly/daily rollups kept beside the facts.
- ``plan``: logical ``Aggregate`` queries -> DuckDB SQL over facts and rollups.
"""

from watchdepth.store.duckdb.store import DuckDBStore

__all__ = ["DuckDBStore"]
