"""docs/kinescope-compat.md cannot drift: every name the custom form and the catalog lists accept is in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchdepth.api.catalog import EXTRA_PARAMS, FILTERS, LIST_PARAMS, NOT_STORED, VIDEO_STATUSES
from watchdepth.query.analytics import GROUPS, LATER_FIELDS, SINGULAR

DOC = (Path(__file__).parents[2] / "docs" / "kinescope-compat.md").read_text(encoding="utf-8")
NAMES = sorted(
    {
        *GROUPS,
        *SINGULAR,
        *LATER_FIELDS,
        *NOT_STORED,
        *VIDEO_STATUSES,
        *LIST_PARAMS,
        *(n for names in (*FILTERS.values(), *EXTRA_PARAMS.values()) for n in names),
    }
)


@pytest.mark.parametrize("name", NAMES)
def test_every_accepted_name_is_documented(name: str) -> None:
    assert f"`{name}" in DOC, f"docs/kinescope-compat.md does not mention `{name}`"
