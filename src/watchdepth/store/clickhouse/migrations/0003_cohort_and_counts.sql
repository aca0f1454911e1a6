-- The ClickHouse schema, version 3: the cohort of docs/metrics.md §5 and event counts (§4).
-- facts.imp_t: a watch-time piece's pair's unique impression; facts.cohort_wt: watch time of
-- the pair impressed at imp_t with the row's dimensions (rolled up by imp_t, not t), for
-- average watch time and watch depth. play/pause/seek/replay/player_init: event counts, each
-- at its event. Rows stored before this version have imp_t NULL and zeros: the cohort
-- numbers and event counts of older periods count only what was credited since (see
-- docs/scale-out.md; a DuckDB file upgrades its own facts on open).

-- @alter facts
ALTER TABLE {facts} {on_cluster} ADD COLUMN IF NOT EXISTS imp_t Nullable(DateTime64(3, 'UTC')) CODEC(Delta, ZSTD(1)),
    ADD COLUMN IF NOT EXISTS cohort_wt Float64 DEFAULT 0 CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS play UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS pause UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS seek UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS replay UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS player_init UInt8 DEFAULT 0;

-- @alter facts
-- imp_t follows t closely (a pair is watched within its session): a minmax index skips the
-- parts a cohort's edge does not touch.
ALTER TABLE {facts} {on_cluster} ADD INDEX IF NOT EXISTS imp_minmax imp_t TYPE minmax GRANULARITY 4;

-- @alter agg_hour
ALTER TABLE {agg_hour} {on_cluster} ADD COLUMN IF NOT EXISTS cohort_wt Float64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS play Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS pause Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS seek Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS replay Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS player_init Int64 DEFAULT 0;

-- @alter agg_day
ALTER TABLE {agg_day} {on_cluster} ADD COLUMN IF NOT EXISTS cohort_wt Float64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS play Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS pause Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS seek Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS replay Int64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS player_init Int64 DEFAULT 0;

-- @alter events
-- Idempotency by id across the workspace (docs/metrics.md §2): ids not of the tracker's form are
-- looked up in the log; a bloom filter keeps the look-up off most parts.
ALTER TABLE {events} {on_cluster} ADD INDEX IF NOT EXISTS id_bloom id TYPE bloom_filter(0.01) GRANULARITY 4;
