-- The ClickHouse schema, version 2: commit markers for write batches (see store/clickhouse/store.py).
-- A write_batch inserts its events, facts and rollups, then one row here, last: a batch whose
-- tag has the high bit set (2^63) and no row here is not committed; reads that rebuild state
-- skip its rows and ClickHouseStore.recover() takes it back. Tags below 2^63 (rows written
-- before this version, or copied with tag 0) need no marker.

-- @sharded batches cityHash64(ingest_batch)
-- One row per committed write_batch. The tag's bits 29..62 are the second it began.
CREATE TABLE IF NOT EXISTS {batches} {on_cluster} (
    ingest_batch UInt64,
    written_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY ingest_batch;

-- @alter events
-- Tags grow with time, so a minmax index finds the recent batches without reading old parts.
ALTER TABLE {events} {on_cluster} ADD INDEX IF NOT EXISTS batch_minmax ingest_batch TYPE minmax GRANULARITY 1;

-- @alter facts
ALTER TABLE {facts} {on_cluster} ADD INDEX IF NOT EXISTS batch_minmax ingest_batch TYPE minmax GRANULARITY 1;
