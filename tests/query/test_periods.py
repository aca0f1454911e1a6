"""Named periods and buckets on a fixed clock, across year ends and DST changes.

Every expected instant below was worked out by hand from a calendar (weeks start on Monday,
days begin at local midnight), not by calling the code under test: mutating ``last_month``
to the current month, or ``this_week`` to start on Sunday, fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from watchdepth.query.periods import Period, buckets, iso, parse_period


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


# New Year's Eve in UTC, 00:30 on Thursday 2026-01-01.
NEW_YEAR = "2026-01-01T00:30:00Z"
# Same instant in New York: 19:30 EST on Wednesday 2025-12-31; November 1 2025 was still EDT.
# Berlin, Sunday 2026-03-29 14:00 CEST: clocks went forward at 01:00 UTC that day (a 23 h day).
SPRING = "2026-03-29T12:00:00Z"
# Berlin, Sunday 2026-10-25 11:00 CET: clocks went back at 01:00 UTC that day (a 25 h day).
AUTUMN = "2026-10-25T10:00:00Z"

CASES = [
    (NEW_YEAR, "UTC", "today", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
    (NEW_YEAR, "UTC", "yesterday", "2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z"),
    (NEW_YEAR, "UTC", "last_24_hours", "2025-12-31T00:30:00Z", "2026-01-01T00:30:00Z"),
    (NEW_YEAR, "UTC", "this_week", "2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z"),
    (NEW_YEAR, "UTC", "last_week", "2025-12-22T00:00:00Z", "2025-12-29T00:00:00Z"),
    (NEW_YEAR, "UTC", "this_month", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
    (NEW_YEAR, "UTC", "last_month", "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"),
    (NEW_YEAR, "UTC", "last_year", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
    (NEW_YEAR, "America/New_York", "today", "2025-12-31T05:00:00Z", "2026-01-01T05:00:00Z"),
    (NEW_YEAR, "America/New_York", "yesterday", "2025-12-30T05:00:00Z", "2025-12-31T05:00:00Z"),
    (NEW_YEAR, "America/New_York", "this_week", "2025-12-29T05:00:00Z", "2026-01-05T05:00:00Z"),
    (NEW_YEAR, "America/New_York", "this_month", "2025-12-01T05:00:00Z", "2026-01-01T05:00:00Z"),
    (NEW_YEAR, "America/New_York", "last_month", "2025-11-01T04:00:00Z", "2025-12-01T05:00:00Z"),
    (NEW_YEAR, "America/New_York", "last_year", "2024-01-01T05:00:00Z", "2025-01-01T05:00:00Z"),
    (SPRING, "Europe/Berlin", "today", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
    (SPRING, "Europe/Berlin", "yesterday", "2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z"),
    (SPRING, "Europe/Berlin", "last_24_hours", "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"),
    (SPRING, "Europe/Berlin", "this_week", "2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z"),
    (SPRING, "Europe/Berlin", "last_week", "2026-03-15T23:00:00Z", "2026-03-22T23:00:00Z"),
    (SPRING, "Europe/Berlin", "this_month", "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z"),
    (SPRING, "Europe/Berlin", "last_month", "2026-01-31T23:00:00Z", "2026-02-28T23:00:00Z"),
    (AUTUMN, "Europe/Berlin", "today", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
    (AUTUMN, "Europe/Berlin", "yesterday", "2026-10-23T22:00:00Z", "2026-10-24T22:00:00Z"),
    (AUTUMN, "Europe/Berlin", "this_week", "2026-10-18T22:00:00Z", "2026-10-25T23:00:00Z"),
    (AUTUMN, "Europe/Berlin", "this_month", "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"),
    (AUTUMN, "Europe/Berlin", "last_month", "2026-08-31T22:00:00Z", "2026-09-30T22:00:00Z"),
    (AUTUMN, "Europe/Berlin", "last_year", "2024-12-31T23:00:00Z", "2025-12-31T23:00:00Z"),
]


@pytest.mark.parametrize(
    ("now", "tz", "name", "start", "end"), CASES, ids=[f"{c[2]}-{c[1]}-{c[0][:10]}" for c in CASES]
)
def test_named_period(now: str, tz: str, name: str, start: str, end: str) -> None:
    p = parse_period(from_=None, to=None, period=name, tz=tz, now_ms=ms(now))
    assert (iso(p.start_ms), iso(p.end_ms)) == (start, end)
    assert p.timezone == tz


def test_all_time_starts_at_the_first_data_day_and_ends_after_today() -> None:
    first = ms("2025-06-14T22:30:00Z")  # 00:30 on June 15 in Berlin (CEST, UTC+2)
    p = parse_period(from_=None, to=None, period="all_time", tz="Europe/Berlin", now_ms=ms(SPRING), first_ms=first)
    assert (iso(p.start_ms), iso(p.end_ms)) == ("2025-06-14T22:00:00Z", "2026-03-29T22:00:00Z")


def test_day_buckets_follow_local_midnight_across_the_spring_change() -> None:
    p = Period(ms("2026-03-27T23:00:00Z"), ms("2026-03-30T22:00:00Z"), "Europe/Berlin")
    assert [iso(b) for b in buckets(p, "day")] == [
        "2026-03-27T23:00:00Z",
        "2026-03-28T23:00:00Z",
        "2026-03-29T22:00:00Z",
    ]


def test_the_autumn_day_has_25_hour_buckets() -> None:
    p = parse_period(from_=None, to=None, period="today", tz="Europe/Berlin", now_ms=ms(AUTUMN))
    hours = buckets(p, "hour")
    assert len(hours) == 25
    assert all(b - a == 3_600_000 for a, b in zip(hours, hours[1:]))
    local = [datetime.fromtimestamp(h / 1000, UTC).astimezone(ZoneInfo("Europe/Berlin")).hour for h in hours]
    assert local[:4] == [0, 1, 2, 2]  # 02:00 happens twice


def test_week_and_month_buckets_across_the_year_end() -> None:
    p = Period(ms("2025-12-20T00:00:00Z"), ms("2026-01-10T00:00:00Z"), "UTC")
    assert [iso(b) for b in buckets(p, "week")] == [
        "2025-12-15T00:00:00Z",
        "2025-12-22T00:00:00Z",
        "2025-12-29T00:00:00Z",
        "2026-01-05T00:00:00Z",
    ]
    assert [iso(b) for b in buckets(p, "month")] == ["2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"]
