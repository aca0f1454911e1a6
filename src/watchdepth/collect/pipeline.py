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
from typing import Any, Final

from watchdepth.catalog.model import ContentInfo
from watchdepth.collect.device import DeviceParser
from watchdepth.collect.event import Event
from watchdepth.collect.geo import GeoLookup, client_ip, proxy_networks
from watchdepth.collect.referrer import MAX_URL_CHARS, page_dims
from watchdepth.collect.wire import ImportEvent, WireEvent, decode_batch
from watchdepth.errors import InvalidParam, ValidationFailed


@dataclass(frozen=True, slots=True)
class Origin:
    """What one HTTP request (or one import line) says about where its events came from."""

    ip: str | None
    user_agent: str | None
    referer: str | None = None


@dataclass(slots=True)
class Batch:
    """The events of one request on their way through the steps; ``rows`` become ``Event``s."""

    wire: Sequence[WireEvent]
    origins: Sequence[Origin]  # one per event; the same object for every event of a request
    received_at: int
    client_time: bool  # credit at the client's ts (import) rather than at receive time
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[InvalidParam] = field(default_factory=list)


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
            wire = decode_batch(body)
        finally:
            self._tally("decode", time.perf_counter() - start)
        ip = client_ip(peer_ip, x_forwarded_for, self.trusted_proxies)
        origin = Origin(ip, user_agent, referer if referer and len(referer) <= MAX_URL_CHARS else None)
        return self.run(Batch(wire, [origin] * len(wire), received_at, client_time=False))

    def from_import(self, events: list[ImportEvent], *, received_at: int) -> list[Event]:
        shared: dict[Origin, Origin] = {}  # equal origins become one object: enriched once
        origins = [shared.setdefault(o, o) for o in (Origin(e.ip, e.user_agent) for e in events)]
        return self.run(Batch(events, origins, received_at, client_time=True))

    def run(self, batch: Batch) -> list[Event]:
        """Run every step in order; raise ``ValidationFailed`` as soon as one finds bad events."""
        for step in STEPS:
            start = time.perf_counter()
            step(self, batch)
            self._tally(step.__name__, time.perf_counter() - start)
            if batch.errors:
                raise ValidationFailed(
                    f"{len({e.index for e in batch.errors})} invalid event(s); nothing was accepted",
                    invalid_params=batch.errors,
                )
        return [Event(**row) for row in batch.rows]

    def _tally(self, name: str, seconds: float) -> None:
        stats = self.step_seconds[name]
        stats.seconds += seconds
        stats.calls += 1


def put_content(c: Collector, b: Batch) -> None:
    """Resolve ids in the catalog; start each event's row with the wire fields and the content."""
    for index, e in enumerate(b.wire):
        found = resolve(c.catalog, e)
        if isinstance(found, InvalidParam):
            b.errors.append(InvalidParam(found.name, found.reason, found.message, index))
            continue
        info, stream_id = found
        b.rows.append(
            {
                "type": e.type, "content_id": e.event_id or e.video_id or e.stream_id,
                "kind": info.kind, "project_id": info.project_id,
                "session_id": e.session_id, "load_id": e.load_id, "seq": e.seq, "stream_id": stream_id,
                "position": e.position, "from_": e.from_, "duration": e.duration,
                "content_duration": info.duration if info.kind == "video" else None,
                "external_id": e.external_id, "id": e.id, "ts": e.ts,
            }
        )


def put_time(c: Collector, b: Batch) -> None:
    """Credit time: the receive time on /collect, the client's ``ts`` on import."""
    for e, row in zip(b.wire, b.rows):
        row["t"] = e.ts if b.client_time and e.ts is not None else b.received_at
        row["received_at"] = b.received_at


def put_geo(c: Collector, b: Batch) -> None:
    """Country of the client IP, once per distinct origin; the IP itself goes no further."""
    _per_origin(b, lambda o: {"country": c.geo.country(o.ip)})


def put_device(c: Collector, b: Batch) -> None:
    """Platform, OS, browser and the bot flag from the User-Agent, once per distinct origin."""

    def dims(o: Origin) -> dict[str, Any]:
        d = c.devices.parse(o.user_agent)
        return {"platform": d.platform, "os": d.os, "browser": d.browser, "bot": d.bot}

    _per_origin(b, dims)


def put_page(c: Collector, b: Batch) -> None:
    """``url`` (the event's, else the Referer) and its domain and page, once per distinct URL."""
    seen: dict[str | None, tuple[str | None, str | None]] = {}
    for e, origin, row in zip(b.wire, b.origins, b.rows):
        url = e.url or origin.referer
        dims = seen.get(url)
        if dims is None:
            dims = seen[url] = page_dims(url)
        row["url"] = url
        row["domain"], row["page"] = dims


Step = Callable[[Collector, Batch], None]
STEPS: Final[tuple[Step, ...]] = (put_content, put_time, put_geo, put_device, put_page)
STEP_NAMES: Final = tuple(step.__name__ for step in STEPS)


def resolve(
    catalog: Mapping[str, ContentInfo], e: WireEvent
) -> tuple[ContentInfo, str | None] | InvalidParam:
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


def _lookup(
    catalog: Mapping[str, ContentInfo], name: str, value: str, kind: str
) -> ContentInfo | InvalidParam:
    info = catalog.get(value)
    if info is None:
        return InvalidParam(name, "unknown", f"no {kind} with id {value}")
    if info.kind != kind:
        return InvalidParam(name, "wrong_kind", f"{value} is a {info.kind}, not a {kind}")
    return info


def _per_origin(b: Batch, dims_of: Callable[[Origin], dict[str, Any]]) -> None:
    """Set ``dims_of(origin)`` on every row, computing it again only when the origin changes."""
    last: Origin | None = None
    dims: dict[str, Any] = {}
    for origin, row in zip(b.origins, b.rows):
        if origin is not last:
            last, dims = origin, dims_of(origin)
        row.update(dims)
