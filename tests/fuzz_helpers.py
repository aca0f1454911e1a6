"""Reusable fuzzing parts: hypothesis strategies for hostile input, one real server, one connection.

Used by tests/collect/test_fuzz.py (the decoder in process) and tests/api/test_fuzz_ingest.py
(``/collect`` and ``/v1/events/import`` against a real ``serve``); a fuzz of other routes
can take ``start_fuzz_server`` and ``OneConnection`` as they are.

- Strategies: ``json_values`` (any JSON, with edge numbers and strings), ``event_dicts``
  (mostly-valid tracker events with fields overwritten or removed), ``edge_events`` (valid
  events at the edges of every bound, which reach the store), ``bodies`` (what a
  /collect body may be), ``hostile_bytes`` (deep nesting, invalid UTF-8, lone surrogates,
  huge numbers spliced into real events), ``import_lines`` (NDJSON bodies).
- ``FUZZ_CATALOG``: the ids the strategies use (so some fuzzed events are valid) and
  ``GOOD_VIDEO``, which no strategy uses, for counting a known batch exactly afterwards.
- ``start_fuzz_server``: a real ``watchdepth serve`` holding that catalog.
- ``OneConnection``: an HTTP client that fails a test when the server drops its keep-alive
  connection (it compares the local port of each answer's connection).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
from hypothesis import strategies as st

from tests.conftest import DESKTOP_UA, Server
from watchdepth.collect import wire

FIELDS = [*wire._IMPORT_RULES, "from_", "Type", ""]
EDGE_NUMBERS = [
    b"1e400",
    b"-1e400",
    b"1" * 400,
    b"-0.0",
    b"1E2",
    b"0e0",
    b"9223372036854775808",
    b"-9223372036854775809",
]
BOUNDARY_NUMBERS = [
    0,
    -0.0,
    0.0,
    1,
    -1,
    0.5,
    -0.5,
    2**63 - 1,
    2**63,
    2**64,
    1.7976931348623157e308,
    True,
    False,
]
#: Numbers near the bounds of positions (10^10 s; 1.7e9: a DASH live position) and of ``ts`` (ms from 2000 to now + 1 day, or ns).
BOUND_NUMBERS = [
    10**10,
    10**10 + 1,
    1e10 + 1e-5,
    1.7e9,
    946_684_800_000,
    946_684_799_999,
    1_733_322_000_000_000_000,
    4_102_444_800_000,
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "",
            "play",
            "seek",
            "load",
            "progress",
            "Play",
            "v1",
            "st1",
            "x" * 64,
            "x" * 65,
            "y" * 2049,
        ]
    ),
    st.text(max_size=40),
    st.sampled_from(EDGE_NUMBERS).map(msgspec.Raw),
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
base_event = st.fixed_dictionaries(
    {"type": st.sampled_from(["play", "seek", "load", "pause"]), "session_id": st.just("s1"),
     "load_id": st.just("l1"), "seq": st.integers(0, 9), "position": st.floats(0, 100)},
    optional={"video_id": st.just("v1"), "stream_id": st.just("st1"), "event_id": st.just("ev1"),
              "from": st.floats(0, 100), "ts": st.integers(0, 2**45)},
)  # fmt: skip


def boundary_strings(limit: int) -> st.SearchStrategy[str]:
    sizes = st.sampled_from([0, 1, limit - 1, limit, limit + 1])
    return st.builds(lambda n, c: c * n, sizes, st.sampled_from(["a", "_", "é", "Z"]))


def field_values(name: str) -> st.SearchStrategy[object]:
    """Values near the edges of the field's rule, or any JSON value."""
    kind, limit = wire._IMPORT_RULES.get(name, ("str", 8))
    if kind in ("id", "str", "type"):
        edges: st.SearchStrategy[object] = boundary_strings(min(limit, 4096))
    else:
        edges = st.sampled_from(BOUNDARY_NUMBERS + BOUND_NUMBERS)
    return st.one_of(edges, json_values)


@st.composite
def event_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly-valid events with a few fields overwritten or removed."""
    event = draw(base_event)
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        if draw(st.booleans()):
            event[name] = draw(field_values(name))
        else:
            event.pop(name, None)
    return event


bodies = st.one_of(
    event_dicts(),
    st.lists(event_dicts(), max_size=5),
    json_values,
    st.lists(st.one_of(event_dicts(), json_values), max_size=4),
)

#: Byte sequences JSON may not hold, or that parsers choke on, to splice into a real body.
POISON = [
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b'"\\ud800"',
    b"\\ud800",
    b"\x00",
    b"NaN",
    b"Infinity",
    b"1e99999",
]


@st.composite
def deep(draw: st.DrawFn) -> bytes:
    """A JSON value nested up to 3,000 levels deep, alone or as a field of a real event."""
    depth = draw(st.sampled_from([64, 500, 999, 1000, 1001, 3000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    value = opener * depth + (b"1" if opener != b"[" else b"") + closer * depth
    event = msgspec.json.encode(draw(event_dicts()))
    return draw(st.sampled_from([value, b"[" + value + b"]", event[:-1] + b',"deep":' + value + b"}"]))


@st.composite
def spliced(draw: st.DrawFn) -> bytes:
    """A real body with one poison sequence put somewhere in it (in a key, a value, anywhere)."""
    body = msgspec.json.encode(draw(st.lists(event_dicts(), min_size=1, max_size=3)))
    at = draw(st.integers(0, len(body)))
    return body[:at] + draw(st.sampled_from(POISON)) + body[at:]


hostile_bytes = st.one_of(deep(), spliced(), st.binary(max_size=64))

ids = st.one_of(
    st.text(min_size=1, max_size=64),
    st.sampled_from(["s1", "l1", "x" * 64, "\x00", "é" * 64, "\U0001f600"]),
)
positions = st.one_of(st.floats(0, 1e10), st.sampled_from([0, 1e10, 5e-324, 9_999_999_999.999, 1e-300, 1.7e9]))
IMPORT_TS = st.integers(946_684_800_000, 1_767_225_600_000)  # 2000-01-01 .. 2026-01-01: always in the window


@st.composite
def edge_events(draw: st.DrawFn, ts: st.SearchStrategy[int] | None = None) -> dict[str, Any]:
    """Valid events with values at the edges of what is accepted (extreme positions, odd
    strings, any player event type, unknown fields holding junk): these reach the store."""
    content = draw(
        st.sampled_from(
            [
                {"video_id": "v1"},
                {"video_id": "vn"},
                {"stream_id": "st1"},
                {"stream_id": "st1", "event_id": "ev1"},
            ]
        )
    )
    kind = draw(
        st.one_of(
            st.sampled_from(["load", "play", "progress", "pause", "seek", "ended", "error"]),
            st.from_regex(r"[a-z_]{1,32}", fullmatch=True),
        )
    )
    event: dict[str, Any] = {
        "type": kind,
        "session_id": draw(ids),
        "load_id": draw(ids),
        **content,
    }
    event["seq"] = draw(st.one_of(st.integers(0, 20), st.sampled_from([2**63 - 1, 0])))
    if kind != "load" or draw(st.booleans()):
        event["position"] = draw(positions)
    if kind == "seek" or draw(st.booleans()):
        event["from"] = draw(positions)
    optional = {
        "duration": st.one_of(st.floats(5e-324, 1e10), st.just(1e10)),
        "url": st.one_of(st.text(max_size=200), st.just("https://" + "x" * 2040)),
        "external_id": st.text(max_size=256),
        "id": ids,
        "ts": ts if ts is not None else st.integers(0, 2**63 - 1),
        "junk": json_values,
    }
    for name in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        event[name] = draw(optional[name])
    if ts is not None:
        event["ts"] = draw(ts)
    return event


@st.composite
def import_lines(draw: st.DrawFn) -> bytes:
    """An NDJSON import body: events (with ``ts``, ``ip``, ``user_agent`` sometimes) and garbage lines."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["edge", "edge", "event", "event", "json", "hostile"]))
        if kind == "edge":
            event = draw(edge_events(ts=IMPORT_TS))
            event["user_agent"] = draw(st.sampled_from([DESKTOP_UA, "", "curl/8"]))
            lines.append(msgspec.json.encode(event))
        elif kind == "event":
            event = draw(event_dicts())
            event.setdefault(
                "ts",
                draw(st.sampled_from([1_767_225_600_000, *BOUND_NUMBERS, 2**63 - 1, -1])),
            )
            if draw(st.booleans()):
                event["ip"] = draw(
                    st.sampled_from(
                        [
                            "77.88.55.88",
                            "::1",
                            "not an ip",
                            "1" * 65,
                            "",
                            "fe80::1%eth0",
                        ]
                    )
                )
                event["user_agent"] = draw(st.one_of(st.text(max_size=30), st.just("M" * 4097)))
            lines.append(msgspec.json.encode(event))
        elif kind == "json":
            lines.append(msgspec.json.encode(draw(json_values)))
        else:
            lines.append(draw(hostile_bytes).replace(b"\n", b" "))
    return b"\n".join(lines)


#: What the strategies' ids refer to: a video with a duration, one without, a stream and one of its broadcasts.
FUZZ_CATALOG: list[tuple[str, dict[str, Any]]] = [
    ("/v1/projects", {"id": "p", "name": "Fuzz"}),
    ("/v1/videos", {"id": "v1", "project_id": "p", "title": "Sixty", "duration": 60}),
    (
        "/v1/videos",
        {"id": "vgood", "project_id": "p", "title": "Counted", "duration": 60},
    ),
    ("/v1/streams", {"id": "st1", "project_id": "p", "title": "Live"}),
    ("/v1/streams/st1/events", {"id": "ev1", "title": "Episode"}),
]
GOOD_VIDEO = "vgood"


def start_fuzz_server(data: Path) -> Server:
    """A running ``watchdepth serve`` on ``data`` with ``FUZZ_CATALOG``; the caller stops it."""
    server = Server(data)
    server.start()
    for path, body in FUZZ_CATALOG:
        server.ok("POST", path, json=body)
    return server


def good_load(session: str, content: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One load that makes exactly one player load, one view and 10 s of watch time."""
    base = {
        "session_id": session,
        "load_id": session + "-L",
        **(content or {"video_id": GOOD_VIDEO}),
    }
    return [
        {"type": "load", "seq": 0, **base},
        {"type": "play", "seq": 1, "position": 0, **base},
        {"type": "pause", "seq": 2, "position": 10, **base},
    ]


class OneConnection:
    """An HTTP/1.1 client that asserts every answer came over the same keep-alive connection.

    httpx opens a new connection when the server closed the last one; the local port of
    the connection an answer came on tells. ``send`` returns the answer.
    """

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=30)
        self.port: int | None = None

    def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        r = self.client.request(method, path, **kw)
        port = r.extensions["network_stream"].get_extra_info("client_addr")[1]
        assert r.headers.get("connection", "").lower() != "close", (
            r.status_code,
            r.text,
        )
        if self.port is None:
            self.port = port
        assert port == self.port, f"the server dropped the connection after the previous answer (now {r.status_code})"
        return r

    def close(self) -> None:
        self.client.close()
