"""ClickHouse has no multi-table transaction: a batch whose insert fails is taken back whole,
and a batch whose writer is killed between two inserts is not counted as stored (no commit
marker): the retry is credited once and ``recover`` removes the dead batch's rows."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.store.test_store import CREDITS, END, EVENTS, T0, D, H, S, agg
from watchdepth.errors import StoreError
from watchdepth.store.base import WriteBatch

pytestmark = pytest.mark.clickhouse


@pytest.mark.parametrize("store", [pytest.param("clickhouse")], indirect=True)
@pytest.mark.parametrize("failing", ["facts", "agg_day"])
def test_a_failed_batch_leaves_nothing_behind(store: Any, failing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    evs, status, run, seq = (list(x) for x in zip(*EVENTS[:6]))
    store.write_batch(WriteBatch(evs, status, run, seq, CREDITS[:3]))  # kept: c1..c3
    real = store.insert_arrow

    def insert(table: str, data: Any) -> None:
        if table == failing:
            real(table, data.slice(0, 1))  # a part of it went in, then the engine failed
            raise StoreError(f"insert into {table} failed: simulated")
        real(table, data)

    monkeypatch.setattr(store, "insert_arrow", insert)
    evs, status, run, seq = (list(x) for x in zip(*EVENTS[6:]))
    with pytest.raises(StoreError):
        store.write_batch(WriteBatch(evs, status, run, seq, CREDITS[3:]))
    monkeypatch.setattr(store, "insert_arrow", real)
    # only the first batch: c1 + c2 + c3 = loads 2, impressions 2, views 1, 14 s; its 6 events
    assert agg(store) == ([(2, 2, 1, 14.0, 0.0)], 1)
    assert agg(store, dims=("country",)) == ([("DE", 1, 1, 1, 10.0, 0.0), ("US", 1, 1, 0, 4.0, 0.0)], 2)
    assert agg(store, start_ms=T0 + 1, end_ms=END)[0] == [(2, 2, 1, 14.0, 0.0)]  # facts agree with the rollups
    assert store.counters() == {"applied": 6}
    assert store.watched_sets("v2", T0, END) == []


@pytest.mark.parametrize("store", [pytest.param("clickhouse")], indirect=True)
def test_an_unmarked_batch_is_skipped_then_taken_back_once_old(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from watchdepth.store.clickhouse import store as clickhouse

    evs, status, run, seq = (list(x) for x in zip(*EVENTS[:6]))
    store.write_batch(WriteBatch(evs, status, run, seq, CREDITS[:3]))  # committed: c1..c3, sessions s1, s2
    real = store.insert_arrow

    def insert(table: str, data: Any) -> None:
        if table == "batches":  # the process stops right before its commit marker (no clean-up runs)
            raise KeyboardInterrupt
        real(table, data)

    monkeypatch.setattr(store, "insert_arrow", insert)
    evs, status, run, seq = (list(x) for x in zip(*EVENTS[6:]))
    with pytest.raises(KeyboardInterrupt):
        store.write_batch(WriteBatch(evs, status, run, seq, CREDITS[3:]))  # c4, c5; log rows of s1, s3
    monkeypatch.setattr(store, "insert_arrow", real)
    # rebuilding s1 sees its three committed events only (log_seq 1, 2, 3), not the dead batch's play of v2
    assert [(e.session_id, e.seq) for e in store.session_log(["s1", "s3"])] == [("s1", 1), ("s1", 2), ("s1", 0)]
    assert store.loads_stored(["l1", "l3", "l9"]) == {"l1"}
    assert agg(store)[0] == [(3, 3, 2, 22.0, 0.0)]  # aggregates still count it until it is taken back
    now = time.time()
    assert store.recover(now=now + clickhouse.RECOVER_AFTER_S - 5) == []  # young: its writer may be alive
    assert store.recover(now=now + 3 * clickhouse.RECOVER_WINDOW_S, window_s=clickhouse.RECOVER_WINDOW_S) == []
    assert len(store.recover(now=now + clickhouse.RECOVER_AFTER_S + 5)) == 1
    assert agg(store)[0] == [(2, 2, 1, 14.0, 0.0)]  # c1 + c2 + c3, as in the test above
    assert agg(store, dims=("country",))[0] == [("DE", 1, 1, 1, 10.0, 0.0), ("US", 1, 1, 0, 4.0, 0.0)]
    assert agg(store, start_ms=T0 + 1, end_ms=END)[0] == [(2, 2, 1, 14.0, 0.0)]
    assert store.counters() == {"applied": 6}
    assert store.recover(now=now + clickhouse.RECOVER_AFTER_S + 5) == []  # nothing left to do


# -- a writer killed (SIGKILL) between two inserts ---------------------------------------------
#
# chDB hosts one engine per process, so the writer and the store that opens the directory
# afterwards are child processes (``python -m tests.store.test_clickhouse_writes``); the test
# process never opens that directory. The writer goes through the real ``Ingest`` (sessionizer,
# group commit) and announces on stdout when a chosen insert of its second batch has landed;
# the test kills it there with SIGKILL.

T = T0 + H  # 2026-01-05T01:00:00Z


def _ev(type_: str, session: str, load: str, seq: int, at_s: int, **kw: Any) -> Any:
    from watchdepth.collect.event import Event

    return Event(
        type=type_,
        content_id="v1",
        kind="video",
        project_id="p1",
        session_id=session,
        load_id=load,
        seq=seq,
        t=T + at_s * S,
        received_at=T + at_s * S,
        **kw,
    )


#: acknowledged: session S1 opens load L1 and watches [0, 6] (one load, impression, view, 6 s)
BATCH_A = [
    _ev("load", "S1", "L1", 0, 0),
    _ev("play", "S1", "L1", 1, 1, position=0.0),
    _ev("progress", "S1", "L1", 2, 7, position=6.0, from_=0.0),
]
#: the batch being written when the writer dies, then retried by the trackers: S1 goes on to
#: 12 s (+6 s watch time, no second view of the pair) and S2 watches [0, 6] (load, impression,
#: view, 6 s). Credited once, both batches sum to 2 loads, 2 impressions, 2 views, 18 s.
BATCH_B = [
    _ev("progress", "S1", "L1", 3, 13, position=12.0, from_=6.0),
    _ev("load", "S2", "L2", 0, 20),
    _ev("play", "S2", "L2", 1, 21, position=0.0),
    _ev("progress", "S2", "L2", 2, 27, position=6.0, from_=0.0),
]


def _ingest(path: str, lazy: bool, writer: str) -> tuple[Any, Any]:
    from watchdepth.serve.ingest import Ingest
    from watchdepth.store.clickhouse import ClickHouseStore, Target

    store = ClickHouseStore(Target("chdb", "wd", path=path), writer_file=Path(path + "-" + writer))
    ingest = Ingest(store, clock=lambda: T / 1000 + 60)
    ingest.lazy_rebuild = lazy
    return store, ingest


def _totals(store: Any) -> dict[str, list[Any]]:
    """(loads, impressions, views, watch time) from each source: agg_hour, agg_day, facts."""
    hour = agg(store, start_ms=T0, end_ms=T0 + D)[0][0][:4]
    day = [sum(r[i] for r in agg(store, start_ms=T0, end_ms=T0 + D, dims=("country",))[0]) for i in range(1, 5)]
    facts = agg(store, start_ms=T0 + 1, end_ms=T0 + D)[0][0][:4]
    return {"hour": list(hour), "day": day, "facts": list(facts)}


def _child_write(path: str, kill_after: str) -> None:
    store, ingest = _ingest(path, lazy=False, writer="w1")
    ingest.run_sync(BATCH_A, "collect")
    real = store.insert_arrow

    def insert(table: str, data: Any) -> None:
        real(table, data)
        if table == kill_after:
            print("KILL ME", flush=True)
            time.sleep(60)  # SIGKILLed here, between this insert and the next

    store.insert_arrow = insert
    ingest.run_sync(BATCH_B, "collect")
    print("NOT KILLED", flush=True)


def _child_check(path: str, lazy: bool, writer: str) -> None:
    store, ingest = _ingest(path, lazy, writer)
    out: dict[str, Any] = {
        "log": [(e.session_id, e.seq) for e in store.session_log(["S1", "S2"])],
        "recover_young": store.recover(),
    }  # seconds old: a live writer's batch is left alone
    got = ingest.run_sync(BATCH_B, "collect")  # the trackers retry the unacknowledged request
    out["retry"] = [got.accepted, got.duplicates]
    out["before_recover"] = _totals(store)
    # a batch's age is known to the second: one begun in the current second is never taken
    # back (its writer may be alive), so look from one second on, as a later maintain() would
    out["recovered"] = len(store.recover(min_age_s=0, now=time.time() + 1))
    out["after"] = _totals(store)
    out["counters"] = store.counters()
    out["log_after"] = sorted((e.session_id, e.seq) for e in store.session_log(["S1", "S2"]))
    _, ingest2 = _ingest(path, lazy, "w3")  # a collector started later: the state it rebuilds
    got = ingest2.run_sync(BATCH_B, "collect")
    out["retry_again"] = [got.accepted, got.duplicates]
    out["final"] = _totals(store)
    print("RESULT " + json.dumps(out), flush=True)


def _spawn(*args: str) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.test_clickhouse_writes", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


#: The retry reaches the killed writer restarted (same writer file: it takes its unmarked
#: batch back on open) or another collector (lazy rebuild; the dead batch waits for recover).
@pytest.mark.parametrize(("kill_after", "restarted"), [("events", True), ("agg_hour", True), ("agg_hour", False)])
def test_a_writer_killed_between_inserts_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path, kill_after: str, restarted: bool
) -> None:
    pytest.importorskip("chdb")
    path = str(tmp_path / "chdb")
    writer = _spawn("write", path, kill_after)
    assert writer.stdout is not None
    line = writer.stdout.readline()
    assert line == "KILL ME\n", line + writer.communicate(timeout=60)[1]
    writer.send_signal(signal.SIGKILL)
    writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    out, err = _spawn("check", path, "0" if restarted else "1", "w1" if restarted else "w2").communicate(timeout=120)
    got = json.loads(next(x[7:] for x in out.splitlines() if x.startswith("RESULT ")) if "RESULT " in out else "null")
    assert got is not None, err
    # the rebuilt state holds batch A only: batch B's rows in the log have no commit marker
    assert got["log"] == [["S1", 0], ["S1", 1], ["S1", 2]]
    assert got["recover_young"] == []
    assert got["retry"] == [4, 0]  # all four events of B credited, none taken for a duplicate
    want = [2, 2, 2, 18.0]  # A (1, 1, 1, 6 s) + B (1, 1, 1, 12 s)
    if kill_after == "agg_hour" and not restarted:  # until recovered, the dead B's facts and hourly rollup count
        assert got["before_recover"] == {"hour": [3, 3, 3, 30.0], "day": want, "facts": [3, 3, 3, 30.0]}
    else:
        assert got["before_recover"] == {"hour": want, "day": want, "facts": want}
    assert got["recovered"] == (0 if restarted else 1)  # the restarted writer took it back on open
    assert got["after"] == {"hour": want, "day": want, "facts": want}
    assert got["counters"] == {"applied": 7}  # 3 + 4 events, the dead batch's copies gone
    assert got["log_after"] == [["S1", 0], ["S1", 1], ["S1", 2], ["S1", 3], ["S2", 0], ["S2", 1], ["S2", 2]]
    assert got["retry_again"] == [0, 4]
    assert got["final"] == {"hour": want, "day": want, "facts": want}


if __name__ == "__main__":
    if sys.argv[1] == "write":
        _child_write(sys.argv[2], sys.argv[3])
    else:
        _child_check(sys.argv[2], sys.argv[3] == "1", sys.argv[4])
