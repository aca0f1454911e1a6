"""``watchdepth copy --from DIR --to DSN``: move an embedded installation into ClickHouse.

Input: an embedded data directory (its DuckDB file, opened read-only, so ``serve`` must
be stopped) and a ClickHouse DSN (``clickhouse://…`` migrated first with ``watchdepth
migrate``, or ``chdb:///dir``). Output: the events log, the facts, the catalog and the
tokens in ClickHouse, copied in Arrow batches with a progress bar on stderr, then every
table's row count checked against the source. The ClickHouse rollups are summed from the
facts on the way in (the DuckDB rollups are not read).
It refuses a target that holds data unless ``--force`` (which empties it first), and it
does not touch the source.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
from tqdm import tqdm

from watchdepth.config import Settings
from watchdepth.errors import StoreError
from watchdepth.schema import CATALOG_TABLES

#: Copied tables, big first. Rollups are not copied: ClickHouse derives its own from facts.
DATA_TABLES = ("events", "facts")
#: Emptied by ``--force`` (the rollups too, or they would count the old facts).
TARGET_TABLES = (*DATA_TABLES, "agg_hour", "agg_day", *CATALOG_TABLES)
BATCH_ROWS = 200_000


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("copy", help="copy an embedded data dir into ClickHouse")
    p.add_argument("--from", dest="source", required=True, type=Path, help="the embedded data directory")
    p.add_argument(
        "--to",
        dest="target",
        required=True,
        help="ClickHouse DSN: clickhouse://user:pass@host:8123/db (migrated) or chdb:///dir",
    )
    p.add_argument("--force", action="store_true", help="empty a target that already holds data, then copy")
    p.add_argument("--batch-rows", type=int, default=BATCH_ROWS, help=f"rows per insert (default {BATCH_ROWS})")


def run(args: argparse.Namespace, settings: Settings) -> int:
    copied = copy(args.source, args.target, force=args.force, batch_rows=args.batch_rows)
    print("copied " + ", ".join(f"{t} {n}" for t, n in copied.items()), file=sys.stderr)
    return 0


def copy(
    source: Path, dsn: str, *, force: bool = False, batch_rows: int = BATCH_ROWS, progress: bool = True
) -> dict[str, int]:
    """Copy every table; returns the rows copied per table (checked against the target)."""
    import duckdb

    from watchdepth.store.clickhouse import ClickHouseStore, is_clickhouse_dsn

    if not is_clickhouse_dsn(dsn):
        raise StoreError(
            f"--to must be a ClickHouse DSN (clickhouse://user:pass@host:8123/db or chdb:///dir), not {dsn!r}"
        )
    db_file = Settings(data_dir=source).db_path
    if not db_file.exists():
        raise StoreError(f"no embedded database at {db_file}")
    if any(Path(str(db_file) + ".journal").glob("*.wal")) or _old_schema(db_file):
        # a crash left acknowledged events there, or the file is from before the newest columns
        from watchdepth.store.duckdb import DuckDBStore

        try:
            DuckDBStore(db_file).close()  # opening loads them; closing empties the journal
        except StoreError as exc:
            raise StoreError(f"{exc} (stop `watchdepth serve` on it first)") from exc
    try:
        src = duckdb.connect(str(db_file), read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open {db_file} (stop `watchdepth serve` on it first): {exc}") from exc
    dst = ClickHouseStore.from_dsn(dsn)
    try:
        held = {t: n for t in TARGET_TABLES if (n := dst.count(t))}
        if held and not force:
            raise StoreError(
                f"the target already holds data ({', '.join(f'{t}: {n}' for t, n in held.items())}); "
                "use --force to replace it"
            )
        if held:
            dst.truncate(TARGET_TABLES)
        counts = {
            t: int(src.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in (*DATA_TABLES, *CATALOG_TABLES)
        }
        with tqdm(
            total=sum(counts.values()),
            unit=" rows",
            unit_scale=True,
            desc="copy",
            file=sys.stderr,
            disable=not progress,
        ) as bar:
            for table in (*CATALOG_TABLES, *DATA_TABLES):
                _copy_table(src, dst, table, batch_rows, bar)
        wrong = {t: (n, got) for t, n in counts.items() if (got := dst.count(t)) != n}
        if wrong:
            raise StoreError(
                "row counts differ after the copy: "
                + ", ".join(f"{t}: {n} in the source, {got} in ClickHouse" for t, (n, got) in wrong.items())
            )
        return counts
    except duckdb.Error as exc:
        raise StoreError(f"reading {db_file} failed: {exc}") from exc
    finally:
        src.close()
        dst.close()


def _old_schema(db_file: Path) -> bool:
    """Is the file from before ``facts.city``, the newest column (opening it through ``DuckDBStore`` upgrades it)?"""
    import duckdb

    try:
        con = duckdb.connect(str(db_file), read_only=True)
    except duckdb.Error:
        return False  # held by a server: said below
    try:
        return not con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'facts' AND column_name = 'city'"
        ).fetchall()[0][0]
    finally:
        con.close()


def _copy_table(src: Any, dst: Any, table: str, batch_rows: int, bar: Any) -> None:
    target = dst.columns(table)
    extra = {"version": pa.scalar(1, pa.uint64()), "deleted": pa.scalar(0, pa.uint8())}  # catalog bookkeeping
    names = [n for n, _ in target if n not in extra and n != "ingest_batch"]  # 0: not from a write batch
    reader = src.execute(f"SELECT {', '.join(names)} FROM {table}").to_arrow_reader(batch_rows)
    for batch in reader:
        data = pa.Table.from_batches([batch])
        data = data.cast(pa.schema([_field(f, dict(target)[f.name]) for f in data.schema]), safe=False)
        for name, _ in target:
            if name in extra:
                data = data.append_column(name, pa.array([extra[name].as_py()] * data.num_rows, extra[name].type))
        if data.num_rows and table == "facts":
            dst.insert_facts(data)  # with its rollups
        elif data.num_rows:
            dst.insert_arrow(table, data)
        bar.update(data.num_rows)


def _field(f: pa.Field, ch_type: str) -> pa.Field:
    """Timestamps in UTC at the precision of the ClickHouse column; everything else as read."""
    if pa.types.is_timestamp(f.type):
        m = re.search(r"DateTime64\((\d)", ch_type)
        unit = {"3": "ms", "6": "us"}.get(m.group(1) if m else "3", "ms")
        return pa.field(f.name, pa.timestamp(unit, tz="UTC"), f.nullable)
    return f
