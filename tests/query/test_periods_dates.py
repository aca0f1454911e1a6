"""``from``/``to`` as docs/api.md "Dates" says: a bare-date ``to`` is exclusive; times lie in a window;
``bucket_count`` never under-counts ``buckets`` (so the 10,000-bucket cap is safe)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchdepth.errors import ValidationFailed
from watchdepth.query.periods import GROUP_TIMES, Period, bucket_count, buckets, parse_period

NOW = int(datetime(2026, 12, 4, 12, tzinfo=UTC).timestamp() * 1000)
H = 3_600_000


def period(from_: str, to: str, tz: str = "UTC") -> Period:
    return parse_period(from_=from_, to=to, period=None, tz=tz, now_ms=NOW)


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def test_kinescopes_example_is_two_days() -> None:
    p = period("2020-08-30", "2020-09-01")
    assert (p.start_ms, p.end_ms) == (ms(2020, 8, 30), ms(2020, 9, 1))
    assert len(buckets(p, "day")) == 2


def test_exclusive_to_on_a_day_boundary_in_other_zones() -> None:
    # Moscow (UTC+3): 2026-01-05..2026-01-07 is [01-04T21:00Z, 01-06T21:00Z)
    p = period("2026-01-05", "2026-01-07", "Europe/Moscow")
    assert (p.start_ms, p.end_ms) == (ms(2026, 1, 4, 21), ms(2026, 1, 6, 21))
    # Berlin's spring-forward day has 23 hours, and the next midnight is not included
    p = period("2026-03-29", "2026-03-30", "Europe/Berlin")
    assert (p.start_ms, p.end_ms) == (ms(2026, 3, 28, 23), ms(2026, 3, 29, 22))
    assert len(buckets(p, "hour")) == 23
    # a timestamp `to` stays exclusive as given; mixing the two forms works
    p = period("2026-01-05", "2026-01-05T12:00:00+01:00", "Europe/Berlin")
    assert p.end_ms - p.start_ms == 12 * H


@pytest.mark.parametrize(
    ("from_", "to", "tz", "name"),
    [
        ("2026-01-05", "2026-01-05", "UTC", "to"),
        ("2026-01-05", "9999-12-31", "UTC", "to"),
        ("0001-01-01", "2026-01-01", "Europe/Berlin", "from"),
        ("0001-01-01T00:00:00+14:00", "2026-01-01", "UTC", "from"),
        ("1999-12-31", "2026-01-01", "UTC", "from"),
        ("2026-01-01", "2027-12-06", "UTC", "to"),  # past now + 1 year
        ("2026-01-01", "9999-12-31T23:59:59-12:00", "UTC", "to"),
        ("2026-01-01", "2026-01-01T00:00:00", "UTC", "to"),  # no offset
    ],
)
def test_out_of_window_or_empty_is_named(from_: str, to: str, tz: str, name: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        period(from_, to, tz)
    assert [p.name for p in e.value.invalid_params] == [name]


def test_the_window_edges() -> None:
    assert period("2000-01-01", "2027-12-05").start_ms == ms(2000, 1, 1)
    assert period("1999-12-31T23:00:00-05:00", "2000-01-02").start_ms == ms(2000, 1, 1, 4)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    start=st.integers(ms(2000, 1, 1), ms(2027, 1, 1)),
    span=st.integers(1, 40 * 24 * H),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe"]),
    size=st.sampled_from(GROUP_TIMES),
)
def test_bucket_count_never_under_counts(start: int, span: int, tz: str, size: str) -> None:
    p = Period(start, start + span * (1 if size in ("hour", "day") else 20), tz)
    assert bucket_count(p, size) >= len(buckets(p, size))
