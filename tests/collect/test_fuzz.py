"""Fuzzing the intake: no body raises anything but InvalidInput, and both decode paths agree."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchdepth.catalog.model import ContentInfo
from watchdepth.collect import wire
from watchdepth.collect.device import DeviceParser
from watchdepth.collect.geo import GeoLookup
from watchdepth.collect.pipeline import Collector
from watchdepth.collect.wire import decode_batch, decode_import_lines
from watchdepth.errors import InvalidInput

FIELDS = [*wire._IMPORT_RULES, "from_", "Type", ""]
EDGE_NUMBERS = [
    b"1e400", b"-1e400", b"1" * 400, b"-0.0", b"1E2", b"0e0", b"9223372036854775808", b"-9223372036854775809",
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "play", "seek", "load", "progress", "Play", "v1", "s1", "x" * 64, "x" * 65, "y" * 2049]),
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


BOUNDARY_NUMBERS = [0, -0.0, 0.0, 1, -1, 0.5, -0.5, 2**63 - 1, 2**63, 2**64, 1.7976931348623157e308, True, False]


def boundary_strings(limit: int) -> st.SearchStrategy[str]:
    sizes = st.sampled_from([0, 1, limit - 1, limit, limit + 1])
    return st.builds(lambda n, c: c * n, sizes, st.sampled_from(["a", "_", "é", "Z"]))


def field_values(name: str) -> st.SearchStrategy[object]:
    """Values near the edges of the field's rule, or any JSON value."""
    kind, limit = wire._IMPORT_RULES.get(name, ("str", 8))
    edges = boundary_strings(min(limit, 4096)) if kind in ("id", "str", "type") else st.sampled_from(BOUNDARY_NUMBERS)
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

CATALOG = {
    "v1": ContentInfo("v1", "video", "p", duration=60.0),
    "st1": ContentInfo("st1", "stream", "p"),
    "ev1": ContentInfo("ev1", "event", "p", stream_id="st1"),
}
COLLECTOR = Collector(CATALOG, GeoLookup(), DeviceParser(), trusted_proxies=["10.0.0.0/8"])


def edge_values(name: str) -> list[object]:
    kind, limit = wire._IMPORT_RULES.get(name, ("str", 8))
    limit = min(limit, 4096)
    strings = [c * n for n in (0, 1, limit - 1, limit, limit + 1) for c in ("a", "é")]
    return [*strings, *BOUNDARY_NUMBERS, *map(msgspec.Raw, EDGE_NUMBERS), None, [], {}, "1", "Play", "seek"]


def accepts(body: bytes) -> bool:
    try:
        decode_batch(body)
    except InvalidInput:
        return False
    return True


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_invalid_input(body: bytes) -> None:
    accepts(body)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
def test_json_bodies_raise_only_invalid_input(value: object) -> None:
    accepts(msgspec.json.encode(value))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(bodies, st.text(max_size=30), st.one_of(st.none(), st.text(max_size=30)), st.one_of(st.none(), st.text()))
def test_collector_raises_only_invalid_input(value: object, peer: str, xff: str | None, header: str | None) -> None:
    try:
        COLLECTOR.from_request(
            msgspec.json.encode(value), peer_ip=peer, x_forwarded_for=xff, user_agent=header, referer=header,
            received_at=1,
        )  # fmt: skip
    except InvalidInput:
        pass


def test_both_paths_agree_on_every_edge_value_of_every_field() -> None:
    for base in ({"type": "load", "video_id": "v1"}, {"type": "seek", "stream_id": "s", "position": 1, "from": 0}):
        for name in FIELDS:
            for value in edge_values(name):
                assert_paths_agree({"session_id": "s1", "load_id": "l1", "seq": 1, "ts": 5, **base, name: value})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(event_dicts())
def test_fast_path_and_error_naming_path_agree(event: dict[str, Any]) -> None:
    assert_paths_agree(event)


def assert_paths_agree(event: dict[str, Any]) -> None:
    """msgspec accepts an event exactly when the field-by-field validator finds no problem."""
    body = msgspec.json.encode(event)
    fallback = [("event", "invalid", "sentinel")]
    slow = wire._explain(msgspec.Raw(body), wire._WIRE, msgspec.ValidationError("sentinel"))
    assert accepts(body) == (slow == fallback)
    slow_import = wire._explain(msgspec.Raw(body), wire._IMPORT, msgspec.ValidationError("sentinel"))
    try:
        decode_import_lines([body])
        imported = True
    except InvalidInput as exc:
        imported = False
        assert all(p.reason != "invalid" or p.name != "event" for p in exc.invalid_params)
    assert imported == (slow_import == fallback)
