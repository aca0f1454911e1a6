"""Turning a write batch into columnar rows (Arrow), and stored rows back into events.

Input: ``WriteBatch`` / credits; output: ``pyarrow.Table``s whose columns match the
``events`` and ``facts`` tables of every backend. It does not talk to any engine.

Two ways there. ``arrow_tables`` converts the Python objects directly (it holds the GIL
throughout). ``encode`` writes a batch as JSON lines, in C, for the journal, and
``journal_tables`` turns many of those into the same tables with pyarrow's JSON reader,
which lets go of the GIL while it parses: the embedded store's loader thread converts
that way, beside the event loop instead of taking turns with it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
from msgspec.structs import astuple

from watchdepth.collect.event import Event
from watchdepth.schema import LOAD_DIMENSIONS
from watchdepth.sessionize import DUPLICATE, Credit
from watchdepth.store.base import WriteBatch

_TS = pa.timestamp("ms", tz="UTC")
_STR = pa.string()
_F64 = pa.float64()

#: Event attribute -> stored column, in the order ``EVENT_SELECT`` reads them back.
EVENT_COLUMNS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("type", "type", _STR),
    ("content_id", "content_id", _STR),
    ("kind", "kind", _STR),
    ("project_id", "project_id", _STR),
    ("session_id", "session_id", _STR),
    ("load_id", "load_id", _STR),
    ("seq", "seq", pa.int64()),
    ("t", "t", _TS),
    ("received_at", "received_at", _TS),
    ("stream_id", "stream_id", _STR),
    ("position", "position", _F64),
    ("from_", "from_position", _F64),
    ("duration", "duration", _F64),
    ("content_duration", "content_duration", _F64),
    ("url", "url", _STR),
    ("external_id", "external_id", _STR),
    ("id", "id", _STR),
    ("ts", "ts", pa.int64()),
    ("country", "country", _STR),
    ("platform", "platform", _STR),
    ("os", "os", _STR),
    ("browser", "browser", _STR),
    ("domain", "domain", _STR),
    ("page", "page", _STR),
    ("ms", "ms", pa.int32()),  # the quality fields (docs/metrics.md §7)
    ("code", "code", _STR),
    ("message", "message", _STR),
    ("fatal", "fatal", pa.bool_()),
    ("city", "city", _STR),
)
EVENT_SELECT = ", ".join(f"epoch_ms({col})" if typ == _TS else col for _, col, typ in EVENT_COLUMNS)

FACT_DIMS = LOAD_DIMENSIONS
# ``events_table`` relies on ``Event``'s fields starting in ``EVENT_COLUMNS`` order.
if Event.__struct_fields__[: len(EVENT_COLUMNS)] != tuple(attr for attr, _, _ in EVENT_COLUMNS):
    raise RuntimeError("Event fields and EVENT_COLUMNS disagree in order")


def stored_part(batch: WriteBatch) -> WriteBatch:
    """The batch without its duplicates (which are not stored)."""
    if DUPLICATE not in batch.status:
        return batch
    keep = [i for i, s in enumerate(batch.status) if s != DUPLICATE]
    return WriteBatch(
        [batch.events[i] for i in keep],
        [batch.status[i] for i in keep],
        [batch.run[i] for i in keep],
        [batch.log_seq[i] for i in keep],
        batch.credits,
    )


def events_table(batch: WriteBatch) -> pa.Table:
    """The stored events of a batch (duplicates left out), with status, run and log number.

    Hot path (one call per group commit): each ``Event`` becomes a tuple in C
    (``msgspec.structs.astuple``; its fields start in ``EVENT_COLUMNS`` order) and ``zip``
    transposes the tuples into columns, so no Python code runs per (event, column).
    """
    events, status, run, log_seq, _ = stored_part(batch)
    columns = list(zip(*map(astuple, events))) if events else [()] * len(EVENT_COLUMNS)
    cols: dict[str, pa.Array] = {
        "log_seq": pa.array(log_seq, pa.int64()),
        "status": pa.array(status, _STR),
        "run": pa.array(run, pa.int32()),
    }
    for (_, col, typ), values in zip(EVENT_COLUMNS, columns):
        cols[col] = pa.array(values, typ)
    return pa.table(cols)


#: Credit field -> facts column, in ``Credit`` field order (``dims`` spread into ``FACT_DIMS``).
_FACT_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("t", _TS),
    ("content_id", _STR),
    ("session_id", _STR),
    ("load_id", _STR),
    ("player_loads", pa.uint8()),
    ("unique_views", pa.uint8()),
    ("views", pa.uint8()),
    ("watch_time", _F64),
    ("seg_start", _F64),
    ("seg_end", _F64),
)
#: Credit fields after ``dims`` -> facts column: the cohort (docs/metrics.md §5) and event counts.
_FACT_EXTRA: tuple[tuple[str, pa.DataType], ...] = (
    ("imp_t", _TS),
    ("cohort_wt", _F64),
    ("play", pa.uint8()),
    ("pause", pa.uint8()),
    ("seek", pa.uint8()),
    ("replay", pa.uint8()),
    ("player_init", pa.uint8()),
    ("startups", pa.uint8()),  # quality (docs/metrics.md §7)
    ("startup_bin", _STR),
    ("stalls", pa.uint8()),
    ("stall_ms", pa.uint32()),
    ("failures", pa.uint8()),
    ("exits", pa.int8()),
)
#: The facts columns in table order.
FACT_ORDER = [*(name for name, _ in _FACT_COLUMNS), *FACT_DIMS, *(name for name, _ in _FACT_EXTRA)]
#: The event-count columns of facts and of every rollup (``store.base.EVENT_COUNTS``).
FACT_COUNTS = tuple(name for name, _ in _FACT_EXTRA[2:7])
#: The quality sums of facts and of every rollup (``store.base.QUALITY_SUMS``); ``startup_bin`` is a key.
FACT_QUALITY = ("startups", "stalls", "stall_ms", "failures", "exits")


if Credit.__struct_fields__ != (
    "t",
    "content_id",
    "session_id",
    "load_id",
    "loads",
    "impressions",
    "views",
    "watch_time",
    "seg_start",
    "seg_end",
    "dims",
    *(name for name, _ in _FACT_EXTRA),
):
    raise RuntimeError("Credit fields and _FACT_COLUMNS disagree in order")


def facts_table(credits: Sequence[Credit]) -> pa.Table:
    """One row per credit; the load's dimensions spread into columns (transposed in C, as above)."""
    if not credits:
        return pa.table(
            {name: pa.array([], typ) for name, typ in _FACT_COLUMNS}
            | {d: pa.array([], _STR) for d in FACT_DIMS}
            | {name: pa.array([], typ) for name, typ in _FACT_EXTRA}
        )
    columns = list(zip(*map(astuple, credits)))
    n = len(_FACT_COLUMNS)
    cols: dict[str, pa.Array] = {name: pa.array(values, typ) for (name, typ), values in zip(_FACT_COLUMNS, columns)}
    for name, values in zip(FACT_DIMS, zip(*columns[n])):
        cols[name] = pa.array(values, _STR)
    for (name, typ), values in zip(_FACT_EXTRA, columns[n + 1 :]):
        cols[name] = pa.array(values, pa.int64()).cast(typ) if typ == _TS else pa.array(values, typ)
    return pa.table(cols)


def arrow_tables(batch: WriteBatch) -> tuple[pa.Table, pa.Table]:
    """The batch's events and facts tables (the direct way: Python objects, under the GIL)."""
    return events_table(batch), facts_table(batch.credits)


class JournalBatch(NamedTuple):
    """A stored batch as the journal keeps it: events and credits as JSON lines (``encode``)."""

    log_seq: list[int]
    status: list[str]
    run: list[int | None]
    events: bytes  # one JSON object per event (``Event``'s fields)
    facts: bytes  # one JSON object per credit (``Credit``'s fields)
    last_log_seq: int  # the highest of log_seq (the events are numbered in processing order)


_JSON = msgspec.json.Encoder()


def encode(batch: WriteBatch) -> JournalBatch:
    """A stored batch (no duplicates) as JSON lines: C code, about 1 µs per event and credit."""
    log_seq = cast("list[int]", batch.log_seq)  # a stored batch: every event numbered
    return JournalBatch(
        log_seq,
        list(batch.status),
        list(batch.run),
        _JSON.encode_lines(batch.events),
        _JSON.encode_lines(batch.credits),
        max(log_seq),
    )


_EVENT_JSON = pa_json.ParseOptions(
    explicit_schema=pa.schema([(attr, pa.int64() if typ == _TS else typ) for attr, _, typ in EVENT_COLUMNS]),
    unexpected_field_behavior="ignore",  # bot: the status says it
)
_FACT_JSON = pa_json.ParseOptions(
    explicit_schema=pa.schema(
        [(field, pa.int64() if typ == _TS else typ) for field, (_, typ) in zip(Credit.__struct_fields__, _FACT_COLUMNS)]
        + [("dims", pa.list_(_STR))]
        + [(name, pa.int64() if typ == _TS else typ) for name, typ in _FACT_EXTRA]
    )
)
_ONE_THREAD = pa_json.ReadOptions(use_threads=False)
#: JSON field -> column, where they differ.
_EVENT_RENAMES = {attr: col for attr, col, _ in EVENT_COLUMNS if attr != col}
_FACT_RENAMES = dict(zip(Credit.__struct_fields__, (name for name, _ in _FACT_COLUMNS)))
_FACT_RENAMES.update({name: name for name, _ in _FACT_EXTRA})


def _read_json(data: bytes, options: pa_json.ParseOptions) -> pa.Table:
    if not data:
        return options.explicit_schema.empty_table()
    # The parse runs without the GIL, on the calling thread alone: pyarrow's own threads would
    # take both cores for the length of a load, from under the event loop.
    return pa_json.read_json(io.BytesIO(data), read_options=_ONE_THREAD, parse_options=options)


_EVENT_TIMES = [attr for attr, _, typ in EVENT_COLUMNS if typ == _TS]


def _as_timestamps(table: pa.Table, names: Sequence[str]) -> pa.Table:
    for name in names:
        i = table.column_names.index(name)
        table = table.set_column(i, name, table.column(i).cast(_TS))
    return table


def journal_tables(parts: Sequence[JournalBatch]) -> tuple[pa.Table, pa.Table]:
    """The events and facts tables of journaled batches: equal to ``arrow_tables`` of the
    batches they were encoded from. Python touches only the three small per-event lists."""
    events = _read_json(b"".join(p.events for p in parts), _EVENT_JSON)
    events = _as_timestamps(events, _EVENT_TIMES)
    events = events.rename_columns([_EVENT_RENAMES.get(name, name) for name in events.column_names])
    head = [
        pa.array([x for p in parts for x in getattr(p, name)], typ)
        for name, typ in (("log_seq", pa.int64()), ("status", _STR), ("run", pa.int32()))
    ]
    events = pa.Table.from_arrays([*head, *events.columns], ["log_seq", "status", "run", *events.column_names])
    facts = _as_timestamps(_read_json(b"".join(p.facts for p in parts), _FACT_JSON), ["t", "imp_t"])
    for name, typ in _FACT_EXTRA[1:]:  # a journal written before these fields: zeros
        if name == "startup_bin":  # a key, null when absent
            continue
        i = facts.column_names.index(name)
        facts = facts.set_column(i, name, pc.fill_null(facts.column(i), pa.scalar(0, typ)))
    dims = facts.column("dims")
    facts = facts.drop_columns(["dims"])
    facts = facts.rename_columns([_FACT_RENAMES[name] for name in facts.column_names])
    for i, name in enumerate(FACT_DIMS):  # a journal written before ``city``: shorter lists, null there
        facts = facts.append_column(name, pc.list_flatten(pc.list_slice(dims, i, i + 1, return_fixed_size_list=True)))
    return events, facts.select(FACT_ORDER)


def event_from_row(row: Sequence[Any]) -> Event:
    """A row selected with ``EVENT_SELECT, status`` back into an ``Event`` (for replay)."""
    values = dict(zip((attr for attr, _, _ in EVENT_COLUMNS), row))
    return Event(**values, bot=row[len(EVENT_COLUMNS)] == "bot")
