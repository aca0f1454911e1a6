-- The ClickHouse schema, version 4: quality of experience (docs/metrics.md §7).
-- events: the quality fields as sent (ms of startup and stall; code, message, fatal of error).
-- facts and rollups: startups, stalls, stall_ms, failures (a load's first fatal error) and
-- exits (+1 at a load's first play, -1 at its startup; keyed by imp_t, that play's time, like
-- the cohort watch time). facts.startup_bin (a startup's 10 ms bin) is one more dimension of
-- agg_day (dim 'startup_bin'), so startup percentiles are read from stored counts per bin.
-- Rows stored before this version have zeros: quality numbers start at the migration.

-- @alter events
ALTER TABLE {events} {on_cluster} ADD COLUMN IF NOT EXISTS ms Nullable(Int32),
    ADD COLUMN IF NOT EXISTS code Nullable(String) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS message Nullable(String) CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS fatal Nullable(Bool);

-- @alter facts
ALTER TABLE {facts} {on_cluster} ADD COLUMN IF NOT EXISTS startups UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS startup_bin LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS stalls UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS stall_ms UInt32 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS failures UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS exits Int8 DEFAULT 0;

-- @alter agg_hour
ALTER TABLE {agg_hour} {on_cluster} ADD COLUMN IF NOT EXISTS startups Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS stalls Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS stall_ms Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS failures Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS exits Int64 DEFAULT 0;

-- @alter agg_day
ALTER TABLE {agg_day} {on_cluster} ADD COLUMN IF NOT EXISTS startups Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS stalls Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS stall_ms Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS failures Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS exits Int64 DEFAULT 0;
