"""Ingestion as a literal list of named steps: a request's body (or import events) → ``Event``s.

Input: a /collect body plus what the HTTP request tells (peer IP, X-Forwarded-For,
User-Agent, Referer, receive time), or decoded import events. Output: enriched,
immutable ``Event``s, or one ``ValidationFailed`` naming every bad event (then nothing
is returned). It does not store, dedupe or sessionize, and it keeps bots (flagged
``bot=True``) for the caller to count apart. The raw IP goes no further than ``put_geo``.

Each step works on the whole batch, so what the request decides (country, device,
referrer) is computed once per request, not once per event; the runner times each
step by its name into ``Collector.step_seconds`` for ``/metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, TypeVar, cast

from watchdepth.catalog.model import ContentInfo
from watchdepth.collect.device import Device, DeviceParser
from watchdepth.collect.event import QOE_FIELDS, Event
from watchdepth.collect.geo import GeoLookup, client_ip, proxy_networks
from watchdepth.collect.referrer import MAX_URL_CHARS, page_dims
from watchdepth.collect.wire import (
    MAX_IMPORT_ERRORS,
    ImportEvent,
    WireEvent,
    decode_batch_partly,
)
from watchdepth.errors import InvalidParam, ValidationFailed

_V = TypeVar("_V")

TS_MIN: Final = 946_684_800_000  # 2000-01-01T00:00:00Z, ms
TS_AHEAD: Final = 86_400_000  # a ts may be up to a day after its receipt (clock skew)
_TS_MESSAGE: Final = "ts must be ms since the epoch, from 2000-01-01 to a day after receipt"


@dataclass(frozen=True, slots=True)
class Origin:
    """What one HTTP request (or one import line) says about where its events came from."""

    ip: str | None
    user_agent: str | None
    referer: str | None = None


@dataclass(slots=True)
class Batch:
    """The events of one request on their way through the steps.

    Each step fills its own list, one entry per wire event (what a request decides is
    computed once and shared); ``build`` then makes each ``Event`` in one positional call,
    so no per-event dict is built on the hot path.
    """

    wire: Sequence[WireEvent]
    origins: Sequence[Origin]  # one per event; the same object for every event of a request
    received_at: int
    client_time: bool  # credit at the client's ts (import) rather than at receive time
    one_origin: bool = False  # every event shares ``origins[0]`` (a /collect request)
    #: Each wire event's index in the request (its line for an import); None: its position.
    index: Sequence[int] | None = None
    errors: list[InvalidParam] = field(default_factory=list)
    content: list[_Content] = field(default_factory=list)
    times: list[int] | None = None  # None: every event at ``received_at``
    places: list[tuple[str | None, str | None]] = field(default_factory=list)  # (country, city)
    devices: list[Device] = field(default_factory=list)
    urls: list[str | None] = field(default_factory=list)
    pages: list[tuple[str | None, str | None]] = field(default_factory=list)


class _Content(NamedTuple):
    """What the catalog says about an event's content, resolved once per distinct id."""

    content_id: str
    kind: str
    project_id: str
    stream_id: str | None
    content_duration: float | None


@dataclass(slots=True)
class StepStats:
    seconds: float = 0.0
    calls: int = 0


class Collector:
    """Validate and enrich events: ``from_request`` for /collect, ``from_import`` for bulk import."""

    def __init__(
        self,
        catalog: Mapping[str, ContentInfo],
        geo: GeoLookup,
        devices: DeviceParser,
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        self.catalog = catalog
        self.geo = geo
        self.devices = devices
        self.trusted_proxies = tuple(trusted_proxies)
        proxy_networks(self.trusted_proxies)  # a bad entry fails here, at start-up
        self.step_seconds: dict[str, StepStats] = {name: StepStats() for name in ("decode", *STEP_NAMES)}

    def from_request(
        self,
        body: bytes,
        *,
        peer_ip: str,
        x_forwarded_for: str | None,
        user_agent: str | None,
        referer: str | None,
        received_at: int,
    ) -> list[Event]:
        start = time.perf_counter()
        try:
            wire, index, errors = decode_batch_partly(body)
        finally:
            self._tally("decode", time.perf_counter() - start)
        ip = client_ip(peer_ip, x_forwarded_for, self.trusted_proxies)
        origin = Origin(ip, user_agent, referer if referer and len(referer) <= MAX_URL_CHARS else None)
        return self.run(
            Batch(
                wire, [origin] * len(wire), received_at, client_time=False, one_origin=True, index=index, errors=errors
            )
        )

    def from_import(
        self,
        events: list[ImportEvent],
        *,
        received_at: int,
        index: Sequence[int] | None = None,
        errors: Sequence[InvalidParam] = (),
    ) -> list[Event]:
        """Import events; ``index``/``errors`` come from ``decode_import_lines_partly`` (lines refused there)."""
        shared: dict[Origin, Origin] = {}  # equal origins become one object: enriched once
        origins = [shared.setdefault(o, o) for o in (Origin(e.ip, e.user_agent) for e in events)]
        errors = [*errors, *ts_errors(events, index, received_at)]
        return self.run(Batch(events, origins, received_at, client_time=True, index=index, errors=errors))

    def run(self, batch: Batch) -> list[Event]:
        """Run every step in order; raise ``ValidationFailed`` as soon as one finds bad events.

        Events refused while decoding (``batch.errors``) do not stop the catalog check, so
        one answer names both kinds; the steps after it run only on a clean batch.
        """
        for step in STEPS:
            start = time.perf_counter()
            step(self, batch)
            self._tally(step.__name__, time.perf_counter() - start)
            if batch.errors:
                raise _failure(batch)
        return build(batch)

    def _tally(self, name: str, seconds: float) -> None:
        stats = self.step_seconds[name]
        stats.seconds += seconds
        stats.calls += 1


def put_content(c: Collector, b: Batch) -> None:
    """Resolve ids in the catalog, once per distinct (video, stream, event) id of the batch."""
    seen: dict[tuple[str | None, str | None, str | None], _Content | InvalidParam] = {}
    content = b.content
    for position, e in enumerate(b.wire):
        key = (e.video_id, e.stream_id, e.event_id)
        found = seen.get(key)
        if found is None:
            found = seen[key] = _content(c.catalog, e)
        if isinstance(found, InvalidParam):
            index = position if b.index is None else b.index[position]
            b.errors.append(InvalidParam(found.name, found.reason, found.message, index))
        else:
            content.append(found)


def put_time(c: Collector, b: Batch) -> None:
    """Credit time: the receive time on /collect, the client's ``ts`` on import (checked by ``ts_errors``)."""
    if b.client_time:
        b.times = [e.ts for e in cast("Sequence[ImportEvent]", b.wire)]  # an import decodes ImportEvents


def put_geo(c: Collector, b: Batch) -> None:
    """Country and city of the client IP, once per distinct origin; the IP itself goes no further."""
    b.places = _per_origin(b, lambda o: c.geo.locate(o.ip))


def put_device(c: Collector, b: Batch) -> None:
    """Platform, OS, browser and the bot flag from the User-Agent, once per distinct origin."""
    b.devices = _per_origin(b, lambda o: c.devices.parse(o.user_agent))


def put_page(c: Collector, b: Batch) -> None:
    """``url`` (the event's, else the Referer) and its domain and page, once per distinct URL."""
    seen: dict[str | None, tuple[str | None, str | None]] = {}
    urls, pages = b.urls, b.pages
    for e, origin in zip(b.wire, b.origins):
        url = e.url or origin.referer
        dims = seen.get(url)
        if dims is None:
            dims = seen[url] = page_dims(url)
        urls.append(url)
        pages.append(dims)


def build(b: Batch) -> list[Event]:
    """One ``Event`` per wire event, from what the steps filled in (a clean batch only).

    A ``ts`` outside ``ts_window`` is dropped here (only /collect's can be: see ``ts_errors``).
    """
    times = b.times or [b.received_at] * len(b.wire)
    received = b.received_at
    low, high = TS_MIN, received + TS_AHEAD  # ts_window, inlined: this is the hot path
    return [
        Event(
            e.type, ct.content_id, ct.kind, ct.project_id, e.session_id, e.load_id, e.seq, t, received,
            ct.stream_id, e.position, e.from_, e.duration, ct.content_duration, url, e.external_id, e.id,
            e.ts if e.ts is None or low <= e.ts <= high else None,
            country, d.platform, d.os, d.browser, domain, page,
            *(_qoe(e) if e.type in QOE_FIELDS else _NO_QOE), city, d.bot,
        )
        for e, ct, t, (country, city), d, url, (domain, page) in zip(
            b.wire, b.content, times, b.places, b.devices, b.urls, b.pages
        )
    ]  # fmt: skip


_NO_QOE: Final = (None, None, None, None)


def _qoe(e: WireEvent) -> tuple[int | None, str | None, str | None, bool | None]:
    """ms, code, message, fatal of a §7 event, each kept only on the type it belongs to."""
    if e.type == "error":
        return None, e.code, e.message, e.fatal
    return e.ms, None, None, None


def ts_errors(events: Sequence[ImportEvent], index: Sequence[int] | None, received_at: int) -> list[InvalidParam]:
    """An import's ``ts`` outside ``ts_window``, named by line.

    An import's ``ts`` is the time its numbers are credited at: one in µs or ns, or in the
    year 9999, would be an instant the store cannot hold or no period ever shows, so it is
    refused. On /collect, ``ts`` is the client's clock, kept for reference only
    (docs/metrics.md §5): ``build`` drops one outside the window (stores null) rather than
    refuse the batch, since a viewer's wrong clock is no reason to lose what they watched.
    """
    low, high = ts_window(received_at)
    return [
        InvalidParam("ts", "out_of_range", _TS_MESSAGE, position if index is None else index[position])
        for position, e in enumerate(events)
        if not low <= e.ts <= high
    ]


def ts_window(received_at: int) -> tuple[int, int]:
    """The ``ts`` values (ms since the epoch) taken as a real time: 2000-01-01 to receipt + 1 day."""
    return TS_MIN, received_at + TS_AHEAD


Step = Callable[[Collector, Batch], None]
STEPS: Final[tuple[Step, ...]] = (put_content, put_time, put_geo, put_device, put_page)
STEP_NAMES: Final = tuple(step.__name__ for step in STEPS)


def resolve(catalog: Mapping[str, ContentInfo], e: WireEvent) -> tuple[ContentInfo, str | None] | InvalidParam:
    """The most specific content of an event and its stream id, or why the ids are refused."""
    if e.video_id is not None:
        video = _lookup(catalog, "video_id", e.video_id, "video")
        return video if isinstance(video, InvalidParam) else (video, None)
    assert e.stream_id is not None  # wire.py guarantees exactly one of the two
    stream = _lookup(catalog, "stream_id", e.stream_id, "stream")
    if isinstance(stream, InvalidParam) or e.event_id is None:
        return stream if isinstance(stream, InvalidParam) else (stream, stream.id)
    broadcast = _lookup(catalog, "event_id", e.event_id, "event")
    if isinstance(broadcast, InvalidParam):
        return broadcast
    if broadcast.stream_id != stream.id:
        message = f"event {e.event_id} is not a broadcast of stream {stream.id}"
        return InvalidParam("event_id", "mismatch", message)
    return broadcast, stream.id


def _lookup(catalog: Mapping[str, ContentInfo], name: str, value: str, kind: str) -> ContentInfo | InvalidParam:
    info = catalog.get(value)
    if info is None:
        return InvalidParam(name, "unknown", f"no {kind} with id {value}")
    if info.kind != kind:
        return InvalidParam(name, "wrong_kind", f"{value} is a {info.kind}, not a {kind}")
    return info


def _content(catalog: Mapping[str, ContentInfo], e: WireEvent) -> _Content | InvalidParam:
    found = resolve(catalog, e)
    if isinstance(found, InvalidParam):
        return found
    info, stream_id = found
    duration = info.duration if info.kind == "video" else None
    return _Content(e.event_id or e.video_id or e.stream_id or "", info.kind, info.project_id, stream_id, duration)


def _per_origin(b: Batch, value_of: Callable[[Origin], _V]) -> list[_V]:
    """``value_of(origin)`` for every event, computed again only when the origin changes."""
    origins = b.origins
    if b.one_origin and origins:
        return [value_of(origins[0])] * len(origins)  # /collect: one origin per request
    out: list[_V] = []
    last: Origin | None = None
    value: Any = None
    for origin in origins:
        if origin is not last:
            last, value = origin, value_of(origin)
        out.append(value)
    return out


def _failure(b: Batch) -> ValidationFailed:
    """One error naming every problem in event order (an import lists the first 1,000)."""
    errors = sorted(b.errors, key=lambda p: -1 if p.index is None else p.index)
    cap = MAX_IMPORT_ERRORS if b.client_time else len(errors)
    detail = None if len(errors) <= cap else f"{len(errors)} problems; the first {cap} are listed"
    message = f"{len({e.index for e in errors})} invalid event(s); nothing was accepted"
    return ValidationFailed(message, detail=detail, invalid_params=errors[:cap])
