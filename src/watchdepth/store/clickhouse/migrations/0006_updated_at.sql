-- The ClickHouse schema, version 6: the catalog keeps the time of an entity's last change
-- (``updated_at``, NULL until one), so the API shows it after a restart too.

-- @alter projects
ALTER TABLE {projects} {on_cluster} ADD COLUMN IF NOT EXISTS updated_at Nullable(DateTime64(6, 'UTC'));

-- @alter folders
ALTER TABLE {folders} {on_cluster} ADD COLUMN IF NOT EXISTS updated_at Nullable(DateTime64(6, 'UTC'));

-- @alter content
ALTER TABLE {content} {on_cluster} ADD COLUMN IF NOT EXISTS updated_at Nullable(DateTime64(6, 'UTC'));
