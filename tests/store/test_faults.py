"""Faults the embedded store must outlive: rows DuckDB refuses, a full disk, a restart.

Issue 13, rows 1 and 6: a journal batch DuckDB cannot take (a time in nanoseconds) used to
stop loading for good and keep ``serve`` from starting; a full disk used to leave reads
failing until a restart. Here the refused rows go to the quarantine file and everything
else loads; the journal refuses writes (503) while free space is under the reserve; a real
DuckDB write fault (the file size limit, RLIMIT_FSIZE, makes DuckDB's WAL write fail as a
full disk does) is retried until it passes, with every acknowledged event loaded once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import msgspec
import pytest
from msgspec.structs import replace

from tests.conftest import DESKTOP_UA, Server
from watchdepth.errors import StoreError, Unavailable
from watchdepth.store.base import WriteBatch
from watchdepth.store.duckdb import DuckDBStore
from watchdepth.store.duckdb import journal as journal_module
from watchdepth.store.duckdb import loader as loader_module
from watchdepth.store.duckdb.journal import Journal, Quarantine, quarantine_record
from watchdepth.store.duckdb.store import _set_memory_limit
from watchdepth.store.rows import encode

from .test_journal import batch, stored
from .test_store import CREDITS, EVENTS, content

NANOS = 1_733_322_000_000_000_000  # 2024-12-04T14:20:00Z in nanoseconds: a ts an import once took


def poisoned(first: int, good: int = 2) -> WriteBatch:
    """``good`` stored events and credits, then one event and one credit timed in nanoseconds."""
    ok = batch(first, good)
    bad_event = replace(EVENTS[1][0], t=NANOS, ts=NANOS)
    bad_credit = replace(CREDITS[1], t=NANOS, session_id="bad")
    return WriteBatch(
        [*ok.events, bad_event],
        [*ok.status, "applied"],
        [*ok.run, 1],
        [*ok.log_seq, first + good],
        [*ok.credits, bad_credit],
    )


def quarantined(db: Path) -> list[dict[str, Any]]:
    path = Path(str(db) + ".quarantine.jsonl")
    return [msgspec.json.decode(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def journal_with_poison(db: Path) -> None:
    """What an import of a nanosecond ts left in the journal of a crashed (or stopped) server:
    a good batch, a batch all of whose rows DuckDB refuses, a good batch."""
    j = Journal(Path(str(db) + ".journal"))
    bad = WriteBatch([replace(EVENTS[1][0], t=NANOS, ts=NANOS)], ["applied"], [1], [4], [replace(CREDITS[1], t=NANOS)])
    for b in (batch(1), bad, batch(5)):
        j.append(encode(b))
    j.close()


def test_a_store_opens_on_a_poisoned_journal_and_quarantines_only_the_refused_batch(tmp_path: Path) -> None:
    db = tmp_path / "wd.duckdb"
    journal_with_poison(db)
    store = DuckDBStore(db)  # before: StoreError "Could not convert TimestampTZ to Microsecond"
    try:
        assert stored(store) == (6, 6)  # batches 1 and 5, each 3 events and 3 views
        assert store.journal_stats().quarantined == 1  # type: ignore[union-attr]
        assert store.next_log_seq() == 8
    finally:
        store.close()
    (record,) = quarantined(db)
    assert record["whole"] is True and record["last_log_seq"] == 4
    assert "Could not convert TimestampTZ" in record["reason"]
    assert [e["event"]["t"] for e in record["events"]] == [NANOS] and record["events"][0]["log_seq"] == 4
    assert [f["t"] for f in record["facts"]] == [NANOS]
    assert oct(Path(str(db) + ".quarantine.jsonl").stat().st_mode & 0o777) == "0o600"
    store = DuckDBStore(db)  # a clean close emptied the journal: nothing comes back, nothing twice
    try:
        assert stored(store) == (6, 6)
    finally:
        store.close()
    assert len(quarantined(db)) == 1


def test_only_the_refused_rows_go_and_a_reader_does_not_wait_for_them(tmp_path: Path) -> None:
    """A group commit holds many clients' events: one bad value takes only its own row."""
    db = tmp_path / "wd.duckdb"
    store = DuckDBStore(db)
    try:
        content(store)
        store.write_batch(batch(1))
        store.write_batch(poisoned(4))  # log 4, 5 good; 6 refused; its credits: 2 good, 1 refused
        store.write_batch(batch(7))
        started = time.monotonic()
        assert stored(store) == (8, 8)  # before: this read waited 60 s, then failed
        assert time.monotonic() - started < loader_module.ERROR_WAIT_SECONDS
        assert sorted(r[0] for r in store._run("SELECT log_seq FROM events")) == [1, 2, 3, 4, 5, 7, 8, 9]
        store.write_batch(batch(10))  # and loading goes on
        assert stored(store) == (11, 11)
        assert store.journal_stats().error is None  # type: ignore[union-attr]
    finally:
        store.close()
    (record,) = quarantined(db)
    assert (record["whole"], record["event_rows"], record["fact_rows"]) == (False, [2], [2])
    assert record["events"][0]["log_seq"] == 6 and record["facts"][0]["session_id"] == "bad"


def test_a_crash_after_quarantining_loads_the_rest_once_and_quarantines_nothing_twice(tmp_path: Path) -> None:
    db = tmp_path / "wd.duckdb"
    journal = Path(str(db) + ".journal")
    j = Journal(journal)
    for b in (batch(1), poisoned(4), batch(7)):
        j.append(encode(b))
    j.close()
    # the process wrote the quarantine record and died before loading what remained
    encoded = encode(poisoned(4))
    Quarantine(Path(str(db) + ".quarantine.jsonl")).add(quarantine_record(encoded, [2], [2], "refused", False))
    keep = tmp_path / "journal-copy"
    shutil.copytree(journal, keep)
    store = DuckDBStore(db)
    try:
        assert stored(store) == (8, 8)
    finally:
        store.close()
    # ... and again with the journal as a crash after that load (before it was emptied) leaves it
    shutil.rmtree(journal)
    shutil.copytree(keep, journal)
    store = DuckDBStore(db)
    try:
        assert stored(store) == (8, 8)
        assert store.journal_stats().quarantined == 0  # type: ignore[union-attr]
    finally:
        store.close()
    assert len(quarantined(db)) == 1


def test_a_store_opens_while_duckdb_fails_every_write_and_loads_once_it_takes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart on a full disk: before, opening loaded the journal itself and failed."""
    db = tmp_path / "wd.duckdb"
    j = Journal(Path(str(db) + ".journal"))
    for b in (batch(1), batch(4)):
        j.append(encode(b))
    j.close()
    monkeypatch.setattr(loader_module, "RETRY_SECONDS", 0.05)
    monkeypatch.setattr(loader_module, "ERROR_WAIT_SECONDS", 0.3)
    real = DuckDBStore._load_tables
    full = {"on": True}

    def load(self: DuckDBStore, *tables: Any) -> None:
        if full["on"]:
            raise StoreError("write failed: IO Error: No space left on device")
        real(self, *tables)

    monkeypatch.setattr(DuckDBStore, "_load_tables", load)
    store = DuckDBStore(db)
    try:
        with pytest.raises(Unavailable):  # a read is a 503 while loads fail, after ERROR_WAIT_SECONDS
            store.counters()
        assert store.journal_stats().pending_events == 6  # type: ignore[union-attr]
        full["on"] = False  # space is back: no restart
        assert stored(store) == (6, 6)
        assert store.next_log_seq() == 7
    finally:
        store.close()
    store = DuckDBStore(db)
    try:
        assert stored(store) == (6, 6)
    finally:
        store.close()


def test_the_journal_refuses_writes_under_the_disk_reserve_and_takes_them_again_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, the real app on a real DuckDB file; free space and a failing fdatasync are
    injected. Refused requests get 503 + Retry-After and store nothing; /healthz says
    ``disk reserve``; once space is back, writes are taken again; every 202 is counted once."""
    from watchdepth import config
    from watchdepth.serve import services
    from watchdepth.serve.app import create_app

    free = {"bytes": 10 << 30}
    monkeypatch.setattr(journal_module, "free_bytes", lambda directory: free["bytes"])
    svc = services.build(config.load(data_dir=tmp_path, disk_reserve_mb=64))
    svc.catalog.create("projects", {"id": "p1", "name": "P"})
    svc.catalog.create("videos", {"id": "v1", "project_id": "p1", "title": "V", "duration": 100})
    real_fdatasync = os.fdatasync
    fail_sync = {"on": False}

    def fdatasync(fd: int) -> None:
        if fail_sync["on"]:
            fail_sync["on"] = False
            raise OSError(28, "No space left on device")
        real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)

    def body(n: int) -> bytes:
        return msgspec.json.encode(
            [{"type": "load", "video_id": "v1", "session_id": f"s{n}", "load_id": f"l{n}", "seq": 0}]
        )

    async def until(client: httpx.AsyncClient, n: int, status: int) -> httpx.Response:
        for _ in range(100):  # the guard reads free space every 0.5 s
            r = await client.post("/collect", content=body(n), headers={"user-agent": DESKTOP_UA})
            assert r.status_code in (202, 503), r.text
            if r.status_code == 202:
                accepted.append(n)
            if r.status_code == status:
                return r
            n += 1000
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {status}")

    accepted: list[int] = []

    async def main() -> None:
        await svc.ingest.start()
        try:
            transport = httpx.ASGITransport(app=create_app(svc), client=("10.0.0.1", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://wd") as client:
                await until(client, 1, 202)
                free["bytes"] = 10 << 20  # 10 MB free: under the 64 MB reserve
                refused = await until(client, 2, 503)
                assert refused.headers["retry-after"] == "5"
                assert refused.json()["error"]["code"] == 503503
                health = await client.get("/healthz")
                assert (health.status_code, health.json()) == (503, {"status": "failing", "reason": "disk reserve"})
                assert "watchdepth_disk_reserve_low 1\n" in (await client.get("/metrics")).text
                free["bytes"] = 10 << 30  # space is back
                await until(client, 3, 202)
                fail_sync["on"] = True  # the disk fills between two readings: the write itself fails
                r = await client.post("/collect", content=body(4), headers={"user-agent": DESKTOP_UA})
                assert r.status_code == 503 and r.headers["retry-after"] == "5"
                await until(client, 5, 202)
                assert (await client.get("/healthz")).json() == {"status": "ok"}
        finally:
            await svc.ingest.stop()

    try:
        asyncio.run(main())
        assert svc.store.counters() == {"applied": len(accepted)}
        got = {r[0] for r in svc.store._run("SELECT session_id FROM events")}  # type: ignore[attr-defined]
        assert got == {f"s{n}" for n in accepted}
    finally:
        svc.close()


CHILD = textwrap.dedent("""
    import resource, signal, sys, time
    from pathlib import Path
    from watchdepth.errors import StoreError, Unavailable
    from watchdepth.store.duckdb import loader
    from watchdepth.store.duckdb import DuckDBStore
    from tests.store.test_journal import batch, stored
    from tests.store.test_store import content
    loader.RETRY_SECONDS = 0.05
    loader.ERROR_WAIT_SECONDS = 1.0
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
    store = DuckDBStore(sys.argv[1])
    content(store)
    store.write_batch(batch(1))
    store.wait_loaded()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # DuckDB's WAL may not grow any more; the journal's segment (a few kB) may
    resource.setrlimit(resource.RLIMIT_FSIZE, (Path(sys.argv[1] + ".wal").stat().st_size + 200, hard))
    acked = 3
    for i in range(1, 6):
        store.write_batch(batch(1 + 3 * i))
        acked += 3
    while store.journal_stats().error is None:
        time.sleep(0.01)
    try:
        store.wait_loaded()
        raise SystemExit("a read waited for the failing loader and succeeded")
    except Unavailable:
        pass  # a 503, after loader.ERROR_WAIT_SECONDS: not a hang, not a 500
    failing = store.journal_stats()
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space is back
    print(acked, failing.pending_events, stored(store), store.journal_stats().error, flush=True)
    store.close()
""")


def test_a_failing_duckdb_write_is_retried_until_it_passes_with_every_event_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "wd.duckdb"
    root = Path(__file__).parents[2]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(db)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{root / 'src'}"},
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Could not write file" in out.stderr  # DuckDB's own write failed, for real
    assert out.stdout.split() == ["18", "15", "(18,", "18)", "None"]  # 15 waited, then all 18 loaded in process
    store = DuckDBStore(db)
    try:
        assert stored(store) == (18, 18)  # and not twice after a restart
    finally:
        store.close()


def test_serve_starts_on_a_poisoned_journal_and_reads_answer(tmp_path: Path) -> None:
    """Issue 13 row 1: ``serve`` would not start again ("Could not convert TimestampTZ to Microsecond")."""
    old = os.umask(0o022)
    try:
        data = tmp_path / "data"
        data.mkdir()
        journal_with_poison(data / "watchdepth.duckdb")
        server = Server(data)
        server.start()
    finally:
        os.umask(old)
    try:
        metrics = httpx.get(server.url + "/metrics").text
        assert "watchdepth_quarantined_batches_total 1\n" in metrics
        started = time.monotonic()
        r = server.api("GET", "/v1/analytics/overview", params={"period": "all_time"})
        assert r.status_code == 200 and time.monotonic() - started < 5
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
        server.ok("POST", "/v1/projects", json={"id": "p9", "name": "P"})
        server.ok("POST", "/v1/videos", json={"id": "v9", "project_id": "p9", "title": "V", "duration": 60})
        assert (
            server.collect(
                [{"type": "load", "video_id": "v9", "session_id": "s", "load_id": "l", "seq": 0}]
            ).status_code
            == 202
        )
        # while it runs: the database, its WAL, the journal, the quarantine (issue 13 row 10)
        assert (data / "watchdepth.duckdb.wal").exists()
        assert oct(data.stat().st_mode & 0o777) == "0o700"
        files = [p for p in data.rglob("*") if p.is_file() and p.name != "server.log"]  # the test's own log
        assert {p.name for p in files} >= {
            "watchdepth.duckdb",
            "watchdepth.duckdb.wal",
            "watchdepth.duckdb.quarantine.jsonl",
        }
        assert any(p.suffix == ".wal" and p.parent.name == "watchdepth.duckdb.journal" for p in files)
        for path in files:
            assert oct(path.stat().st_mode & 0o777) == "0o600", path
    finally:
        server.stop()
        server.client.close()


def test_unavailable_is_a_503_with_retry_after() -> None:
    exc = Unavailable("later", retry_after=7)
    assert (exc.status, exc.code, exc.headers) == (503, 503503, {"Retry-After": "7"})


def test_bisection_finds_each_refused_row_and_stays_within_its_budget() -> None:
    from watchdepth.store.duckdb.loader import _refused_rows

    bad = {3, 4, 977}
    probes: list[int] = []

    def refused(part: list[int]) -> bool:
        probes.append(len(part))
        return bool(bad & set(part))

    assert _refused_rows(list(range(1000)), refused) == [3, 4, 977]
    assert len(probes) <= 3 * 2 * 10
    probes.clear()
    everything = _refused_rows(list(range(1000)), lambda part: probes.append(1) or True, budget=20)
    assert everything == list(range(1000)) and len(probes) <= 40  # every row bad: a bounded cost, all quarantined


def test_serve_under_the_disk_reserve_answers_503_with_retry_after_on_collect_and_import(tmp_path: Path) -> None:
    """Through the real server (/collect's fast path and the import route): a reserve larger
    than any disk, so every write is refused, and nothing is stored."""
    server = Server(tmp_path, env={"WATCHDEPTH_DISK_RESERVE_MB": str(1 << 40)})
    server.ready = (503,)  # /healthz says "disk reserve" from the start
    server.start()
    try:
        server.ok("POST", "/v1/projects", json={"id": "p1", "name": "P"})
        server.ok("POST", "/v1/videos", json={"id": "v1", "project_id": "p1", "title": "V", "duration": 60})
        event = {"type": "load", "video_id": "v1", "session_id": "s", "load_id": "l", "seq": 0}
        for r in (server.collect([event]), server.import_events([{**event, "ts": 1_767_225_600_000}])):
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "5" and r.json()["error"]["code"] == 503503
        health = httpx.get(server.url + "/healthz")
        assert (health.status_code, health.json()) == (503, {"status": "failing", "reason": "disk reserve"})
        total = server.ok("GET", "/v1/analytics/overview", params={"period": "all_time"})["data"]["total"]
        assert total["player_loads"] == 0
    finally:
        server.stop()
        server.client.close()


def test_duckdb_memory_is_bounded_by_the_setting_and_a_bad_value_is_a_clear_error(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "a.duckdb", memory_limit="256MB")
    try:
        limit = store._run("SELECT current_setting('memory_limit')")[0][0]
        assert limit.endswith("MiB") and 240 <= float(limit.split()[0]) <= 260, limit  # 256 MB = 244.1 MiB
    finally:
        store.close()
    with pytest.raises(StoreError, match="WATCHDEPTH_DUCKDB_MEMORY_LIMIT='lots' is not a size"):
        DuckDBStore(tmp_path / "b.duckdb", memory_limit="lots")
    with pytest.raises(StoreError, match="WATCHDEPTH_DUCKDB_MEMORY_LIMIT='1KB' is under the 32 MiB"):
        DuckDBStore(tmp_path / "b.duckdb", memory_limit="1KB")  # every query would fail
    DuckDBStore(tmp_path / "b.duckdb").close()  # the file was let go: it opens again


def test_duckdb_memory_defaults_to_a_service_size_not_most_of_the_machine(tmp_path: Path) -> None:
    """Unset, the limit is 1 GiB (DuckDB's own, 80 % of RAM, only where that is less): DuckDB
    keeps what each checkpoint writes until its limit, so its default lets a server grow to
    most of the machine."""
    with duckdb.connect() as con:  # DuckDB's own default on this machine
        duckdb_default = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]
    store = DuckDBStore(tmp_path / "a.duckdb")
    try:
        limit = store._run("SELECT current_setting('memory_limit')")[0][0]
    finally:
        store.close()
    assert limit == ("1.0 GiB" if duckdb_default.endswith(("GiB", "TiB")) else duckdb_default), duckdb_default


@pytest.mark.parametrize(("default", "expected"), [("4GB", "1.0 GiB"), ("512MB", "488.2 MiB")])
def test_the_service_memory_limit_lowers_duckdbs_default_and_never_raises_it(default: str, expected: str) -> None:
    """A machine (or container) where DuckDB's own default is already under 1 GiB keeps it."""
    with duckdb.connect() as con:
        con.execute("SET memory_limit = ?", [default])  # DuckDB's default on such a machine
        _set_memory_limit(con, "")
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == expected  # type: ignore[index]
