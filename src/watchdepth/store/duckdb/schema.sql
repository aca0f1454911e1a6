-- The embedded backend's tables (DuckDB). Times are TIMESTAMPTZ in UTC.
-- events: the durable log, one row per stored event (duplicates are not stored).
CREATE TABLE IF NOT EXISTS events (
    log_seq BIGINT NOT NULL,
    t TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    status VARCHAR NOT NULL,          -- applied | late | bot
    run INTEGER,
    type VARCHAR NOT NULL,
    content_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    project_id VARCHAR NOT NULL,
    stream_id VARCHAR,
    session_id VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL,
    seq BIGINT NOT NULL,
    position DOUBLE,
    from_position DOUBLE,
    duration DOUBLE,
    content_duration DOUBLE,
    url VARCHAR,
    external_id VARCHAR,
    id VARCHAR,
    ts BIGINT,
    country VARCHAR,
    platform VARCHAR,
    os VARCHAR,
    browser VARCHAR,
    domain VARCHAR,
    page VARCHAR,
    ms INTEGER,                       -- startup, stall (docs/metrics.md §7)
    code VARCHAR,                     -- error
    message VARCHAR,                  -- error
    fatal BOOLEAN,                    -- error
    city VARCHAR                      -- English name, when the GeoIP file has cities
);
-- facts: every credited number, at the time of the event that produced it (docs/metrics.md §5).
CREATE TABLE IF NOT EXISTS facts (
    t TIMESTAMPTZ NOT NULL,
    content_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL,
    player_loads UTINYINT NOT NULL,
    unique_views UTINYINT NOT NULL,
    views UTINYINT NOT NULL,
    watch_time DOUBLE NOT NULL,
    seg_start DOUBLE,
    seg_end DOUBLE,
    country VARCHAR,
    platform VARCHAR,
    os VARCHAR,
    browser VARCHAR,
    domain VARCHAR,
    page VARCHAR,
    external_id VARCHAR,
    imp_t TIMESTAMPTZ,                -- a watch-time piece: its pair's unique impression (docs/metrics.md §5 cohort)
    cohort_wt DOUBLE NOT NULL DEFAULT 0,  -- watch time of the pair impressed at imp_t with these dimensions
    play UTINYINT NOT NULL DEFAULT 0,      -- event counts (docs/metrics.md §4), each at its event
    pause UTINYINT NOT NULL DEFAULT 0,
    seek UTINYINT NOT NULL DEFAULT 0,
    replay UTINYINT NOT NULL DEFAULT 0,
    player_init UTINYINT NOT NULL DEFAULT 0,
    -- quality (docs/metrics.md §7), each at its event: a startup and its 10 ms bin (a key of agg_day/ws_day,
    -- dim 'startup_bin', for the percentiles), a stall and its ms, a load's first fatal error,
    -- exits before start (+1 at a load's first play, -1 at its startup; both keyed by imp_t = that play)
    startups UTINYINT NOT NULL DEFAULT 0,
    startup_bin VARCHAR,
    stalls UTINYINT NOT NULL DEFAULT 0,
    stall_ms UINTEGER NOT NULL DEFAULT 0,
    failures UTINYINT NOT NULL DEFAULT 0,
    exits TINYINT NOT NULL DEFAULT 0,
    city VARCHAR                      -- a dimension, like country (last: files made before it gain it last)
);
-- Rollups are built by maintain() from the facts tail (see rollup_state), never per commit.
-- Every sum is keyed by the time of its fact (t), but cohort_wt by its impression time (imp_t)
-- and exits by its load's first play (imp_t too).
-- agg_hour: facts summed per UTC hour and content (timelines, totals, top videos).
CREATE TABLE IF NOT EXISTS agg_hour (
    hour TIMESTAMPTZ NOT NULL,
    content_id VARCHAR NOT NULL,
    player_loads BIGINT NOT NULL,
    unique_views BIGINT NOT NULL,
    views BIGINT NOT NULL,
    watch_time DOUBLE NOT NULL,
    cohort_wt DOUBLE NOT NULL,
    play BIGINT NOT NULL,
    pause BIGINT NOT NULL,
    seek BIGINT NOT NULL,
    replay BIGINT NOT NULL,
    player_init BIGINT NOT NULL,
    startups BIGINT NOT NULL DEFAULT 0,
    stalls BIGINT NOT NULL DEFAULT 0,
    stall_ms BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    exits BIGINT NOT NULL DEFAULT 0
);
-- agg_day: facts summed per UTC day, content and one dimension (breakdowns, referrers).
CREATE TABLE IF NOT EXISTS agg_day (
    day TIMESTAMPTZ NOT NULL,
    content_id VARCHAR NOT NULL,
    dim VARCHAR NOT NULL,
    value VARCHAR,
    player_loads BIGINT NOT NULL,
    unique_views BIGINT NOT NULL,
    views BIGINT NOT NULL,
    watch_time DOUBLE NOT NULL,
    cohort_wt DOUBLE NOT NULL,
    play BIGINT NOT NULL,
    pause BIGINT NOT NULL,
    seek BIGINT NOT NULL,
    replay BIGINT NOT NULL,
    player_init BIGINT NOT NULL,
    startups BIGINT NOT NULL DEFAULT 0,
    stalls BIGINT NOT NULL DEFAULT 0,
    stall_ms BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    exits BIGINT NOT NULL DEFAULT 0
);
-- agg_startup: startups per UTC hour, content and 10 ms startup bin (docs/metrics.md §7 percentiles
-- per time bucket, read alone: no other sum, no catalog join).
CREATE TABLE IF NOT EXISTS agg_startup (
    hour TIMESTAMPTZ NOT NULL,
    content_id VARCHAR NOT NULL,
    startup_bin VARCHAR,
    startups BIGINT NOT NULL
);
-- startup_day, startup_hour: startups of all content per UTC day / hour and 10 ms bin (the
-- startup percentiles of a workspace without a filter: a day's bins in one row each; they hold
-- no catalog value, so a catalog change leaves them valid).
CREATE TABLE IF NOT EXISTS startup_day (
    day TIMESTAMPTZ NOT NULL,
    startup_bin VARCHAR,
    startups BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS startup_hour (
    hour TIMESTAMPTZ NOT NULL,
    startup_bin VARCHAR,
    startups BIGINT NOT NULL
);
-- agg_startup_dim: startups per UTC day, content, device dimension (STARTUP_DIMS: browser, os,
-- platform, country; dim names it, value holds it) and 10 ms bin: docs/metrics.md §7 percentiles
-- grouped by one of those dimensions; startup_dim_day: the same of all content (no filter).
CREATE TABLE IF NOT EXISTS agg_startup_dim (
    day TIMESTAMPTZ NOT NULL,
    content_id VARCHAR NOT NULL,
    dim VARCHAR NOT NULL,
    value VARCHAR,
    startup_bin VARCHAR,
    startups BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS startup_dim_day (
    day TIMESTAMPTZ NOT NULL,
    dim VARCHAR NOT NULL,
    value VARCHAR,
    startup_bin VARCHAR,
    startups BIGINT NOT NULL
);
-- agg_cday: facts summed per UTC day and content (top videos over long periods).
CREATE TABLE IF NOT EXISTS agg_cday (
    day TIMESTAMPTZ NOT NULL,
    content_id VARCHAR NOT NULL,
    player_loads BIGINT NOT NULL,
    unique_views BIGINT NOT NULL,
    views BIGINT NOT NULL,
    watch_time DOUBLE NOT NULL,
    cohort_wt DOUBLE NOT NULL,
    play BIGINT NOT NULL,
    pause BIGINT NOT NULL,
    seek BIGINT NOT NULL,
    replay BIGINT NOT NULL,
    player_init BIGINT NOT NULL,
    startups BIGINT NOT NULL DEFAULT 0,
    stalls BIGINT NOT NULL DEFAULT 0,
    stall_ms BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    exits BIGINT NOT NULL DEFAULT 0
);
-- ws_*: workspace-level rollups without content_id, per project (the content's project at
-- rollup time) with view_duration = Σ views × the catalog duration at rollup time, and for
-- watch depth depth_wt = Σ cohort_wt and depth_duration = Σ unique_views × duration, both
-- of content with a duration. A change to
-- a content's project or duration marks them invalid (rollup_state.ws_valid) until rebuilt.
CREATE TABLE IF NOT EXISTS ws_hour (
    hour TIMESTAMPTZ NOT NULL,
    project_id VARCHAR,
    player_loads BIGINT NOT NULL,
    unique_views BIGINT NOT NULL,
    views BIGINT NOT NULL,
    watch_time DOUBLE NOT NULL,
    view_duration DOUBLE NOT NULL,
    cohort_wt DOUBLE NOT NULL,
    depth_wt DOUBLE NOT NULL,
    depth_duration DOUBLE NOT NULL,
    play BIGINT NOT NULL,
    pause BIGINT NOT NULL,
    seek BIGINT NOT NULL,
    replay BIGINT NOT NULL,
    player_init BIGINT NOT NULL,
    startups BIGINT NOT NULL DEFAULT 0,
    stalls BIGINT NOT NULL DEFAULT 0,
    stall_ms BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    exits BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ws_day (
    day TIMESTAMPTZ NOT NULL,
    project_id VARCHAR,
    dim VARCHAR NOT NULL,
    value VARCHAR,
    player_loads BIGINT NOT NULL,
    unique_views BIGINT NOT NULL,
    views BIGINT NOT NULL,
    watch_time DOUBLE NOT NULL,
    view_duration DOUBLE NOT NULL,
    cohort_wt DOUBLE NOT NULL,
    depth_wt DOUBLE NOT NULL,
    depth_duration DOUBLE NOT NULL,
    play BIGINT NOT NULL,
    pause BIGINT NOT NULL,
    seek BIGINT NOT NULL,
    replay BIGINT NOT NULL,
    player_init BIGINT NOT NULL,
    startups BIGINT NOT NULL DEFAULT 0,
    stalls BIGINT NOT NULL DEFAULT 0,
    stall_ms BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    exits BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ws_page (
    day TIMESTAMPTZ NOT NULL,
    project_id VARCHAR,
    domain VARCHAR,
    page VARCHAR,
    player_loads BIGINT NOT NULL,
    unique_views BIGINT NOT NULL,
    views BIGINT NOT NULL,
    watch_time DOUBLE NOT NULL,
    view_duration DOUBLE NOT NULL,
    cohort_wt DOUBLE NOT NULL,
    depth_wt DOUBLE NOT NULL,
    depth_duration DOUBLE NOT NULL,
    play BIGINT NOT NULL,
    pause BIGINT NOT NULL,
    seek BIGINT NOT NULL,
    replay BIGINT NOT NULL,
    player_init BIGINT NOT NULL,
    startups BIGINT NOT NULL DEFAULT 0,
    stalls BIGINT NOT NULL DEFAULT 0,
    stall_ms BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    exits BIGINT NOT NULL DEFAULT 0
);
-- ws_hour_dim: ws_day per UTC hour, for the top-list dimensions only (HOUR_DIMS: country,
-- platform, os, browser): the partial UTC days at the ends of a non-UTC period.
CREATE TABLE IF NOT EXISTS ws_hour_dim (
    hour TIMESTAMPTZ NOT NULL,
    project_id VARCHAR,
    dim VARCHAR NOT NULL,
    value VARCHAR,
    player_loads BIGINT NOT NULL,
    unique_views BIGINT NOT NULL,
    views BIGINT NOT NULL,
    watch_time DOUBLE NOT NULL,
    view_duration DOUBLE NOT NULL,
    cohort_wt DOUBLE NOT NULL,
    depth_wt DOUBLE NOT NULL,
    depth_duration DOUBLE NOT NULL,
    play BIGINT NOT NULL,
    pause BIGINT NOT NULL,
    seek BIGINT NOT NULL,
    replay BIGINT NOT NULL,
    player_init BIGINT NOT NULL,
    startups BIGINT NOT NULL DEFAULT 0,
    stalls BIGINT NOT NULL DEFAULT 0,
    stall_ms BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    exits BIGINT NOT NULL DEFAULT 0
);
-- rollup_state: facts rows [0, wm) (by rowid; facts is append-only) are in every rollup; the
-- rest (the tail) is answered from facts. ws_valid: the ws_* tables match the catalog.
CREATE TABLE IF NOT EXISTS rollup_state (id INTEGER PRIMARY KEY, wm BIGINT NOT NULL, ws_valid BOOLEAN NOT NULL);
-- rollup_pending: rollups a file from before them still lacks ('startup_dims'); the next
-- maintain() fills them in the background, and queries read facts instead meanwhile.
CREATE TABLE IF NOT EXISTS rollup_pending (name VARCHAR PRIMARY KEY);
CREATE TABLE IF NOT EXISTS projects (
    id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS folders (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, parent_id VARCHAR, name VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS content (
    id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, project_id VARCHAR NOT NULL, folder_id VARCHAR,
    title VARCHAR NOT NULL, duration DOUBLE, stream_id VARCHAR, created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS tokens (
    id VARCHAR PRIMARY KEY, hash VARCHAR NOT NULL, name VARCHAR NOT NULL, projects VARCHAR NOT NULL,
    read_only BOOLEAN NOT NULL, revoked BOOLEAN NOT NULL, created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
