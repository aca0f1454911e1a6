"""The issue's end-to-end metric checks: real Chromium, the real tracker, the REAL server.

TODO(lead): these are skipped until the server (collector + API) is ready. To wire them:
remove the module-level skip; the ``server``/``catalog`` fixtures are the ones in
tests/conftest.py (a real ``watchdepth serve``), ``context`` comes from
tests/tracker/conftest.py. They assume the server mounts ``watchdepth.tracker.routes``
(so ``/embed/v1`` exists) and that ``/v1/analytics`` understands ``period=all_time``
and ``group_by=video_id`` / ``external_id`` (docs/api.md). The catalog fixture's ``v1`` is
100 s long; the embed page plays the 60 s demo media, which is enough for these plays.

Each test waits for the numbers to settle (events are credited at receive time and
may be applied asynchronously), then asserts them exactly where docs/metrics.md is exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
]

VIDEO = "document.querySelector('video')"
Row = dict[str, Any]


def metrics(server: Any, group_by: str = "video_id", **params: str) -> list[Row]:
    body = server.ok("GET", "/v1/analytics", params={"period": "all_time", "group_by": group_by, **params})
    return list(body["data"])


def settle(server: Any, check: Callable[[list[Row]], bool], timeout: float = 20, **kw: str) -> list[Row]:
    """Poll /v1/analytics until check(rows) holds."""
    deadline = time.monotonic() + timeout
    while True:
        rows = metrics(server, **kw)
        if check(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def row_of(rows: list[Row], key: str, value: str) -> Row:
    (row,) = [r for r in rows if r.get(key) == value]
    return row


def open_embed(context: Any, server: Any, video_id: str = "v1", external_id: str | None = None) -> Any:
    query = f"?external_id={quote(external_id)}" if external_id else ""
    page = context.new_page()
    page.goto(f"{server.url}/embed/{video_id}{query}")
    page.wait_for_function(f"{VIDEO}.readyState >= 1")
    page.evaluate(f"{VIDEO}.muted = true")
    return page


#: Resolves once the player's position reaches `to` seconds, from its own `timeupdate` events
#: (page.evaluate runs under the pages' CSP, which forbids the eval that wait_for_function needs).
REACHED = """([to, ms]) => new Promise((done, fail) => {
  const v = document.querySelector('video');
  const timer = setTimeout(() => fail(new Error(`position ${v.currentTime} never reached ${to}`)), ms);
  const check = () => {
    if (v.currentTime < to) return;
    clearTimeout(timer);
    v.removeEventListener('timeupdate', check);
    done(v.currentTime);
  };
  v.addEventListener('timeupdate', check);
  check();
})"""


def play_for(page: Any, seconds: float) -> None:
    """Play until the position has moved ``seconds`` on (playback is real time: a condition, not a sleep)."""
    start = page.evaluate(f"{VIDEO}.currentTime")
    page.evaluate(f"{VIDEO}.play()")
    page.evaluate(REACHED, [start + seconds, int(seconds + 20) * 1000])


def pause(page: Any) -> None:
    page.evaluate(f"{VIDEO}.pause()")


def seek(page: Any, to: float) -> None:
    page.evaluate(
        f"new Promise(done => {{ const v = {VIDEO}; v.addEventListener('seeked', done, {{once: true}}); v.currentTime = {to}; }})"
    )


def test_play_7s(catalog: Any, context: Any) -> None:
    page = open_embed(context, catalog)
    play_for(page, 7)
    pause(page)
    rows = settle(catalog, lambda rs: bool(rs) and rs[0]["views"] == 1 and rs[0]["watch_time"] >= 6, video_id="v1")
    row = row_of(rows, "video_id", "v1")
    assert (row["player_loads"], row["unique_views"], row["views"]) == (1, 1, 1)
    assert abs(row["watch_time"] - 7) <= 1


def test_play_3s_then_close_is_no_view(catalog: Any, context: Any) -> None:
    page = open_embed(context, catalog)
    play_for(page, 3)
    page.close()  # the last progress goes by sendBeacon
    rows = settle(catalog, lambda rs: bool(rs) and rs[0]["watch_time"] >= 2, video_id="v1")
    row = row_of(rows, "video_id", "v1")
    assert (row["player_loads"], row["unique_views"], row["views"]) == (1, 1, 0)
    assert abs(row["watch_time"] - 3) <= 1


def test_reload_is_two_loads_one_session(catalog: Any, context: Any) -> None:
    page = open_embed(context, catalog)
    play_for(page, 2)
    page.reload()
    page.wait_for_function(f"{VIDEO}.readyState >= 1")
    page.evaluate(f"{VIDEO}.muted = true")
    play_for(page, 2)
    pause(page)
    rows = settle(catalog, lambda rs: bool(rs) and rs[0]["player_loads"] == 2, video_id="v1")
    row = row_of(rows, "video_id", "v1")
    assert row["player_loads"] == 2
    assert row["unique_views"] == 1, "one session: one (session, content) pair"


def test_seek_back_and_rewatch_counts_once(catalog: Any, context: Any) -> None:
    page = open_embed(context, catalog)
    play_for(page, 6)
    seek(page, 1)
    page.evaluate(REACHED, [5, 20000])
    pause(page)
    rows = settle(catalog, lambda rs: bool(rs) and rs[0]["views"] == 1 and rs[0]["watch_time"] >= 6, video_id="v1")
    row = row_of(rows, "video_id", "v1")
    assert row["views"] == 1
    assert abs(row["watch_time"] - 6) <= 1, "seconds 1-5 watched twice count once"


def test_pause_10s_and_resume_is_one_continuous_run(catalog: Any, context: Any) -> None:
    page = open_embed(context, catalog)
    play_for(page, 3)
    pause(page)
    page.wait_for_timeout(10000)  # the test is a 10 s pause in wall time: no condition to wait on
    play_for(page, 3)
    pause(page)
    rows = settle(catalog, lambda rs: bool(rs) and rs[0]["views"] == 1 and rs[0]["watch_time"] >= 6, video_id="v1")
    row = row_of(rows, "video_id", "v1")
    assert row["views"] == 1, "3 s + 3 s of one run reach 5 s of continuous playback"
    assert abs(row["watch_time"] - 6) <= 1


def test_external_id_in_group_by(catalog: Any, context: Any) -> None:
    page = open_embed(context, catalog, external_id="alice@example.com")
    play_for(page, 6)
    pause(page)
    rows = settle(
        catalog,
        lambda rs: any(r.get("external_id") == "alice@example.com" and r["views"] == 1 for r in rs),
        group_by="external_id",
    )
    row = row_of(rows, "external_id", "alice@example.com")
    assert (row["player_loads"], row["views"]) == (1, 1)


def test_collector_down_then_back_every_event_arrives_once(catalog: Any, context: Any) -> None:
    page = open_embed(context, catalog)
    catalog.stop()  # the collector is down: the tracker queues and retries with backoff
    play_for(page, 7)  # 7 s down: the tracker's tries fail and back off (1 s, 2 s, 4 s, …)
    pause(page)  # queued behind them
    catalog.start()  # back on the same port and data
    rows = settle(catalog, lambda rs: bool(rs) and rs[0]["views"] == 1, timeout=90, video_id="v1")
    row = row_of(rows, "video_id", "v1")
    assert (row["player_loads"], row["unique_views"], row["views"]) == (1, 1, 1)
    assert abs(row["watch_time"] - 7) <= 1, "every event once: no loss, no double count"
