-- The ClickHouse schema, version 5: the city (English name) of the client IP, when the GeoIP
-- file has cities (a MaxMind/DB-IP City .mmdb given with --geoip), NULL otherwise.
-- events.city as looked up; facts.city: one more dimension of every credit, like country,
-- rolled up in agg_day (dim 'city') so a city breakdown reads the rollup, not the facts.
-- Rows stored before this version have city NULL, and agg_day has no 'city' rows for the
-- days rolled up before it: a city breakdown of those days is empty (a DuckDB file fills
-- them in on open, as one NULL city per day and content).

-- @alter events
ALTER TABLE {events} {on_cluster} ADD COLUMN IF NOT EXISTS city LowCardinality(Nullable(String));

-- @alter facts
ALTER TABLE {facts} {on_cluster} ADD COLUMN IF NOT EXISTS city LowCardinality(Nullable(String));
