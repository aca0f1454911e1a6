"""collect.pipeline: catalog checks, enrichment once per request, time semantics, step timings."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from watchdepth.catalog.model import ContentInfo
from watchdepth.collect import pipeline
from watchdepth.collect.device import Device, DeviceParser
from watchdepth.collect.event import Event
from watchdepth.collect.geo import GeoLookup
from watchdepth.collect.pipeline import Collector
from watchdepth.collect.wire import ImportEvent
from watchdepth.errors import ValidationFailed

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
RECEIVED = 1_718_000_000_000

CATALOG = {
    "vid": ContentInfo("vid", "video", "proj-a", folder_id="f1", title="Lesson", duration=600.0),
    "live": ContentInfo("live", "stream", "proj-b"),
    "other-live": ContentInfo("other-live", "stream", "proj-b"),
    "bcast": ContentInfo("bcast", "event", "proj-b", stream_id="live"),
}


class CountingGeo(GeoLookup):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str | None] = []

    def locate(self, ip: str | None) -> tuple[str | None, str | None]:
        self.asked.append(ip)
        return super().locate(ip)


class CountingDevices(DeviceParser):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str | None] = []

    def parse(self, user_agent: str | None) -> Device:
        self.asked.append(user_agent)
        return super().parse(user_agent)


@pytest.fixture
def collector() -> Collector:
    return Collector(dict(CATALOG), CountingGeo(), CountingDevices(), trusted_proxies=["10.0.0.0/8"])


def wire(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "play", "video_id": "vid", "session_id": "s", "load_id": "l", "seq": 0}
    out["position"] = 0
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def collect(c: Collector, events: object, **request: Any) -> list[Event]:
    kw: dict[str, Any] = {
        "peer_ip": "203.0.113.5", "x_forwarded_for": None, "user_agent": CHROME,
        "referer": "https://www.school.example/course/7?ref=mail", "received_at": RECEIVED,
    }  # fmt: skip
    kw.update(request)
    return c.from_request(msgspec.json.encode(events), **kw)


def refused(c: Collector, events: object) -> list[tuple[str, str, int | None]]:
    with pytest.raises(ValidationFailed) as info:
        collect(c, events)
    return [(p.name, p.reason, p.index) for p in info.value.invalid_params]


def test_a_refused_id_stops_the_batch_before_any_lookup(collector: Collector) -> None:
    # put_content runs first: a batch it refuses costs no geo or device look-up
    assert refused(collector, [wire(), wire(seq=1, video_id="gone")]) == [("video_id", "unknown", 1)]
    assert collector.geo.asked == [] and collector.devices.asked == []  # type: ignore[attr-defined]
    assert {n: s.calls for n, s in collector.step_seconds.items() if s.calls} == {"decode": 1, "put_content": 1}


def test_a_video_event_is_fully_enriched(collector: Collector) -> None:
    [event] = collect(
        collector,
        wire(seq=4, position=12.5, duration=601.2, external_id="u-1", id="k-1", ts=RECEIVED - 5_000),
        peer_ip="10.0.0.3",
        x_forwarded_for="77.88.55.88, 10.0.0.9",
    )
    assert event == Event(
        type="play", content_id="vid", kind="video", project_id="proj-a", session_id="s", load_id="l", seq=4,
        t=RECEIVED, received_at=RECEIVED, stream_id=None, position=12.5, duration=601.2, content_duration=600.0,
        url="https://www.school.example/course/7?ref=mail", external_id="u-1", id="k-1", ts=RECEIVED - 5_000,
        country="RU", platform="desktop", os="Windows", browser="Chrome", domain="school.example",
        page="school.example/course/7", bot=False,
    )  # fmt: skip


def test_the_raw_ip_is_not_on_the_event(collector: Collector) -> None:
    [event] = collect(collector, wire(), peer_ip="77.88.55.88")
    assert event.country == "RU"
    assert "77.88.55.88" not in msgspec.json.encode(event).decode()


def test_stream_and_broadcast_event_ids(collector: Collector) -> None:
    stream, broadcast = collect(
        collector,
        [wire(video_id=None, stream_id="live"), wire(video_id=None, stream_id="live", event_id="bcast", seq=1)],
    )
    assert (stream.content_id, stream.kind, stream.stream_id, stream.project_id) == ("live", "stream", "live", "proj-b")
    assert (broadcast.content_id, broadcast.kind, broadcast.stream_id) == ("bcast", "event", "live")
    assert stream.content_duration is None and broadcast.content_duration is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"video_id": "nope"}, ("video_id", "unknown")),
        ({"video_id": None, "stream_id": "nope"}, ("stream_id", "unknown")),
        ({"video_id": None, "stream_id": "live", "event_id": "nope"}, ("event_id", "unknown")),
        ({"video_id": None, "stream_id": "other-live", "event_id": "bcast"}, ("event_id", "mismatch")),
        ({"video_id": "live"}, ("video_id", "wrong_kind")),
        ({"video_id": None, "stream_id": "vid"}, ("stream_id", "wrong_kind")),
        ({"video_id": None, "stream_id": "bcast"}, ("stream_id", "wrong_kind")),
        ({"video_id": None, "stream_id": "live", "event_id": "other-live"}, ("event_id", "wrong_kind")),
    ],
)
def test_catalog_checks_name_the_field_and_index(
    collector: Collector, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert refused(collector, [wire(), wire(seq=1, **changes), wire(seq=2)]) == [(*expected, 1)]


def test_every_unknown_id_is_listed_and_nothing_returned(collector: Collector) -> None:
    events = [wire(video_id="a"), wire(seq=1), wire(seq=2, video_id="b")]
    assert refused(collector, events) == [("video_id", "unknown", 0), ("video_id", "unknown", 2)]


def test_the_catalog_is_read_live(collector: Collector) -> None:
    assert refused(collector, wire(video_id="new")) == [("video_id", "unknown", 0)]
    collector.catalog["new"] = ContentInfo("new", "video", "proj-a", duration=10.0)  # type: ignore[index]
    assert collect(collector, wire(video_id="new"))[0].content_duration == 10.0


def test_url_falls_back_to_the_referer(collector: Collector) -> None:
    own, empty, fallback = collect(
        collector, [wire(url="https://blog.example/post?x=1"), wire(seq=1, url=""), wire(seq=2)]
    )
    assert (own.url, own.domain, own.page) == ("https://blog.example/post?x=1", "blog.example", "blog.example/post")
    assert (empty.domain, empty.page) == ("school.example", "school.example/course/7")
    assert (fallback.url, fallback.domain) == ("https://www.school.example/course/7?ref=mail", "school.example")


def test_no_url_and_no_referer(collector: Collector) -> None:
    [event] = collect(collector, wire(), referer=None)
    assert (event.url, event.domain, event.page) == (None, None, None)
    [event] = collect(collector, wire(), referer="https://x.example/" + "a" * 3000)
    assert event.url is None


def test_request_dimensions_are_computed_once_per_request(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages: list[str | None] = []
    real_page_dims = pipeline.page_dims
    monkeypatch.setattr(pipeline, "page_dims", lambda url: pages.append(url) or real_page_dims(url))
    events = collect(collector, [wire(seq=i, type="progress") for i in range(20)], user_agent=IPHONE)
    assert len(events) == 20
    assert collector.geo.asked == ["203.0.113.5"]  # type: ignore[attr-defined]
    assert collector.devices.asked == [IPHONE]  # type: ignore[attr-defined]
    assert pages == ["https://www.school.example/course/7?ref=mail"]
    assert {(e.platform, e.os, e.browser) for e in events} == {("smartphone", "iOS", "Safari")}


def test_bots_are_flagged_not_dropped(collector: Collector) -> None:
    [event] = collect(collector, wire(), user_agent="curl/8.5.0")
    assert event.bot is True and event.platform == "other"
    [event] = collect(collector, wire(), user_agent=None)
    assert event.bot is True


def test_xff_is_ignored_from_an_untrusted_peer(collector: Collector) -> None:
    [event] = collect(collector, wire(), peer_ip="203.0.113.5", x_forwarded_for="77.88.55.88")
    assert collector.geo.asked == ["203.0.113.5"]  # type: ignore[attr-defined]
    assert event.country is None  # 203.0.113.0/24 is a documentation network


def test_schema_errors_and_unknown_ids_are_named_together(collector: Collector) -> None:
    events = [
        wire(seq=0),
        wire(seq=1, video_id="gone"),
        wire(seq=-1),
        wire(seq=3, type="seek"),
        wire(seq=4, video_id="live"),
    ]
    assert refused(collector, events) == [
        ("video_id", "unknown", 1),
        ("seq", "out_of_range", 2),
        ("from", "required", 3),  # a cross-field rule of the fast path
        ("video_id", "wrong_kind", 4),
    ]


def test_step_timings_are_kept_per_batch(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter(range(1_000_000))  # a clock that moves half a second each time it is read
    monkeypatch.setattr(pipeline, "time", type("Clock", (), {"perf_counter": staticmethod(lambda: next(ticks) / 2)}))
    collect(collector, [wire(seq=i) for i in range(5)])
    collect(collector, wire())
    with pytest.raises(ValidationFailed):
        collect(collector, wire(video_id="nope"))
    with pytest.raises(ValidationFailed):
        collect(collector, wire(seq=-1))
    calls = {name: stats.calls for name, stats in collector.step_seconds.items()}
    # the schema-invalid batch still has its ids checked (one answer names both kinds)
    assert calls == {"decode": 4, "put_content": 4, "put_time": 2, "put_geo": 2, "put_device": 2, "put_page": 2}
    # each call is timed by two consecutive reads: half a second per call, summed per step
    assert {name: stats.seconds for name, stats in collector.step_seconds.items()} == {
        n: c / 2 for n, c in calls.items()
    }


def imported(**changes: Any) -> ImportEvent:
    fields: dict[str, Any] = {"ts": 1_700_000_000_000, "ip": "77.88.55.88", "user_agent": CHROME, **wire(**changes)}
    return msgspec.convert(fields, ImportEvent)


def test_import_credits_at_ts_and_enriches_each_origin_once(collector: Collector) -> None:
    t0 = RECEIVED - 86_400_000
    events = [
        imported(seq=0, ts=t0 + 1_000),
        imported(seq=1, ts=t0 + 2_000),
        imported(seq=2, ts=t0 + 3_000, ip="130.149.7.201", user_agent=IPHONE, url="https://a.example/x"),
        imported(seq=3, ts=t0 + 4_000),
    ]
    out = collector.from_import(events, received_at=RECEIVED)
    assert [(e.t, e.ts, e.received_at) for e in out] == [
        (t0 + n * 1_000, t0 + n * 1_000, RECEIVED) for n in (1, 2, 3, 4)
    ]
    assert [(e.country, e.platform, e.domain) for e in out] == [
        ("RU", "desktop", None), ("RU", "desktop", None), ("DE", "smartphone", "a.example"), ("RU", "desktop", None),
    ]  # fmt: skip
    assert sorted(collector.geo.asked) == ["130.149.7.201", "77.88.55.88", "77.88.55.88"]  # type: ignore[attr-defined]


def test_import_errors_name_the_event_index(collector: Collector) -> None:
    events = [imported(), imported(video_id="gone"), imported(video_id=None, stream_id="live", event_id="nope")]
    with pytest.raises(ValidationFailed) as info:
        collector.from_import(events, received_at=RECEIVED)
    assert [(p.name, p.reason, p.index) for p in info.value.invalid_params] == [
        ("video_id", "unknown", 1),
        ("event_id", "unknown", 2),
    ]


def test_an_import_ts_outside_2000_to_a_day_ahead_is_refused_with_the_catalog_errors(collector: Collector) -> None:
    day = 86_400_000
    events = [imported(ts=946_684_800_000), imported(ts=946_684_799_999), imported(ts=RECEIVED + day),
              imported(ts=RECEIVED + day + 1, video_id="gone"), imported(ts=1_733_322_000_000_000_000), imported(ts=2**63 - 1)]  # fmt: skip
    with pytest.raises(ValidationFailed) as info:
        collector.from_import(events, received_at=RECEIVED, index=[0, 2, 3, 4, 5, 7])
    assert [(p.name, p.reason, p.index) for p in info.value.invalid_params] == [
        ("ts", "out_of_range", 2), ("ts", "out_of_range", 4), ("video_id", "unknown", 4),
        ("ts", "out_of_range", 5), ("ts", "out_of_range", 7),
    ]  # fmt: skip


def test_a_collect_ts_outside_the_window_is_kept_as_null_not_refused(collector: Collector) -> None:
    """/collect's ts is the client's clock, for reference only: a wrong clock costs no event."""
    sent = [RECEIVED - 5_000, RECEIVED + 86_400_000, RECEIVED + 86_400_001, 946_684_799_999, 2**63 - 1, 0, None]
    out = collect(collector, [wire(seq=n, ts=ts) for n, ts in enumerate(sent)])
    assert [e.ts for e in out] == [RECEIVED - 5_000, RECEIVED + 86_400_000, None, None, None, None, None]


def test_positions_past_ten_billion_seconds_are_refused_and_at_it_taken(collector: Collector) -> None:
    assert [e.position for e in collect(collector, [wire(position=1e10), wire(seq=1, position=1.7e9)])] == [1e10, 1.7e9]
    bad = [
        wire(position=1e10 + 0.01),
        wire(seq=1, type="seek", position=1, **{"from": 1.7e308}),
        wire(seq=2, duration=1e11),
    ]
    assert refused(collector, bad) == [
        ("position", "out_of_range", 0),
        ("from", "out_of_range", 1),
        ("duration", "out_of_range", 2),
    ]


def test_a_bad_trusted_proxy_entry_fails_at_construction() -> None:
    with pytest.raises(ValueError):
        Collector({}, CountingGeo(), CountingDevices(), trusted_proxies=["10.0.0.0/33"])
