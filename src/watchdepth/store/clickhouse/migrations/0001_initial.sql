-- The ClickHouse schema, version 1. Rendered by store/clickhouse/migrate.py for a single node or a cluster.
-- Each statement starts with a directive:
--   @sharded NAME KEY  a big table; on a cluster: NAME_local (Replicated*) + NAME (Distributed, sharded by KEY)
--   @everywhere NAME   a small table; on a cluster: one replicated copy on every node (catalog, tokens)
-- {name} refers to a table of this schema, {on_cluster} is empty on a single node.
-- Times are DateTime64 in UTC; ORDER BY keys are chosen for the queries of store/clickhouse/store.py.

-- @sharded events cityHash64(session_id)
-- The durable log, one row per stored event. Sorted by session for replay (session_log).
CREATE TABLE IF NOT EXISTS {events} {on_cluster} (
    log_seq Int64,
    t DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    received_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    status LowCardinality(String),
    run Nullable(Int32),
    type LowCardinality(String),
    content_id LowCardinality(String),
    kind LowCardinality(String),
    project_id LowCardinality(String),
    stream_id LowCardinality(Nullable(String)),
    session_id String CODEC(ZSTD(1)),
    load_id String CODEC(ZSTD(1)),
    seq Int64 CODEC(Delta, ZSTD(1)),
    position Nullable(Float64) CODEC(ZSTD(1)),
    from_position Nullable(Float64),
    duration Nullable(Float64) CODEC(ZSTD(1)),
    content_duration Nullable(Float64) CODEC(ZSTD(1)),
    url Nullable(String) CODEC(ZSTD(1)),
    external_id Nullable(String) CODEC(ZSTD(1)),
    id Nullable(String) CODEC(ZSTD(1)),
    ts Nullable(Int64) CODEC(ZSTD(1)),
    country LowCardinality(Nullable(String)),
    platform LowCardinality(Nullable(String)),
    os LowCardinality(Nullable(String)),
    browser LowCardinality(Nullable(String)),
    domain LowCardinality(Nullable(String)),
    page Nullable(String) CODEC(ZSTD(1)),
    ingest_batch UInt64 DEFAULT 0 CODEC(ZSTD(1)),  -- the write_batch that stored it (to take a failed one back)
    INDEX t_minmax t TYPE minmax GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (session_id, log_seq);

-- @sharded facts cityHash64(session_id)
-- Every credited number at the time of the event that produced it (docs/metrics.md §5).
CREATE TABLE IF NOT EXISTS {facts} {on_cluster} (
    t DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    content_id LowCardinality(String),
    session_id String CODEC(ZSTD(1)),
    load_id String CODEC(ZSTD(1)),
    player_loads UInt8,
    unique_views UInt8,
    views UInt8,
    watch_time Float64 CODEC(ZSTD(1)),
    seg_start Nullable(Float64) CODEC(ZSTD(1)),
    seg_end Nullable(Float64) CODEC(ZSTD(1)),
    country LowCardinality(Nullable(String)),
    platform LowCardinality(Nullable(String)),
    os LowCardinality(Nullable(String)),
    browser LowCardinality(Nullable(String)),
    domain LowCardinality(Nullable(String)),
    page Nullable(String) CODEC(ZSTD(1)),
    external_id Nullable(String) CODEC(ZSTD(1)),
    ingest_batch UInt64 DEFAULT 0 CODEC(ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toYYYYMM(t)
ORDER BY (content_id, t);

-- @sharded agg_hour rand()
-- Facts summed per UTC hour and content, computed by the writer with each batch (Arrow) and
-- merged in the background (SummingMergeTree).
CREATE TABLE IF NOT EXISTS {agg_hour} {on_cluster} (
    hour DateTime('UTC'),
    content_id LowCardinality(String),
    player_loads Int64,
    unique_views Int64,
    views Int64,
    watch_time Float64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, content_id);

-- @sharded agg_day rand()
-- Facts summed per UTC day, content and one dimension (breakdowns, referrers).
CREATE TABLE IF NOT EXISTS {agg_day} {on_cluster} (
    day DateTime('UTC'),
    content_id LowCardinality(String),
    dim LowCardinality(String),
    value Nullable(String),
    player_loads Int64,
    unique_views Int64,
    views Int64,
    watch_time Float64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (dim, day, content_id, value)
SETTINGS allow_nullable_key = 1;

-- @everywhere projects
CREATE TABLE IF NOT EXISTS {projects} {on_cluster} (
    id String, name String, created_at DateTime64(6, 'UTC'), version UInt64, deleted UInt8
) ENGINE = ReplacingMergeTree(version, deleted) ORDER BY id;

-- @everywhere folders
CREATE TABLE IF NOT EXISTS {folders} {on_cluster} (
    id String, project_id String, parent_id Nullable(String), name String, created_at DateTime64(6, 'UTC'),
    version UInt64, deleted UInt8
) ENGINE = ReplacingMergeTree(version, deleted) ORDER BY id;

-- @everywhere content
CREATE TABLE IF NOT EXISTS {content} {on_cluster} (
    id String, kind String, project_id String, folder_id Nullable(String), title String,
    duration Nullable(Float64), stream_id Nullable(String), created_at DateTime64(6, 'UTC'),
    version UInt64, deleted UInt8
) ENGINE = ReplacingMergeTree(version, deleted) ORDER BY id;

-- @everywhere tokens
CREATE TABLE IF NOT EXISTS {tokens} {on_cluster} (
    id String, hash String, name String, projects String, read_only Bool, revoked Bool,
    created_at DateTime64(6, 'UTC'), version UInt64, deleted UInt8
) ENGINE = ReplacingMergeTree(version, deleted) ORDER BY id;

-- @everywhere settings
CREATE TABLE IF NOT EXISTS {settings} {on_cluster} (
    key String, value String, version UInt64, deleted UInt8
) ENGINE = ReplacingMergeTree(version, deleted) ORDER BY key;
