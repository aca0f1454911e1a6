"""ClickHouse schema migrations: render the versioned SQL for one node or a cluster, apply it.

Input: the files of ``store/clickhouse/migrations/`` (``NNNN_name.sql``), a client and a
database (and a cluster name). Output: the statements run, and one row per applied
version in ``schema_migrations``. Every statement is ``IF NOT EXISTS``, so running twice,
or again after a half-applied version, is harmless. ``watchdepth migrate`` is the CLI.
It does not move data (``store.copy`` does) nor run queries of the Store.

On a cluster (``--cluster NAME``) each big table becomes ``NAME_local`` on a
``Replicated*MergeTree`` (ZooKeeper path ``/clickhouse/tables/{shard}/DB/TABLE``) plus a
``Distributed`` table of the plain name, sharded by ``cityHash64(session_id)`` so that a
session's events and facts stay on one shard. Small tables (catalog, tokens) are one
replicated copy on every node. Materialized views live on every node, between local tables.
An ``@alter NAME`` statement changes a table created earlier (on a cluster: its local table,
and for ``ADD COLUMN`` its Distributed table too).
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from dataclasses import dataclass
from importlib import resources
from typing import Any

from watchdepth.config import Settings
from watchdepth.errors import StoreError
from watchdepth.store.clickhouse.connection import connect, is_clickhouse_dsn, parse_dsn

_DIRECTIVE = re.compile(r"^-- @(sharded|everywhere|view|alter) (\w+)(?: (.+))?$", re.M)
_ENGINE = re.compile(r"ENGINE = (\w*)MergeTree(?:\(([^)]*)\))?")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Statement:
    kind: str  # sharded | everywhere | view | alter (a change to a table made by an earlier statement)
    name: str
    shard_key: str | None
    template: str


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[Statement, ...]


def migrations() -> list[Migration]:
    """The shipped migrations, in version order."""
    folder = resources.files("watchdepth.store.clickhouse").joinpath("migrations")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        version, _, name = entry.name[:-4].partition("_")
        out.append(Migration(int(version), name, tuple(_statements(entry.read_text()))))
    return out


def latest_version() -> int:
    return max(m.version for m in migrations())


def _statements(text: str) -> list[Statement]:
    marks = list(_DIRECTIVE.finditer(text))
    out = []
    for i, m in enumerate(marks):
        body = text[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        sql = "\n".join(line for line in body.splitlines() if not line.startswith("--")).strip().rstrip(";")
        out.append(Statement(m.group(1), m.group(2), m.group(3), sql))
    return out


def _names(ms: list[Migration]) -> dict[str, str]:
    return {s.name: s.kind for m in ms for s in m.statements if s.kind != "alter"}


def render(database: str, cluster: str | None = None, ms: list[Migration] | None = None) -> list[tuple[int, list[str]]]:
    """(version, statements) for every migration; ``cluster`` None renders for a single node."""
    for ident in (database, cluster):
        if ident is not None and not _IDENT.match(ident):
            raise StoreError(f"not a plain identifier: {ident!r}")
    ms = migrations() if ms is None else ms
    kinds = _names(ms)
    on = f" ON CLUSTER {cluster}" if cluster else ""

    def table(name: str) -> str:
        local = cluster is not None and kinds.get(name) == "sharded"
        return f"{database}.{name}_local" if local else f"{database}.{name}"

    out = []
    for m in ms:
        sqls = []
        for s in m.statements:
            sql = re.sub(
                r"\{(\w+)\}", lambda g: on.strip() if g.group(1) == "on_cluster" else table(g.group(1)), s.template
            )
            if cluster is not None:
                sql = _ENGINE.sub(functools.partial(_replicated, database=database, s=s), sql)
            sqls.append(sql)
            if cluster is not None and s.kind == "alter" and kinds.get(s.name) == "sharded" and "ADD COLUMN" in sql:
                # the Distributed table reads the columns it declares: it gets them too
                sqls.append(sql.replace(f"{database}.{s.name}_local", f"{database}.{s.name}", 1))
            if cluster is not None and s.kind == "sharded":
                sqls.append(
                    f"CREATE TABLE IF NOT EXISTS {database}.{s.name}{on} AS {database}.{s.name}_local "
                    f"ENGINE = Distributed('{cluster}', '{database}', '{s.name}_local', {s.shard_key})"
                )
        out.append((m.version, sqls))
    return out


def _replicated(g: re.Match[str], database: str, s: Statement) -> str:
    if s.kind == "sharded":
        path, replica = f"/clickhouse/tables/{{shard}}/{database}/{s.name}_local", "{replica}"
    else:  # one copy on every node of every shard
        path, replica = f"/clickhouse/tables/all/{database}/{s.name}", "{shard}-{replica}"
    args = f", {g.group(2)}" if g.group(2) else ""
    return f"ENGINE = Replicated{g.group(1)}MergeTree('{path}', '{replica}'{args})"


def bootstrap(database: str, cluster: str | None = None) -> list[str]:
    """The database and the ``schema_migrations`` table (before any version)."""
    on = f" ON CLUSTER {cluster}" if cluster else ""
    engine = (
        f"ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/schema_migrations', '{{shard}}-{{replica}}')"
        if cluster
        else "ReplacingMergeTree"
    )
    return [
        f"CREATE DATABASE IF NOT EXISTS {database}{on}",
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations{on} "
        f"(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = {engine} ORDER BY version",
    ]


def applied_versions(client: Any, database: str) -> set[int]:
    """Versions recorded in ``schema_migrations`` (empty when the table is missing)."""
    if not int(client.command(f"EXISTS TABLE {database}.schema_migrations")):
        return set()
    return {int(r[0]) for r in client.query(f"SELECT version FROM {database}.schema_migrations FINAL").result_rows}


def apply(client: Any, database: str, cluster: str | None = None, progress: Any = None) -> list[int]:
    """Apply the missing versions in order; returns the versions applied now."""
    for sql in bootstrap(database, cluster):
        client.command(sql)
    done = applied_versions(client, database)
    names = {m.version: m.name for m in migrations()}
    applied = []
    for version, sqls in render(database, cluster):
        if version in done:
            continue
        for sql in sqls:
            client.command(sql)
        client.insert(f"{database}.schema_migrations", [[version, names[version]]], column_names=["version", "name"])
        applied.append(version)
        if progress is not None:
            progress(f"applied {version:04d}_{names[version]}")
    return applied


# -- CLI ------------------------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("migrate", help="create or upgrade the ClickHouse schema")
    p.add_argument("--data", dest="data_dir", help="data directory (default ./watchdepth-data)")
    p.add_argument(
        "--store", help="ClickHouse DSN (default: WATCHDEPTH_STORE), e.g. clickhouse://user:pass@host:8123/db"
    )
    p.add_argument("--cluster", help="render for this cluster: ReplicatedMergeTree + Distributed, ON CLUSTER")
    p.add_argument("--print", dest="print_only", action="store_true", help="print the SQL instead of running it")


def run(args: argparse.Namespace, settings: Settings) -> int:
    dsn = settings.store
    if args.print_only:
        database = parse_dsn(dsn).database if dsn else "watchdepth"
        for sql in bootstrap(database, args.cluster) + [s for _, sqls in render(database, args.cluster) for s in sqls]:
            print(sql + ";\n")
        return 0
    if not dsn or not is_clickhouse_dsn(dsn):
        print(
            "error: give a ClickHouse DSN with --store or WATCHDEPTH_STORE "
            "(clickhouse://user:pass@host:8123/db or chdb:///path)",
            file=sys.stderr,
        )
        return 2
    target = parse_dsn(dsn)
    client = connect(target, database=None)
    try:
        done = apply(client, target.database, args.cluster, progress=lambda msg: print(msg, file=sys.stderr))
    except Exception as exc:  # noqa: BLE001 - the engine's error, as one line
        raise StoreError(f"migration failed: {exc}") from exc
    finally:
        client.close()
    print(f"schema at version {latest_version()} ({len(done)} applied now)", file=sys.stderr)
    return 0
