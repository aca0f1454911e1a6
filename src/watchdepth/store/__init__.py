"""Storage: one interface, two backends.

- ``base``: the ``Store`` protocol, the logical queries (``Aggregate``) and the write batch.
- ``rows``: events and credited facts as Arrow tables and journal records, shared by both.
- ``duckdb/``: the embedded backend (one file, the default).
- ``clickhouse/``: the ClickHouse backend (a server, a cluster, or chDB in process).
- ``copy``: ``watchdepth copy``, moving a store's rows from one backend to the other.
"""
