"""The enriched event: what the collector hands to the sessionizer and the store.

Input: a validated wire event (``collect.wire``) plus what the request adds
(receive time, country, device, page). Output: one immutable ``Event``.
It does not validate or look anything up; ``collect.pipeline`` does.
"""

from __future__ import annotations

import msgspec

#: Event types that carry a playback position (docs/metrics.md §2).
POSITIONED_TYPES = frozenset({"play", "progress", "pause", "seek", "ended"})
#: Quality-of-experience events (docs/metrics.md §7): ``ms`` belongs to startup and stall, ``code``,
#: ``message`` and ``fatal`` to error; on other types those fields are dropped (``QOE_FIELDS``).
QOE_FIELDS = {"startup": ("ms",), "stall": ("ms",), "error": ("code", "message", "fatal")}


class Event(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """One player event, validated and enriched. Times are ms since the epoch, UTC.

    ``omit_defaults``: the journal (``store.rows.encode``) leaves empty fields out, a third
    fewer bytes per event to write and to parse; its reader takes a missing field for null.
    """

    type: str
    content_id: str  # the most specific id: event_id, else video_id / stream_id
    kind: str  # "video" | "stream" | "event"
    project_id: str
    session_id: str
    load_id: str
    seq: int
    t: int  # credit time: receive time on /collect, the client's ts on import
    received_at: int
    stream_id: str | None = None  # the parent stream of a broadcast event, or the stream itself
    position: float | None = None
    from_: float | None = None
    duration: float | None = None  # as the player sees it
    content_duration: float | None = None  # the catalog's duration (videos); positions clip to it
    url: str | None = None
    external_id: str | None = None
    id: str | None = None
    ts: int | None = None
    country: str | None = None
    platform: str | None = None
    os: str | None = None
    browser: str | None = None
    domain: str | None = None
    page: str | None = None
    ms: int | None = None  # startup, stall: milliseconds (docs/metrics.md §7)
    code: str | None = None  # error
    message: str | None = None  # error
    fatal: bool | None = None  # error: stored as sent; absent counts as not fatal
    city: str | None = None  # English name, when the GeoIP file has cities
    bot: bool = False
