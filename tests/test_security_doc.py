"""docs/security.md against the code: settings, their defaults, and the limits it cites.

The doc names settings as ``WATCHDEPTH_*`` and cites a constant as a number followed by
its dotted name in backticks, e.g. ``500 (`watchdepth.collect.wire.MAX_BATCH`)``. Every
such setting must exist in ``config.Settings`` (with the default the doc's table gives),
every limit-like setting must be documented, and every cited number must be the value the
code holds now. No server is started.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import fields
from pathlib import Path

import pytest

from watchdepth.config import ENV_PREFIX, Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "security.md"
#: A setting the doc names: WATCHDEPTH_ and an upper-case name.
SETTING = re.compile(rf"\b{ENV_PREFIX}([A-Z][A-Z0-9_]*)\b")
#: A row of the settings table: | `WATCHDEPTH_X` | default | ...
SETTING_ROW = re.compile(rf"^\|\s*`{ENV_PREFIX}([A-Z0-9_]+)`\s*\|\s*([^|]+?)\s*\|", re.MULTILINE)
#: A cited constant: a number (``1,000``, ``2.0``, ``10^10``), an optional unit word and/or a
#: closing backtick, then ``(`watchdepth.module.NAME`)``.
CITED = re.compile(r"(\d[\d,]*(?:\.\d+)?(?:\^\d+)?)`?(?:\s+[a-z]+)?\s+\(`(watchdepth(?:\.\w+)+\.[A-Z][A-Z0-9_]*)`")
#: Any dotted reference to an upper-case constant, cited with a number or not.
CONSTANT = re.compile(r"`(watchdepth(?:\.\w+)+\.[A-Z][A-Z0-9_]*)`")
#: Settings that bound what a client may make the server do: each must be in the doc.
LIMIT_LIKE = re.compile(r"max_|timeout|rate_limit|reserve|subscribers|_ttl$")


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def number(text: str) -> float:
    text = text.replace(",", "")
    if "^" in text:
        base, _, exp = text.partition("^")
        return float(int(base) ** int(exp))
    return float(text)


def value_of(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_setting_named_exists(doc: str) -> None:
    known = {f.name for f in fields(Settings) if f.name != "extra"}
    named = {m.lower() for m in SETTING.findall(doc)}
    assert named, "the doc names no setting"
    assert named - known == set(), "docs/security.md names settings config.Settings lacks"


def test_every_limit_setting_is_documented(doc: str) -> None:
    limits = {f.name for f in fields(Settings) if LIMIT_LIKE.search(f.name)}
    assert {"max_body", "header_timeout", "rate_limit_api", "disk_reserve_mb"} <= limits  # the pattern still finds them
    missing = sorted(n for n in limits if f"{ENV_PREFIX}{n.upper()}" not in doc)
    assert missing == [], "limit settings missing from docs/security.md"


def test_settings_table_defaults_match(doc: str) -> None:
    rows = SETTING_ROW.findall(doc)
    assert len(rows) >= 8, "the settings table was not found"
    defaults = Settings()
    for name, cell in rows:
        actual = getattr(defaults, name.lower())
        if cell.startswith("`"):
            assert cell.strip("`") == actual, name
        else:
            assert isinstance(actual, int | float) and number(cell) == actual, (name, cell, actual)


def test_cited_constants_match_the_code(doc: str) -> None:
    cited = CITED.findall(doc)
    assert len(cited) >= 10, "the cited constants were not found"
    for text, dotted in cited:
        actual = value_of(dotted)
        assert isinstance(actual, int | float), dotted
        assert number(text) == actual, f"docs/security.md says {text} for {dotted}; the code has {actual}"


def test_every_constant_is_cited_with_its_number(doc: str) -> None:
    """A dotted constant without a number before it would escape the check above."""
    with_number = {dotted for _, dotted in CITED.findall(doc)}
    assert set(CONSTANT.findall(doc)) - with_number == set()


def test_paths_named_are_the_codes(doc: str) -> None:
    from watchdepth.demo import workspace as demo
    from watchdepth.export import links

    s = Settings()
    for name in (
        s.db_path.name,
        s.db_path.name + ".journal/",
        s.db_path.name + ".quarantine.jsonl",
        s.admin_socket.name,
        demo.TOKEN_FILE,
        "exports/" + links.KEY_FILE,
        "exports/jobs/",
        "exports/files/",
    ):
        assert f"`{name}" in doc, name
