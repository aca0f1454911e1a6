"""ClickHouse migrations: versioned and idempotent on one node; the cluster DDL renders and parses.

Single-node DDL runs on chDB (the real engine). No cluster exists here, so the cluster
rendering is checked for its shape and put through ClickHouse's own parser (``formatQuery``).
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from watchdepth.errors import StoreError
from watchdepth.store.clickhouse import migrate

pytestmark = pytest.mark.clickhouse
_ids = itertools.count()


@pytest.fixture
def client(chdb_engine: Path) -> Any:
    from watchdepth.store.clickhouse.connection import Target, connect

    c = connect(Target("chdb", "default", path=str(chdb_engine)), None)
    yield c
    c.close()


def test_apply_is_versioned_and_idempotent(client: Any) -> None:
    db = f"m{next(_ids)}"
    assert migrate.apply(client, db) == [1, 2, 3, 4, 5, 6]
    assert migrate.apply(client, db) == []  # nothing left to do, nothing fails
    assert sorted(client.query(f"SELECT version, name FROM {db}.schema_migrations").result_rows) == [
        (1, "initial"),
        (2, "commit_markers"),
        (3, "cohort_and_counts"),
        (4, "quality"),
        (5, "city"),
        (6, "updated_at"),
    ]
    tables = {r[0] for r in client.query(f"SELECT name FROM system.tables WHERE database = '{db}'").result_rows}
    assert {
        "events",
        "facts",
        "agg_hour",
        "agg_day",
        "batches",
        "projects",
        "folders",
        "content",
        "tokens",
        "settings",
        "schema_migrations",
    } == tables
    indexes = client.query(
        f"SELECT table, name FROM system.data_skipping_indices WHERE database = '{db}' "
        "AND name = 'batch_minmax' ORDER BY table"
    ).result_rows
    assert indexes == [("events", "batch_minmax"), ("facts", "batch_minmax")]
    # a half-applied version (the row missing) is applied again without error
    client.command(f"TRUNCATE TABLE {db}.schema_migrations")
    assert migrate.apply(client, db) == [1, 2, 3, 4, 5, 6]


def test_version_2_upgrades_a_version_1_database(client: Any) -> None:
    db = f"m{next(_ids)}"
    for sql in migrate.bootstrap(db):
        client.command(sql)
    for sql in migrate.render(db)[0][1]:  # version 1 only, as an older release left it
        client.command(sql)
    client.insert(f"{db}.schema_migrations", [[1, "initial"]], column_names=["version", "name"])
    assert migrate.apply(client, db) == [2, 3, 4, 5, 6]
    assert int(client.command(f"EXISTS TABLE {db}.batches"))
    columns = {
        r[0]
        for r in client.query(
            f"SELECT name FROM system.columns WHERE database = '{db}' AND table = 'facts'"
        ).result_rows
    }
    assert {"imp_t", "cohort_wt", "play", "pause", "seek", "replay", "player_init", "city"} <= columns


def test_an_unmigrated_server_database_is_a_clear_error(chdb_engine: Path) -> None:
    from watchdepth.store.clickhouse import ClickHouseStore, Target

    with pytest.raises(StoreError, match=r"not migrated .* run `watchdepth migrate"):
        ClickHouseStore(Target("chdb", f"m{next(_ids)}", path=str(chdb_engine)), auto_migrate=False)


def test_cluster_rendering(client: Any) -> None:
    sqls = migrate.bootstrap("wd", "main") + [s for _, ss in migrate.render("wd", "main") for s in ss]
    assert all(" ON CLUSTER main" in s for s in sqls)
    text = "\n".join(sqls)
    assert (
        "ALTER TABLE wd.events_local ON CLUSTER main ADD INDEX IF NOT EXISTS batch_minmax ingest_batch "
        "TYPE minmax GRANULARITY 1"
    ) in text  # an @alter changes the local table
    for table in ("wd.facts_local", "wd.facts"):  # a column added: to the Distributed table too
        assert f"ALTER TABLE {table} ON CLUSTER main ADD COLUMN IF NOT EXISTS imp_t" in text
    assert "ALTER TABLE wd.facts ON CLUSTER main ADD INDEX" not in text
    assert "ENGINE = Distributed('main', 'wd', 'batches_local', cityHash64(ingest_batch))" in text
    for big in ("events", "facts"):  # sharded by session, so a session's rows stay on one shard
        assert f"CREATE TABLE IF NOT EXISTS wd.{big}_local ON CLUSTER main" in text
        assert (
            f"CREATE TABLE IF NOT EXISTS wd.{big} ON CLUSTER main AS wd.{big}_local "
            f"ENGINE = Distributed('main', 'wd', '{big}_local', cityHash64(session_id))"
        ) in text
    assert "ReplicatedMergeTree('/clickhouse/tables/{shard}/wd/events_local', '{replica}')" in text
    assert "ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/wd/agg_hour_local', '{replica}')" in text
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/all/wd/content', '{shard}-{replica}', version, deleted)"
        in text
    )  # the catalog: one full copy on every node
    assert not re.search(r"ENGINE = (Summing|Replacing)?MergeTree\b", text)  # nothing left unreplicated
    # ClickHouse's own parser accepts every statement
    for sql in sqls:
        assert client.query("SELECT formatQuery({q:String})", parameters={"q": sql}).result_rows[0][0]
    with pytest.raises(StoreError):
        migrate.render("wd; DROP TABLE x", None)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watchdepth.cli", "migrate", *args], capture_output=True, text=True, timeout=120
    )


def test_cli(tmp_path: Path) -> None:
    dsn = f"chdb://{tmp_path / 'ch'}?database=prod"
    r = cli("--store", dsn)
    assert r.returncode == 0 and "applied 0001_initial" in r.stderr and "(6 applied now)" in r.stderr, r.stderr
    r = cli("--store", dsn)
    assert r.returncode == 0 and "(0 applied now)" in r.stderr, r.stderr
    r = cli("--print", "--cluster", "main", "--store", "clickhouse://u:p@db:8123/prod")
    assert (
        r.returncode == 0 and "ENGINE = Distributed('main', 'prod', 'events_local', cityHash64(session_id))" in r.stdout
    )
    r = cli()
    assert r.returncode == 2 and "give a ClickHouse DSN" in r.stderr
