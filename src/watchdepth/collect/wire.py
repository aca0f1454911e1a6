"""The tracker's wire format (docs/metrics.md §2): JSON bytes → validated ``WireEvent`` structs.

Input: the body of ``POST /collect`` (one object, or an array of up to 500) or the
lines of an NDJSON import. Output: ``list[WireEvent]`` / ``list[ImportEvent]``, or one
``ValidationFailed`` that names every bad event by index, field and reason.
It does not look ids up in the catalog nor enrich anything: ``collect.pipeline`` does.

Fast path: msgspec decodes the whole body into structs, then a cheap loop checks the
rules that span fields. Only when that fails is the body taken apart element by
element (and field by field) to name every error. Unknown fields are ignored.
``null`` counts as absent. JSON names are used in errors (``from``, not ``from_``).

Bounds (issue 13: no input may poison the store or overflow a sum). Every number has
one: ``position``, ``from`` and ``duration`` are finite, ``>= 0`` and at most
``MAX_SECONDS`` (10^10 s), checked by msgspec in C at no cost per event. Why not less:
real players report large values on live streams, which must not cost a batch: a DASH
live timeline counts from its availability start time, often 1970, so ``currentTime`` is
about 1.7·10^9 s, and some players give a live stream a duration of a year past its end.
Every position the sessionizer sees is therefore at most ``MAX_SECONDS``, which is the
clip for streams and for videos the catalog gives no duration (a video with one is
clipped to it by the sessionizer), so a (session, content)'s watch time is at most
``MAX_SECONDS`` whatever its viewer sends. Strings are bounded (ids 64, ``url`` 2048,
``external_id`` 256, import ``ip`` 64 and ``user_agent`` 4096 characters), the body by
the caller (413). Nesting is bounded by msgspec's recursion guard: a body nested deeper
than Python's recursion limit (about 1,000 levels) is refused as not valid JSON
(400101) before any of it is used; no event nests at all, so nothing legitimate is near it.
The time window of ``ts`` depends on the receive time and is ``collect.pipeline``'s.

Quality fields (docs/metrics.md §7): ``ms`` an integer 0..``MAX_MS`` (an hour), required on
``startup`` and ``stall``; ``code`` ≤ 64 and ``message`` ≤ 256 characters and ``fatal`` a
boolean, for ``error`` (all optional there: a tracker older than §7 sends a bare ``error``,
taken as not fatal). They are checked on every event that sends them (a bad value is a bad
event whatever its type), and kept only on their own types: ``collect.pipeline`` drops them
elsewhere, so a ``play`` with an ``ms`` stores no ``ms``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Final, cast

import msgspec
from msgspec import Meta

from watchdepth.collect.event import POSITIONED_TYPES
from watchdepth.errors import BadJSON, InvalidParam, ValidationFailed, WrongType

MAX_BATCH: Final = 500
MAX_SECONDS: Final = 10**10  # the largest position, from or duration accepted, seconds
MAX_IMPORT_ERRORS: Final = 1000  # errors listed per import call; the rest are counted
MAX_IP: Final = 64  # an IPv6 address with a zone fits
MAX_USER_AGENT: Final = 4096
MAX_MS: Final = 3_600_000  # the largest startup or stall duration accepted, ms
_I64: Final = 2**63 - 1
_TYPE_RE: Final = re.compile(r"[a-z_]{1,32}")
_KNOWN_TYPES: Final = POSITIONED_TYPES | {"load", "error", "startup", "stall"}
_MS_TYPES: Final = frozenset({"startup", "stall"})

Id = Annotated[str, Meta(min_length=1, max_length=64)]
Position = Annotated[float, Meta(ge=0, le=MAX_SECONDS)]
Count = Annotated[int, Meta(ge=0, le=_I64)]


class WireEvent(msgspec.Struct, frozen=True, gc=False):
    """One event as the tracker sends it, with types and single-field bounds checked."""

    type: Annotated[str, Meta(min_length=1, max_length=32)]
    session_id: Id
    load_id: Id
    seq: Count
    video_id: Id | None = None
    stream_id: Id | None = None
    event_id: Id | None = None
    position: Position | None = None
    from_: Position | None = msgspec.field(default=None, name="from")
    duration: Annotated[float, Meta(gt=0, le=MAX_SECONDS)] | None = None
    url: Annotated[str, Meta(max_length=2048)] | None = None
    external_id: Annotated[str, Meta(max_length=256)] | None = None
    id: Id | None = None
    ts: Count | None = None
    ms: Annotated[int, Meta(ge=0, le=MAX_MS)] | None = None
    code: Annotated[str, Meta(max_length=64)] | None = None
    message: Annotated[str, Meta(max_length=256)] | None = None
    fatal: bool | None = None


class ImportEvent(WireEvent, frozen=True, gc=False, kw_only=True):
    """A bulk-import event: the wire event plus what the HTTP request would have told."""

    ts: Count
    ip: Annotated[str, Meta(max_length=MAX_IP)] | None = None
    user_agent: Annotated[str, Meta(max_length=MAX_USER_AGENT)] | None = None


# Field rules for naming errors on the slow path; they mirror the annotations above
# (tests/collect/test_wire.py checks by fuzzing that both paths agree).
# kind, limit: "id" non-empty str ≤ limit; "str" str ≤ limit; "int" 0 ≤ int ≤ limit;
# "ge0" / "gt0" number ≥ 0 / > 0, and ≤ limit; "bool" true or false.
_WIRE_RULES: Final[Mapping[str, tuple[str, int]]] = {
    "type": ("type", 32),
    "session_id": ("id", 64),
    "load_id": ("id", 64),
    "seq": ("int", _I64),
    "video_id": ("id", 64),
    "stream_id": ("id", 64),
    "event_id": ("id", 64),
    "position": ("ge0", MAX_SECONDS),
    "from": ("ge0", MAX_SECONDS),
    "duration": ("gt0", MAX_SECONDS),
    "url": ("str", 2048),
    "external_id": ("str", 256),
    "id": ("id", 64),
    "ts": ("int", _I64),
    "ms": ("int", MAX_MS),
    "code": ("str", 64),
    "message": ("str", 256),
    "fatal": ("bool", 0),
}
_IMPORT_RULES: Final = {**_WIRE_RULES, "ip": ("str", MAX_IP), "user_agent": ("str", MAX_USER_AGENT)}
_WIRE_REQUIRED: Final = ("type", "session_id", "load_id", "seq")
_IMPORT_REQUIRED: Final = (*_WIRE_REQUIRED, "ts")


class _Schema(msgspec.Struct, frozen=True):
    decoder: msgspec.json.Decoder[WireEvent]
    rules: Mapping[str, tuple[str, int]]
    required: tuple[str, ...]


_WIRE: Final = _Schema(msgspec.json.Decoder(WireEvent), _WIRE_RULES, _WIRE_REQUIRED)
_IMPORT: Final = _Schema(msgspec.json.Decoder(ImportEvent), _IMPORT_RULES, _IMPORT_REQUIRED)
_BATCH: Final = msgspec.json.Decoder(Annotated[list[WireEvent], Meta(max_length=MAX_BATCH)] | WireEvent)
_TOP: Final = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, msgspec.Raw])
_FIELDS: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ANY: Final = msgspec.json.Decoder()

Problem = tuple[str, str, str]  # (field name, reason, message)
_BAD: Final = object()  # stands for a field that was sent but broke its own rule


def decode_batch(body: bytes) -> list[WireEvent]:
    """Decode a /collect body into wire events, or raise the InvalidInput that fits."""
    events, _, errors = decode_batch_partly(body)
    _raise_if_any(errors)
    return events


def decode_batch_partly(body: bytes) -> tuple[list[WireEvent], list[int] | None, list[InvalidParam]]:
    """Decode a /collect body: the events that passed, their indices (None: all passed), the errors.

    A body that is not JSON, not an object or array, or too long still raises. The caller
    checks the passing events further (unknown ids) so one answer names every problem.
    """
    try:
        decoded = _BATCH.decode(body)
    except msgspec.ValidationError:
        return _decode_slowly(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _bad_json(exc) from None
    events = [decoded] if isinstance(decoded, WireEvent) else decoded
    errors = _cross_params(events)
    if not errors:
        return events, None, []
    bad = {e.index for e in errors}
    keep = [i for i in range(len(events)) if i not in bad]
    return [events[i] for i in keep], keep, errors


def decode_import_lines(lines: Iterable[bytes], start_line: int = 0) -> list[ImportEvent]:
    """Decode NDJSON lines (blank ones skipped); an error's index is its 0-based line number."""
    events, _, errors = decode_import_lines_partly(lines, start_line)
    _raise_if_any(errors, cap=MAX_IMPORT_ERRORS)
    return events


def decode_import_lines_partly(
    lines: Iterable[bytes], start_line: int = 0
) -> tuple[list[ImportEvent], list[int], list[InvalidParam]]:
    """Decode NDJSON lines: the events that passed, their line numbers, and every error."""
    events: list[ImportEvent] = []
    numbers: list[int] = []
    errors: list[InvalidParam] = []
    for number, line in enumerate(lines, start_line):
        if not line.strip():
            continue
        event, problems = _decode_line(line, number)
        if problems:
            errors.extend(problems)
        elif event is not None:
            events.append(event)
            numbers.append(number)
    return events, numbers, errors


def _decode_line(line: bytes, number: int) -> tuple[ImportEvent | None, list[InvalidParam]]:
    try:
        event, problems = _decode_one(msgspec.Raw(line), number, _IMPORT)
    except (msgspec.DecodeError, RecursionError) as exc:  # syntax; validation errors are handled inside
        return None, [InvalidParam("event", "bad_json", f"line is not valid JSON: {_bad_json(exc).detail}", number)]
    return cast("ImportEvent | None", event), problems  # _IMPORT decodes ImportEvent


def _decode_slowly(body: bytes) -> tuple[list[WireEvent], list[int] | None, list[InvalidParam]]:
    """The fast decode failed on a schema error: name every bad event (as ``decode_batch_partly``).

    msgspec stops at the first problem, so a syntax error (say invalid UTF-8 in a key)
    after a schema error shows only here, element by element: it makes the body 400101.
    """
    try:
        return _name_every_problem(body)
    except msgspec.ValidationError:
        raise WrongType("body must be a JSON object or an array of objects") from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _bad_json(exc) from None


def _bad_json(exc: Exception) -> BadJSON:
    if isinstance(exc, RecursionError):
        return BadJSON("body is not valid JSON", detail="nested too deep")
    return BadJSON("body is not valid JSON", detail=str(exc))


def _name_every_problem(body: bytes) -> tuple[list[WireEvent], list[int] | None, list[InvalidParam]]:
    top = _TOP.decode(body)
    if isinstance(top, dict):
        top = [msgspec.Raw(body)]
    if len(top) > MAX_BATCH:
        raise ValidationFailed(
            f"at most {MAX_BATCH} events per request",
            invalid_params=[InvalidParam("body", "too_many", f"{len(top)} events; at most {MAX_BATCH}")],
        )
    events: list[WireEvent] = []
    keep: list[int] = []
    errors: list[InvalidParam] = []
    for index, raw in enumerate(top):
        event, problems = _decode_one(raw, index, _WIRE)
        if problems:
            errors.extend(problems)
        elif event is not None:
            events.append(event)
            keep.append(index)
    return events, (None if not errors else keep), errors


def _decode_one(raw: msgspec.Raw, index: int, schema: _Schema) -> tuple[WireEvent | None, list[InvalidParam]]:
    try:
        event = schema.decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return None, _params(_explain(raw, schema, exc), index)
    return event, _params(_cross_problems(event), index)


def _explain(raw: msgspec.Raw, schema: _Schema, exc: msgspec.ValidationError) -> list[Problem]:
    """Name every problem of one event that msgspec refused (it reports only the first)."""
    try:
        fields = _FIELDS.decode(raw)
    except msgspec.ValidationError:
        return [("event", "wrong_type", "an event must be a JSON object")]
    values: dict[str, object] = {}
    problems: list[Problem] = []
    for name, (kind, limit) in schema.rules.items():
        if name in fields:
            value, problem = _decode_field(fields[name], kind, limit)
            values[name] = value
            if problem is not None:
                problems.append((name, problem[0], f"{name} {problem[1]}"))
    problems += [(n, "required", f"{n} is required") for n in schema.required if values.get(n) is None]
    problems += _cross_problems_of(values)
    return problems or [("event", "invalid", str(exc))]


def _decode_field(raw: msgspec.Raw, kind: str, limit: int) -> tuple[object, tuple[str, str] | None]:
    """A field's value (``_BAD`` when it breaks its rule) and the problem, if any."""
    try:
        value = _ANY.decode(raw)
    except msgspec.ValidationError:
        return _BAD, ("out_of_range", "number out of range")
    problem = _check_field(kind, limit, value)
    return (value if problem is None else _BAD), problem


def _check_field(kind: str, limit: int, value: object) -> tuple[str, str] | None:
    """One field against its rule; ``None`` (JSON null) is the caller's business."""
    if value is None:
        return None
    if kind in ("id", "str", "type"):
        return _check_str(kind, limit, value)
    if kind == "bool":
        return None if isinstance(value, bool) else ("wrong_type", "must be true or false")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ("wrong_type", "must be an integer" if kind == "int" else "must be a number")
    if kind == "int":
        if not isinstance(value, int):
            return ("wrong_type", "must be an integer")
        if 0 <= value <= limit:
            return None
        return ("out_of_range", "must be a non-negative 64-bit integer" if limit == _I64 else f"must be 0 to {limit}")
    if not value <= limit:  # also true for NaN
        return ("out_of_range", f"must be at most {limit}")
    if kind == "gt0":
        return None if value > 0 else ("out_of_range", "must be > 0")
    return None if value >= 0 else ("out_of_range", "must be >= 0")


def _check_str(kind: str, limit: int, value: object) -> tuple[str, str] | None:
    if not isinstance(value, str):
        return ("wrong_type", "must be a string")
    if len(value) > limit:
        return ("too_long", f"at most {limit} characters")
    if kind != "str" and not value:
        return ("empty", "must not be empty")
    return None


def _cross_params(events: list[WireEvent]) -> list[InvalidParam]:
    errors: list[InvalidParam] = []
    for index, event in enumerate(events):
        problems = _cross_problems(event)
        if problems:
            errors += _params(problems, index)
    return errors


def _cross_problems(e: WireEvent) -> list[Problem]:
    return _cross(e.type, e.video_id, e.stream_id, e.event_id, e.position, e.from_, e.ms)


def _cross_problems_of(v: Mapping[str, object]) -> list[Problem]:
    get = v.get
    ids = get("video_id"), get("stream_id"), get("event_id")
    return _cross(get("type"), *ids, get("position"), get("from"), get("ms"))


def _cross(
    type_: object,
    video_id: object,
    stream_id: object,
    event_id: object,
    position: object,
    from_: object,
    ms: object = None,
) -> list[Problem]:
    """Rules that span fields, plus the ``type`` pattern; values may be of any JSON type."""
    out: list[Problem] = []
    if isinstance(type_, str) and type_ not in _KNOWN_TYPES and 0 < len(type_) <= 32 and not _TYPE_RE.fullmatch(type_):
        out.append(("type", "invalid", "type must match [a-z_]{1,32}"))
    if video_id is None and stream_id is None:
        out.append(("video_id", "required", "one of video_id or stream_id is required"))
    elif video_id is not None and stream_id is not None:
        out.append(("stream_id", "conflict", "send video_id or stream_id, not both"))
    if event_id is not None and stream_id is None and video_id is not None:
        out.append(("event_id", "conflict", "event_id goes with stream_id only"))
    if position is None and isinstance(type_, str) and type_ in POSITIONED_TYPES:
        out.append(("position", "required", f"position is required for {type_}"))
    if from_ is None and type_ == "seek":
        out.append(("from", "required", "from is required for seek"))
    if ms is None and type_ in _MS_TYPES:
        out.append(("ms", "required", f"ms is required for {type_}"))
    return out


def _params(problems: list[Problem], index: int) -> list[InvalidParam]:
    return [InvalidParam(name, reason, message, index) for name, reason, message in problems]


def _raise_if_any(errors: list[InvalidParam], cap: int | None = None) -> None:
    if not errors:
        return
    bad = len({e.index for e in errors})
    cap = len(errors) if cap is None else cap
    detail = None if len(errors) <= cap else f"{len(errors)} problems; the first {cap} are listed"
    message = f"{bad} invalid event(s); nothing was accepted"
    raise ValidationFailed(message, detail=detail, invalid_params=errors[:cap])
