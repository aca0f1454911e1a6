"""Periods and time zones: turns ``from``/``to``/``period``/``timezone`` into UTC instants.

Input: the API's strings (docs/api.md "Dates") and the current time. Output: a ``Period``
(``[start_ms, end_ms)`` and the zone), and the buckets of a timeline (every bucket,
zeros included). A bare-date ``to`` is the start of that day, exclusive, as in Kinescope's
API (``from=2020-08-30&to=2020-09-01`` is two days). Times outside ``EARLIEST`` .. now + one
year are refused (400400 naming the parameter), and ``bucket_count`` bounds a timeline
before anything is built. It does not query anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watchdepth.errors import InvalidParam, ValidationFailed

PERIODS = (
    "today",
    "yesterday",
    "last_24_hours",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "last_year",
    "all_time",
)
GROUP_TIMES = ("hour", "day", "week", "month")
#: The earliest instant a request may name (no event can be older: imports start there too).
EARLIEST = date(2000, 1, 1)
#: How far past now a request may reach.
AHEAD = timedelta(days=366)
#: The most buckets one timeline answer may hold (hours of 416 days, days of 27 years).
MAX_BUCKETS = 10_000
#: The shortest length of each bucket size (ms): bucket_count over-estimates, never under.
_BUCKET_MS = {
    "hour": 3_600_000,
    "day": 82_800_000,
    "week": 604_800_000 - 3_600_000,
    "month": 28 * 86_400_000 - 3_600_000,
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UTC = UTC


@dataclass(frozen=True)
class Period:
    start_ms: int
    end_ms: int
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def previous(self) -> Period:
        """The period of the same length just before this one (for "change against")."""
        span = self.end_ms - self.start_ms
        return Period(self.start_ms - span, self.start_ms, self.timezone)


def zone(name: str | None, default: str = "UTC") -> str:
    name = name or default
    try:
        if len(name) > 64:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "America"
        raise _bad("timezone", f"unknown time zone {name[:64]!r}; use an IANA name such as Europe/Berlin") from None
    return name


def parse_period(
    *,
    from_: str | None,
    to: str | None,
    period: str | None,
    tz: str,
    now_ms: int,
    first_ms: int | None = None,
) -> Period:
    """The API's date parameters as a ``Period``. ``first_ms``: the earliest data, for all_time."""
    z = ZoneInfo(tz)
    if period is not None:
        if from_ is not None or to is not None:
            raise _bad("period", "give either period or from/to, not both")
        return named_period(period, z, tz, now_ms, first_ms)
    problems = []
    if from_ is None:
        problems.append(InvalidParam("from", "required", "from is required (YYYY-MM-DD or RFC 3339), or use period"))
    if to is None:
        problems.append(InvalidParam("to", "required", "to is required (YYYY-MM-DD or RFC 3339), or use period"))
    if problems:
        raise ValidationFailed("parameters did not validate", invalid_params=problems)
    assert from_ is not None and to is not None
    start = _instant("from", from_, z, now_ms)
    end = _instant("to", to, z, now_ms)
    if end <= start:
        raise _bad("to", "to must be after from")
    return Period(start, end, tz)


def named_period(name: str, z: ZoneInfo, tz: str, now_ms: int, first_ms: int | None) -> Period:
    now = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(z)
    today = now.date()
    if name == "last_24_hours":
        return Period(now_ms - 86_400_000, now_ms, tz)
    if name == "all_time":
        start = _ms(_midnight(datetime.fromtimestamp((first_ms or now_ms) / 1000, UTC).astimezone(z).date(), z))
        return Period(start, _ms(_midnight(today + timedelta(days=1), z)), tz)
    spans = {
        "today": (today, today + timedelta(days=1)),
        "yesterday": (today - timedelta(days=1), today),
        "this_week": (_monday(today), _monday(today) + timedelta(days=7)),
        "last_week": (_monday(today) - timedelta(days=7), _monday(today)),
        "this_month": (today.replace(day=1), _next_month(today)),
        "last_month": (_prev_month(today), today.replace(day=1)),
        "last_year": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
    }
    if name not in spans:
        raise _bad("period", f"unknown period {name!r}; one of {', '.join(PERIODS)}")
    a, b = spans[name]
    return Period(_ms(_midnight(a, z)), _ms(_midnight(b, z)), tz)


def bucket_count(p: Period, group_time: str) -> int:
    """At least the number of buckets ``buckets`` gives, without building them."""
    return (p.end_ms - p.start_ms) // _BUCKET_MS[group_time] + 2


def buckets(p: Period, group_time: str) -> list[int]:
    """Start (ms) of every bucket overlapping the period, in the period's zone."""
    z = p.zone
    t = _floor(datetime.fromtimestamp(p.start_ms / 1000, UTC).astimezone(z), group_time)
    out = []
    while _ms(t) < p.end_ms:
        out.append(_ms(t))
        t = _next(t, group_time, z)
    return out


def _floor(t: datetime, group_time: str) -> datetime:
    z = t.tzinfo
    if group_time == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    d = t.date()
    if group_time == "week":
        d = _monday(d)
    elif group_time == "month":
        d = d.replace(day=1)
    assert isinstance(z, ZoneInfo)
    return _midnight(d, z)


def _next(t: datetime, group_time: str, z: ZoneInfo) -> datetime:
    if group_time == "hour":
        return datetime.fromtimestamp(_ms(t) / 1000 + 3600, UTC).astimezone(z)
    d = t.date()
    step = {"day": d + timedelta(days=1), "week": d + timedelta(days=7)}.get(group_time) or _next_month(d)
    return _midnight(step, z)


def _instant(name: str, value: str, z: ZoneInfo, now_ms: int) -> int:
    """A date (midnight in ``z``) or an RFC 3339 time, in ms, within EARLIEST .. now + AHEAD."""
    latest = datetime.fromtimestamp(now_ms / 1000, UTC) + AHEAD
    window = f"{name} must lie between {EARLIEST.isoformat()} and {latest.date().isoformat()} (one year from now)"
    try:
        if _DATE.match(value):
            d = date.fromisoformat(value)
            if not EARLIEST <= d <= latest.date():
                raise _bad(name, window)
            return _ms(_midnight(d, z))
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(name, f"{name} must be YYYY-MM-DD or an RFC 3339 time, got {value[:40]!r}") from None
    if t.tzinfo is None:
        raise _bad(name, f"{name} must carry a UTC offset (e.g. 2024-01-01T00:00:00Z)")
    try:
        ms = _ms(t)
    except (OverflowError, ValueError, OSError):
        raise _bad(name, window) from None
    if not _ms(datetime(EARLIEST.year, 1, 1, tzinfo=UTC)) - 86_400_000 <= ms <= _ms(latest):
        raise _bad(name, window)
    return ms


def _midnight(d: date, z: ZoneInfo) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=z)


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _prev_month(d: date) -> date:
    first = d.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def iso(ms: int) -> str:
    """RFC 3339 UTC, as every time in a response."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bad(name: str, message: str) -> ValidationFailed:
    return ValidationFailed("parameters did not validate", invalid_params=[InvalidParam(name, "invalid", message)])
