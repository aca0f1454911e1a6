"""What a report asks for, and where its rows come from.

Input: the JSON body of ``POST /v1/analytics/exports`` (or the CLI's arguments as
a dict). Output: a validated ``ExportSpec``; ``ReportSource`` is the interface the
query layer implements to turn a spec into rows. This module does not compute any
number and does not resolve a period into instants: ``query.periods`` owns that,
``parse_spec`` only asks it whether the dates are valid.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from typing import Protocol

import msgspec

from watchdepth.errors import InvalidParam, ValidationFailed, WrongType
from watchdepth.query.metrics import QUALITY_FIELDS
from watchdepth.query.periods import PERIODS, parse_period, zone

#: The export list of docs/api.md, in its order (the default choice and column order).
EXPORT_FIELDS = (
    "project_id",
    "project_name",
    "video_id",
    "stream_id",
    "event_id",
    "title",
    "duration",
    "folder_name",
    "folder_id",
    "player_loads",
    "unique_views",
    "views",
    "total_watch_time",
    "avg_watch_time",
    "watch_depth",
    "peak_concurrent_viewers",
    *QUALITY_FIELDS,  # docs/metrics.md §7
)
#: Fields that only stream and broadcast-event rows fill; a video row leaves them empty.
LIVE_ONLY_FIELDS = frozenset({"stream_id", "event_id", "peak_concurrent_viewers"})
FORMATS = ("csv", "xlsx")
#: ``custom`` is the dashboard's name for "from/to given"; it is stored as ``period=None``.
CUSTOM = "custom"
_KEYS = frozenset({"fields", "format", "folder_ids", "period", "from", "to", "email", "timezone"})
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\".]+(\.[^@\s,;<>\".]+)+$")


class ExportSpec(msgspec.Struct, frozen=True):
    """One report as the user asked for it. ``period`` is None for a custom from/to."""

    fields: list[str]
    format: str  # "csv" | "xlsx"
    folder_ids: list[str]  # empty: the whole workspace the token may see
    period: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None
    email: str | None = None
    timezone: str | None = None  # None: the workspace's
    #: Set by the server, never by the body: the projects the submitting token may see
    #: (None: all), and when the report was asked for (named periods resolve at that instant).
    projects: list[str] | None = None
    asked_at: float | None = None


class ReportSource(Protocol):
    """Rows of a report. The query layer implements it; tests use a fake."""

    def export_rows(self, spec: ExportSpec) -> Iterator[dict[str, object]]:
        """One dict per content item in the folders (nested included), zero rows included.

        Keys are export field names; a video row has None for ``LIVE_ONLY_FIELDS``.
        """
        ...

    def count_rows(self, spec: ExportSpec) -> int:
        """How many rows ``export_rows`` will yield, for progress."""
        ...


def parse_spec(body: Mapping[str, object], *, now: float | None = None) -> ExportSpec:
    """A validated spec from a request body; raises WrongType or ValidationFailed naming each problem."""
    wrong: list[InvalidParam] = []
    bad: list[InvalidParam] = [InvalidParam(k, "unknown", f"unknown parameter {k!r}") for k in body if k not in _KEYS]
    chosen = _str_list(body, "fields", wrong)
    fields = list(EXPORT_FIELDS) if chosen is None else chosen
    folder_ids = _str_list(body, "folder_ids", wrong) or []
    text = {k: _str(body, k, wrong) for k in ("format", "period", "from", "to", "email", "timezone")}
    if wrong:
        raise WrongType("a parameter has the wrong JSON type", invalid_params=wrong)
    bad += _check_fields(fields) + _check_format(text["format"]) + _check_email(text["email"])
    asked_at = now if now is not None else time.time()
    bad += _check_dates(text, asked_at)
    if bad:
        raise ValidationFailed("parameters did not validate", invalid_params=bad)
    return ExportSpec(
        fields=fields,
        format=text["format"] or "csv",
        folder_ids=folder_ids,
        period=None if text["period"] == CUSTOM else text["period"],
        from_=text["from"],
        to=text["to"],
        email=text["email"],
        timezone=text["timezone"],
        asked_at=asked_at,
    )


def _str(body: Mapping[str, object], key: str, wrong: list[InvalidParam]) -> str | None:
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    wrong.append(InvalidParam(key, "wrong_type", f"{key} must be a string"))
    return None


def _str_list(body: Mapping[str, object], key: str, wrong: list[InvalidParam]) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    wrong.append(InvalidParam(key, "wrong_type", f"{key} must be a list of strings"))
    return None


def _check_fields(fields: list[str]) -> list[InvalidParam]:
    known = ", ".join(EXPORT_FIELDS)
    if not fields:
        return [InvalidParam("fields", "required", f"choose at least one field of {known}")]
    out = [
        InvalidParam("fields", "unknown", f"unknown field {f!r}; one of {known}")
        for f in fields
        if f not in EXPORT_FIELDS
    ]
    if len(set(fields)) != len(fields):
        out.append(InvalidParam("fields", "duplicate", "a field is listed twice"))
    return out


def _check_format(fmt: str | None) -> list[InvalidParam]:
    if fmt is None or fmt in FORMATS:
        return []
    return [InvalidParam("format", "invalid", f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")]


def _check_email(email: str | None) -> list[InvalidParam]:
    if email is None or (len(email) <= 254 and _EMAIL.match(email)):
        return []
    return [InvalidParam("email", "invalid", f"{email!r} is not an e-mail address")]


def _check_dates(text: Mapping[str, str | None], now: float) -> list[InvalidParam]:
    period = text["period"]
    if period is not None and period not in (*PERIODS, CUSTOM):
        return [InvalidParam("period", "invalid", f"unknown period {period!r}; one of {', '.join((*PERIODS, CUSTOM))}")]
    try:
        tz = zone(text["timezone"])
        parse_period(
            from_=text["from"],
            to=text["to"],
            period=None if period == CUSTOM else period,
            tz=tz,
            now_ms=int(now * 1000),
        )
    except ValidationFailed as exc:
        return exc.invalid_params
    return []
