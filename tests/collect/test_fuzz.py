"""Fuzzing the intake: no body raises anything but InvalidInput, and both decode paths agree.

The strategies live in tests/fuzz_helpers.py (shared with tests/api/test_fuzz_ingest.py).
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz_helpers import (
    BOUNDARY_NUMBERS,
    EDGE_NUMBERS,
    FIELDS,
    bodies,
    event_dicts,
    hostile_bytes,
)
from watchdepth.catalog.model import ContentInfo
from watchdepth.collect import wire
from watchdepth.collect.device import DeviceParser
from watchdepth.collect.geo import GeoLookup
from watchdepth.collect.pipeline import Collector
from watchdepth.collect.wire import decode_batch, decode_import_lines
from watchdepth.errors import InvalidInput

CATALOG = {
    "v1": ContentInfo("v1", "video", "p", duration=60.0),
    "st1": ContentInfo("st1", "stream", "p"),
    "ev1": ContentInfo("ev1", "event", "p", stream_id="st1"),
}
COLLECTOR = Collector(CATALOG, GeoLookup(), DeviceParser(), trusted_proxies=["10.0.0.0/8"])


def edge_values(name: str) -> list[object]:
    _, limit = wire._IMPORT_RULES.get(name, ("str", 8))
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_bytes)
def test_hostile_bytes_raise_only_invalid_input(body: bytes) -> None:
    """Deep nesting, invalid UTF-8 and huge numbers: a clear refusal, never RecursionError or DecodeError."""
    accepts(body)
    try:
        decode_import_lines(body.splitlines())
    except InvalidInput:
        pass


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
