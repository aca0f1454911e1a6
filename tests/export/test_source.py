"""parse_spec: what a report may ask for, and how each wrong request is named."""

from __future__ import annotations

import pytest

from watchdepth.errors import InvalidInput, ValidationFailed, WrongType
from watchdepth.export.source import EXPORT_FIELDS, parse_spec

NOW = 1_700_000_000.0


def problems(body: dict[str, object], kind: type[InvalidInput] = ValidationFailed) -> list[tuple[str, str]]:
    with pytest.raises(kind) as caught:
        parse_spec(body, now=NOW)
    return [(p.name, p.reason) for p in caught.value.invalid_params]


def test_defaults_to_every_field_in_api_order_and_csv() -> None:
    spec = parse_spec({"period": "last_month", "folder_ids": ["f1"]}, now=NOW)
    assert spec.fields == list(EXPORT_FIELDS)
    assert (spec.format, spec.folder_ids, spec.period, spec.from_, spec.to) == ("csv", ["f1"], "last_month", None, None)


def test_custom_period_keeps_from_and_to_and_stores_no_period_name() -> None:
    spec = parse_spec(
        {
            "period": "custom",
            "from": "2024-01-01",
            "to": "2024-02-01",
            "format": "xlsx",
            "fields": ["title", "views"],
            "email": "анна@example.com",
            "timezone": "Europe/Moscow",
        },
        now=NOW,
    )
    assert (spec.period, spec.from_, spec.to, spec.format) == (None, "2024-01-01", "2024-02-01", "xlsx")
    assert spec.fields == ["title", "views"] and spec.timezone == "Europe/Moscow"


@pytest.mark.parametrize(
    "period",
    [
        "all_time",
        "today",
        "yesterday",
        "this_week",
        "last_week",
        "this_month",
        "last_month",
        "last_year",
        "last_24_hours",
    ],
)
def test_every_named_period_is_accepted(period: str) -> None:
    assert parse_spec({"period": period}, now=NOW).period == period


def test_an_unknown_field_is_named() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_spec({"period": "today", "fields": ["title", "plays"]}, now=NOW)
    (p,) = caught.value.invalid_params
    assert (p.name, p.reason) == ("fields", "unknown") and "'plays'" in p.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"period": "today", "fields": []}, [("fields", "required")]),
        ({"period": "today", "fields": ["title", "title"]}, [("fields", "duplicate")]),
        ({"period": "today", "format": "pdf"}, [("format", "invalid")]),
        ({"period": "fortnight"}, [("period", "invalid")]),
        ({"period": "today", "from": "2024-01-01"}, [("period", "invalid")]),
        ({}, [("from", "required"), ("to", "required")]),
        ({"period": "custom"}, [("from", "required"), ("to", "required")]),
        ({"from": "2024-02-01", "to": "2024-01-01"}, [("to", "invalid")]),
        ({"from": "01.02.2024", "to": "2024-03-01"}, [("from", "invalid")]),
        ({"period": "today", "email": "not-an-address"}, [("email", "invalid")]),
        ({"period": "today", "email": "a@b.c\r\nBcc: x@y.z"}, [("email", "invalid")]),
        ({"period": "today", "timezone": "Mars/Olympus"}, [("timezone", "invalid")]),
        ({"period": "today", "folders": ["f1"]}, [("folders", "unknown")]),
    ],
)
def test_each_invalid_parameter_is_named(body: dict[str, object], expected: list[tuple[str, str]]) -> None:
    assert problems(body) == expected


def test_wrong_json_types_are_wrong_type() -> None:
    body = {"period": "today", "fields": "title", "folder_ids": [1], "format": 2}
    assert problems(body, WrongType) == [
        ("fields", "wrong_type"),
        ("folder_ids", "wrong_type"),
        ("format", "wrong_type"),
    ]
