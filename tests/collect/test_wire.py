"""collect.wire: every field rule, batch limits, and what malformed bodies raise."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from watchdepth.collect import wire
from watchdepth.collect.wire import (
    ImportEvent,
    WireEvent,
    decode_batch,
    decode_import_lines,
)
from watchdepth.errors import BadJSON, InvalidInput, ValidationFailed, WrongType


class _Missing:
    """A field left out of the event (its repr keeps test ids the same in every process)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


def event(**changes: Any) -> dict[str, Any]:
    """A valid progress event with ``changes`` applied (``MISSING`` deletes a field)."""
    out: dict[str, Any] = {
        "type": "progress", "video_id": "v1", "session_id": "s1", "load_id": "l1", "seq": 3, "position": 12.5,
    }  # fmt: skip
    out.update(changes)
    return {k: v for k, v in out.items() if v is not MISSING}


def encode(value: object) -> bytes:
    return msgspec.json.encode(value)


def refused(body: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        decode_batch(body)
    assert info.value.code == 400400 and info.value.status == 400
    return info.value


def problems(exc: InvalidInput) -> list[tuple[str, str, int | None]]:
    return [(p.name, p.reason, p.index) for p in exc.invalid_params]


# (changes to a valid event, the one (name, reason) expected)
FIELD_RULES: list[tuple[dict[str, Any], tuple[str, str]]] = [
    ({"type": MISSING}, ("type", "required")),
    ({"type": None}, ("type", "required")),
    ({"type": 7}, ("type", "wrong_type")),
    ({"type": ""}, ("type", "empty")),
    ({"type": "a" * 33}, ("type", "too_long")),
    ({"type": "Play"}, ("type", "invalid")),
    ({"type": "play-1"}, ("type", "invalid")),
    ({"type": "play\n"}, ("type", "invalid")),
    ({"video_id": MISSING}, ("video_id", "required")),
    ({"video_id": None}, ("video_id", "required")),
    ({"stream_id": "s1"}, ("stream_id", "conflict")),
    ({"video_id": "v" * 65}, ("video_id", "too_long")),
    ({"video_id": ""}, ("video_id", "empty")),
    ({"video_id": 5}, ("video_id", "wrong_type")),
    ({"video_id": MISSING, "stream_id": "x" * 65}, ("stream_id", "too_long")),
    ({"event_id": "e1"}, ("event_id", "conflict")),
    ({"video_id": MISSING, "stream_id": "s1", "event_id": "e" * 65}, ("event_id", "too_long")),
    ({"session_id": MISSING}, ("session_id", "required")),
    ({"session_id": None}, ("session_id", "required")),
    ({"session_id": "s" * 65}, ("session_id", "too_long")),
    ({"session_id": ["s"]}, ("session_id", "wrong_type")),
    ({"load_id": MISSING}, ("load_id", "required")),
    ({"load_id": "l" * 65}, ("load_id", "too_long")),
    ({"seq": MISSING}, ("seq", "required")),
    ({"seq": -1}, ("seq", "out_of_range")),
    ({"seq": 2**63}, ("seq", "out_of_range")),
    ({"seq": 1.5}, ("seq", "wrong_type")),
    ({"seq": 1.0}, ("seq", "wrong_type")),
    ({"seq": True}, ("seq", "wrong_type")),
    ({"seq": "1"}, ("seq", "wrong_type")),
    ({"position": MISSING}, ("position", "required")),
    ({"position": -0.5}, ("position", "out_of_range")),
    ({"position": "1"}, ("position", "wrong_type")),
    ({"position": False}, ("position", "wrong_type")),
    ({"type": "seek", "position": 5}, ("from", "required")),
    ({"type": "seek", "from": -1}, ("from", "out_of_range")),
    ({"type": "seek", "from": "0"}, ("from", "wrong_type")),
    ({"duration": 0}, ("duration", "out_of_range")),
    ({"duration": -3.5}, ("duration", "out_of_range")),
    ({"duration": "60"}, ("duration", "wrong_type")),
    ({"url": "https://e.com/" + "a" * 2035}, ("url", "too_long")),
    ({"url": 42}, ("url", "wrong_type")),
    ({"external_id": "x" * 257}, ("external_id", "too_long")),
    ({"id": "i" * 65}, ("id", "too_long")),
    ({"id": ""}, ("id", "empty")),
    ({"ts": 1.5}, ("ts", "wrong_type")),
    ({"ts": -1}, ("ts", "out_of_range")),
    ({"ts": "1718000000000"}, ("ts", "wrong_type")),
    # quality fields (docs/metrics.md §7): bounded on any type, ms required on startup and stall
    ({"type": "startup", "position": MISSING}, ("ms", "required")),
    ({"type": "stall", "ms": None}, ("ms", "required")),
    ({"type": "stall", "ms": -1}, ("ms", "out_of_range")),
    ({"type": "startup", "ms": 3_600_001}, ("ms", "out_of_range")),
    ({"type": "startup", "ms": 12.5}, ("ms", "wrong_type")),
    ({"ms": "5"}, ("ms", "wrong_type")),
    ({"type": "error", "code": "c" * 65}, ("code", "too_long")),
    ({"type": "error", "code": 4}, ("code", "wrong_type")),
    ({"type": "error", "message": "m" * 257}, ("message", "too_long")),
    ({"type": "error", "fatal": 1}, ("fatal", "wrong_type")),
    ({"type": "error", "fatal": "true"}, ("fatal", "wrong_type")),
]


@pytest.mark.parametrize(("changes", "expected"), FIELD_RULES, ids=[repr(c)[:60] for c, _ in FIELD_RULES])
def test_each_field_rule_names_field_reason_and_index(changes: dict[str, Any], expected: tuple[str, str]) -> None:
    exc = refused(encode([event(), event(**changes)]))
    assert problems(exc) == [(*expected, 1)]
    assert exc.invalid_params[0].message


@pytest.mark.parametrize("text", [b"1e400", b"-1e400", b"1" * 400])
@pytest.mark.parametrize("name", ["position", "duration"])
def test_numbers_must_be_finite(text: bytes, name: str) -> None:
    body = b'{"type":"progress","video_id":"v","session_id":"s","load_id":"l","seq":1,"position":1,"%s":%s}'
    exc = refused(body % (name.encode(), text))
    assert problems(exc) == [(name, "out_of_range", 0)]


@pytest.mark.parametrize("type_", ["play", "progress", "pause", "seek", "ended"])
def test_position_is_required_for_playback_types(type_: str) -> None:
    exc = refused(encode(event(type=type_, position=MISSING, **{"from": 1.0})))
    assert problems(exc) == [("position", "required", 0)]


@pytest.mark.parametrize("type_", ["load", "error", "quality_change", "a" * 32, "_"])
def test_other_types_need_no_position(type_: str) -> None:
    [got] = decode_batch(encode(event(type=type_, position=MISSING)))
    assert got.type == type_ and got.position is None


def test_a_full_event_decodes_with_every_field() -> None:
    full = event(
        type="seek", video_id=MISSING, stream_id="s9", event_id="e9", position=30, duration=3600.5,
        url="https://x.org/p", external_id="u@x.org", id="k1", ts=1718000000000, **{"from": 10.25},
    )  # fmt: skip
    [got] = decode_batch(encode(full))
    assert got == WireEvent(
        type="seek", session_id="s1", load_id="l1", seq=3, stream_id="s9", event_id="e9", position=30.0,
        from_=10.25, duration=3600.5, url="https://x.org/p", external_id="u@x.org", id="k1", ts=1718000000000,
    )  # fmt: skip


def test_unknown_fields_and_nulls_are_ignored() -> None:
    [got] = decode_batch(encode(event(future_field={"a": [1, 2]}, url=None, ts=None, extra=1)))
    assert got.url is None and got.ts is None


def test_one_bad_event_among_three_names_only_its_index() -> None:
    exc = refused(encode([event(seq=0), event(seq=-5), event(seq=2)]))
    assert problems(exc) == [("seq", "out_of_range", 1)]


def test_every_bad_event_and_every_problem_is_listed() -> None:
    bad = [event(), event(seq="x", session_id=MISSING), 7, event(type="Bad", position=MISSING, stream_id="s")]
    exc = refused(encode(bad))
    assert problems(exc) == [
        ("seq", "wrong_type", 1),
        ("session_id", "required", 1),
        ("event", "wrong_type", 2),
        ("type", "invalid", 3),
        ("stream_id", "conflict", 3),
    ]


def test_cross_field_errors_on_the_fast_path_name_every_event() -> None:
    exc = refused(encode([event(position=MISSING), event(), event(type="seek")]))
    assert problems(exc) == [("position", "required", 0), ("from", "required", 2)]


def test_500_events_pass_and_501_are_refused() -> None:
    assert len(decode_batch(encode([event(seq=i) for i in range(500)]))) == 500
    exc = refused(encode([event(seq=i) for i in range(501)]))
    assert problems(exc) == [("body", "too_many", None)]


def test_a_single_object_and_an_empty_array() -> None:
    assert decode_batch(encode(event())) == [msgspec.convert(event(), WireEvent)]
    assert decode_batch(b" [ ] ") == []


NOT_JSON = [b"", b"not json", b"{", b'[{"type": "play"}', b"[1,]", b'{"a":1} x', b"NaN", b"\xff\xfe"]


@pytest.mark.parametrize("body", NOT_JSON)
def test_non_json_is_bad_json(body: bytes) -> None:
    with pytest.raises(BadJSON) as info:
        decode_batch(body)
    assert info.value.code == 400101


def test_bad_json_after_a_type_error_is_still_bad_json() -> None:
    with pytest.raises(BadJSON):
        decode_batch(b'[{"seq": "x"}, {')


@pytest.mark.parametrize("body", [b"1", b'"events"', b"null", b"true", b"3.5"])
def test_wrong_top_level_type(body: bytes) -> None:
    with pytest.raises(WrongType) as info:
        decode_batch(body)
    assert info.value.code == 400102


def test_import_lines_need_ts_and_carry_ip_and_user_agent() -> None:
    lines = [
        encode(event(ts=1_700_000_000_000, ip="77.88.55.88", user_agent="curl/8")),
        b"   \n",
        encode(event(seq=4, ts=1_700_000_001_000)) + b"\n",
    ]
    first, second = decode_import_lines(lines, start_line=0)
    assert first == ImportEvent(
        type="progress", video_id="v1", session_id="s1", load_id="l1", seq=3, position=12.5,
        ts=1_700_000_000_000, ip="77.88.55.88", user_agent="curl/8",
    )  # fmt: skip
    assert second.ip is None and second.seq == 4


def test_import_errors_are_indexed_by_line_number() -> None:
    lines = [encode(event(ts=1)), b"", encode(event()), b"{nope", encode(event(ts=2, ip=5)), b"[1]"]
    with pytest.raises(ValidationFailed) as info:
        decode_import_lines(lines, start_line=100)
    assert problems(info.value) == [
        ("ts", "required", 102),
        ("event", "bad_json", 103),
        ("ip", "wrong_type", 104),
        ("event", "wrong_type", 105),
    ]


def test_import_lists_at_most_a_thousand_problems() -> None:
    with pytest.raises(ValidationFailed) as info:
        decode_import_lines([b"{}"] * 400)
    assert len(info.value.invalid_params) == wire.MAX_IMPORT_ERRORS
    assert info.value.detail is not None and "the first 1000" in info.value.detail


def test_quality_fields_at_their_bounds_decode() -> None:
    got = decode_batch(
        encode(
            [
                event(type="startup", position=MISSING, ms=0),
                event(type="stall", ms=3_600_000, position=4.5),
                event(type="error", position=MISSING, code="c" * 64, message="m" * 256, fatal=True),
                event(type="error", position=MISSING),  # a tracker older than §7: no code, no fatal
            ]
        )
    )
    assert [(e.type, e.ms, e.fatal) for e in got] == [
        ("startup", 0, None),
        ("stall", 3_600_000, None),
        ("error", None, True),
        ("error", None, None),
    ]
    assert len(got[2].code or "") == 64 and len(got[2].message or "") == 256
