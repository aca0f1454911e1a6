"""What the rest of the service needs to know about one content item.

Input: catalog rows. Output: ``ContentInfo``, kept in memory by the collector
to validate ids and clip positions. It does not store or serve anything.
"""

from __future__ import annotations

import msgspec

CONTENT_KINDS = ("video", "stream", "event")


class ContentInfo(msgspec.Struct, frozen=True):
    id: str
    kind: str  # "video" | "stream" | "event"
    project_id: str
    folder_id: str | None = None
    title: str = ""
    duration: float | None = None  # seconds, videos only
    stream_id: str | None = None  # for a broadcast event: its stream
