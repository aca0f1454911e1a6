"""The embedded store's journal: acknowledged batches survive a crash, exactly once.

A batch is durable when ``write_batch`` returns (it is in the fsynced journal); DuckDB is
loaded behind it. These tests crash a real process at the two dangerous moments (before
the load, and after the load but before the journal is emptied), damage journal files the
way a crash or a bad disk does, and make the journal's disk write fail.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pytest
from msgspec.structs import replace

from watchdepth.errors import StoreError, Unavailable
from watchdepth.store.base import WriteBatch
from watchdepth.store.duckdb import DuckDBStore
from watchdepth.store.duckdb import loader as loader_module
from watchdepth.store.duckdb.journal import Journal
from watchdepth.store.rows import arrow_tables, encode, journal_tables

from .test_store import CREDITS, EVENTS, T0, content


def batch(first: int, n: int = 3) -> WriteBatch:
    """``n`` stored events (log numbers first, first + 1, ...) and one credit per event."""
    evs = [EVENTS[1][0] for _ in range(n)]
    seqs = list(range(first, first + n))
    credits = [replace(CREDITS[1], session_id=f"s{s}") for s in seqs]
    return WriteBatch(evs, ["applied"] * n, [1] * n, seqs, credits)


def two_batch_segment(directory: Path, *, damaged: bool = False) -> Path:
    """A journal of batch(1) and batch(4), in one segment; ``damaged``: a byte of the first
    record's body flipped, as a bad disk would."""
    j = Journal(directory)
    j.append(encode(batch(1)))
    j.append(encode(batch(4)))
    j.close()
    (seg,) = j.segments()
    if damaged:
        data = bytearray(seg.read_bytes())
        data[12] ^= 0xFF  # past the 8-byte header: inside the first record's body
        seg.write_bytes(bytes(data))
    return seg


def stored(store: DuckDBStore) -> tuple[int, int]:
    """(events, views) in the store."""
    events = sum(store.counters().values())
    views = store._run("SELECT coalesce(sum(views), 0) FROM facts")[0][0]
    return events, int(views)


def test_a_batch_comes_back_from_the_journal_as_it_went_in(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j")
    evs, status, run, seqs = (list(x) for x in zip(*EVENTS[:6]))
    first = WriteBatch(evs, status, run, seqs, CREDITS[:3])
    j.append(encode(first))
    j.append(encode(batch(20)))
    j.close()
    got = list(Journal(tmp_path / "j").replay())
    assert got == [encode(first), encode(batch(20))]
    # ... and becomes the rows the batches themselves make
    for table, want in zip(journal_tables(got), zip(arrow_tables(first), arrow_tables(batch(20)))):
        assert table.equals(pa.concat_tables(want))


def test_a_record_cut_short_at_the_end_is_a_write_never_acknowledged(tmp_path: Path) -> None:
    seg = two_batch_segment(tmp_path / "j")
    data = seg.read_bytes()
    seg.write_bytes(data[:-5])  # the crash hit mid-write, before the fsync
    assert list(Journal(tmp_path / "j").replay()) == [encode(batch(1))]
    seg.write_bytes(data + b"\x10\x00\x00\x00\x01\x02")  # a header and a torn body
    assert list(Journal(tmp_path / "j").replay()) == [encode(batch(1)), encode(batch(4))]


def test_damage_before_the_end_is_refused_not_skipped(tmp_path: Path) -> None:
    two_batch_segment(tmp_path / "j", damaged=True)
    with pytest.raises(StoreError, match="damaged at byte 0"):
        list(Journal(tmp_path / "j").replay())


def test_an_intact_record_of_another_shape_is_refused_not_guessed(tmp_path: Path) -> None:
    """E.g. a journal an older version left after a crash: its checksum holds, its batch does not."""
    seg = two_batch_segment(tmp_path / "j")
    payload = msgspec.msgpack.encode([[["load", "v1"]], ["applied"], [None], [7], []])  # session 3's layout
    seg.write_bytes(struct.pack("<II", len(payload), zlib.crc32(payload)) + payload + seg.read_bytes())
    with pytest.raises(StoreError, match=f"journal segment {seg} holds an unreadable batch at byte 0"):
        list(Journal(tmp_path / "j").replay())


def test_a_store_with_a_damaged_journal_refuses_to_open_and_says_where(tmp_path: Path) -> None:
    seg = two_batch_segment(tmp_path / "wd.duckdb.journal", damaged=True)
    with pytest.raises(StoreError, match=f"journal segment {seg} is damaged at byte 0"):
        DuckDBStore(tmp_path / "wd.duckdb")
    seg.rename(seg.with_suffix(".damaged"))  # what an operator would do after reading the message
    store = DuckDBStore(tmp_path / "wd.duckdb")
    try:
        assert stored(store) == (0, 0)
    finally:
        store.close()


def test_a_failed_journal_write_is_cut_off_and_never_replayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    j = Journal(tmp_path / "j")
    j.append(encode(batch(1)))
    real = os.fdatasync
    calls = {"n": 0}

    def failing_once(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(28, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fdatasync", failing_once)
    with pytest.raises(Unavailable, match="disk is full") as refused:  # a 503 with Retry-After
        j.append(encode(batch(4)))
    assert refused.value.headers == {"Retry-After": "5"}
    j.append(encode(batch(4)))  # the ingest loop retries with the same numbers
    j.close()
    assert list(Journal(tmp_path / "j").replay()) == [encode(batch(1)), encode(batch(4))]


def test_a_read_sees_every_write_before_it_without_waiting_for_the_linger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader_module, "LOAD_LINGER_SECONDS", 60.0)
    store = DuckDBStore(tmp_path / "wd.duckdb")
    try:
        content(store)
        store.write_batch(batch(1))
        started = time.monotonic()
        assert stored(store) == (3, 3)
        assert time.monotonic() - started < 10  # a reader makes the loader go at once
        assert store.next_log_seq() == 4
    finally:
        store.close()
    assert not list((tmp_path / "wd.duckdb.journal").glob("*.wal"))  # a clean close empties it


def test_a_failing_load_is_retried_and_readers_wait_for_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader_module, "RETRY_SECONDS", 0.05)
    real = DuckDBStore._load_tables
    failures = {"left": 3}

    def flaky(self: DuckDBStore, *tables: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise StoreError("write failed: disk full")
        real(self, *tables)

    store = DuckDBStore(tmp_path / "wd.duckdb")
    try:
        content(store)
        monkeypatch.setattr(DuckDBStore, "_load_tables", flaky)
        store.write_batch(batch(1))  # acknowledged: the journal has it
        assert stored(store) == (3, 3)
        assert failures["left"] == 0
        stats = store.journal_stats()
        assert stats is not None
        assert (stats.pending_events, stats.loads, stats.error) == (0, 1, None)  # one load, after 3 refusals
        assert stats.load_seconds > 0
    finally:
        store.close()


def test_a_backlog_past_the_limit_is_refused_not_waited_on_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While DuckDB refuses every load, acknowledging goes on until MAX_PENDING_EVENTS; past it a
    write waits for the loader (ERROR_WAIT_SECONDS, as loads fail), then is refused (the request
    gets a 503 with Retry-After), unjournaled."""
    monkeypatch.setattr(loader_module, "RETRY_SECONDS", 0.05)
    monkeypatch.setattr(loader_module, "MAX_PENDING_EVENTS", 3)
    monkeypatch.setattr(loader_module, "ERROR_WAIT_SECONDS", 0.5)
    monkeypatch.setattr(loader_module, "LOAD_LINGER_SECONDS", 0.0)

    def refuse(self: DuckDBStore, *tables: Any) -> None:
        raise StoreError("write failed: disk full")

    store = DuckDBStore(tmp_path / "wd.duckdb")
    try:
        monkeypatch.setattr(DuckDBStore, "_load_tables", refuse)
        store.write_batch(batch(1))  # 3 pending: at the limit
        with pytest.raises(Unavailable, match="behind with storing events"):
            store.write_batch(batch(4))
        assert store.journal_stats().pending_events == 3  # type: ignore[union-attr]
        monkeypatch.undo()
    finally:
        store.close()
    store = DuckDBStore(tmp_path / "wd.duckdb")
    try:
        assert stored(store) == (3, 3)  # the acknowledged batch, from the journal; not the refused one
    finally:
        store.close()


CHILD = textwrap.dedent("""
    import os, sys
    from watchdepth.store.duckdb import loader
    from watchdepth.store.duckdb import DuckDBStore
    from tests.store.test_journal import batch
    from tests.store.test_store import content
    loader.LOAD_LINGER_SECONDS = 3600.0  # the loader waits for a reader that never comes
    loader.LOAD_MIN_EVENTS = 10**9
    store = DuckDBStore(sys.argv[1])
    content(store)
    store.wait_loaded()
    for i in range(10):
        store.write_batch(batch(1 + 3 * i))
    if sys.argv[2] == "after-load":
        store.wait_loaded()  # in DuckDB, and still in the journal
    print("acknowledged", flush=True)
    os.kill(os.getpid(), 9)
""")


@pytest.mark.parametrize("when", ["before-load", "after-load"])
def test_a_killed_process_loses_no_acknowledged_batch_and_counts_none_twice(tmp_path: Path, when: str) -> None:
    db = tmp_path / "wd.duckdb"
    root = Path(__file__).parents[2]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), when],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{root / 'src'}"},
        check=False,
    )
    assert out.returncode == -9, out.stderr
    assert "acknowledged" in out.stdout
    assert list((tmp_path / "wd.duckdb.journal").glob("*.wal"))  # the crash left it
    store = DuckDBStore(db)
    try:
        assert stored(store) == (30, 30)
        assert store.next_log_seq() == 31
        assert store.aggregate(_views_query()).rows[0][2] == 30
    finally:
        store.close()
    store = DuckDBStore(db)  # and once more: replay happened once
    try:
        assert stored(store) == (30, 30)
    finally:
        store.close()


def _views_query() -> Any:
    from watchdepth.store.base import Aggregate

    return Aggregate(T0, T0 + 86_400_000)


def test_a_failing_loader_shows_on_healthz_and_metrics_and_clears_when_it_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process (the real app on a real DuckDB file): events keep being acknowledged (the
    journal has them) while DuckDB refuses them; /healthz says so with 503 (the reason's class
    only, the database's message to a token holder), /metrics counts the backlog; once DuckDB takes them, both clear and the events are all there."""
    import asyncio

    import httpx

    from tests.conftest import DESKTOP_UA
    from watchdepth import config
    from watchdepth.serve import services
    from watchdepth.serve.app import create_app

    monkeypatch.setattr(loader_module, "RETRY_SECONDS", 0.05)
    svc = services.build(config.load(data_dir=tmp_path))
    svc.catalog.create("projects", {"id": "p1", "name": "P"})
    svc.catalog.create("videos", {"id": "v1", "project_id": "p1", "title": "V", "duration": 100})
    secret, _ = svc.tokens.create("ops", read_only=True)
    real = DuckDBStore._load_tables
    broken = {"on": True}

    def load(self: DuckDBStore, *tables: Any) -> None:
        if broken["on"]:
            raise StoreError("write failed: IO Error: No space left on device")
        real(self, *tables)

    monkeypatch.setattr(DuckDBStore, "_load_tables", load)
    body = (
        b'[{"type":"load","video_id":"v1","session_id":"s","load_id":"l","seq":0},'
        b'{"type":"play","video_id":"v1","session_id":"s","load_id":"l","seq":1,"position":0}]'
    )

    async def main() -> None:
        await svc.ingest.start()
        try:
            transport = httpx.ASGITransport(app=create_app(svc), client=("10.0.0.1", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://wd") as client:
                r = await client.post("/collect", content=body, headers={"user-agent": DESKTOP_UA})
                assert r.status_code == 202 and r.json() == {"accepted": 2, "duplicates": 0}
                for _ in range(200):  # the loader lingers, then fails
                    health = await client.get("/healthz")
                    if health.status_code == 503:
                        break
                    await asyncio.sleep(0.05)
                assert health.status_code == 503
                assert health.json() == {"status": "failing", "reason": "store"}  # no engine message, no path
                detailed = (await client.get("/healthz", headers={"authorization": f"Bearer {secret}"})).json()
                assert "No space left on device" in detailed["detail"]["error"]
                assert detailed["detail"]["pending_events"] == 2
                wrong = await client.get("/healthz", headers={"authorization": "Bearer wd_not_a_token"})
                assert wrong.json() == {"status": "failing", "reason": "store"}
                metrics = (await client.get("/metrics")).text
                assert "watchdepth_journal_pending_events 2\n" in metrics
                assert "watchdepth_journal_load_failing 1\n" in metrics
                broken["on"] = False
                for _ in range(200):
                    health = await client.get("/healthz")
                    if health.status_code == 200:
                        break
                    await asyncio.sleep(0.05)
                assert health.json() == {"status": "ok"}
                metrics = (await client.get("/metrics")).text
                assert "watchdepth_journal_pending_events 0\n" in metrics
                assert "watchdepth_journal_load_failing 0\n" in metrics
        finally:
            await svc.ingest.stop()

    try:
        asyncio.run(main())
        assert sum(svc.store.counters().values()) == 2
    finally:
        svc.close()
