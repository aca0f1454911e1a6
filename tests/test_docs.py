"""Docs that cannot drift: the names ``docs/`` lists are the names the code has, both ways.

Input: ``docs/api.md``, ``docs/metrics.md``, ``README.md`` and the rest of ``docs/``, and the
code's own registries (``query.metrics.METRIC_FIELDS``, ``query.analytics.GROUPS``,
``export.source.EXPORT_FIELDS``, the error classes of ``errors.py``, ``config.Settings``, the
routes of the app ``serve`` runs). Nothing is listed twice here: a field, group, error code,
setting or route added to the code fails a test until the docs name it.

A table row marked ``*not yet served*`` documents the contract ahead of the code: its names
need not be in the code, and must not be once they are (the mark has to go).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from watchdepth import cli, config
from watchdepth.api import openapi
from watchdepth.export.source import EXPORT_FIELDS
from watchdepth.query import analytics, metrics
from watchdepth.query.analytics import GROUPS, Scope
from watchdepth.query.metrics import METRIC_FIELDS
from watchdepth.query.periods import Period
from watchdepth.serve import services
from watchdepth.serve.app import create_app

ROOT = Path(__file__).resolve().parents[1]
API = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
METRICS = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
NOT_YET = "*not yet served*"


def table(text: str, first_header: str) -> list[tuple[list[str], str]]:
    """The rows of the Markdown table whose header starts with ``| first_header |``: the
    backticked names of each row's first cell, and the whole row."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(rf"\|\s*{re.escape(first_header)}\s*\|", line)), None)
    assert start is not None, f"no table headed {first_header!r}"
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        first_cell = line.split("|")[1]
        rows.append((re.findall(r"`([^`]+)`", first_cell), line))
    return rows


def check_names(rows: list[tuple[list[str], str]], code: set[str], what: str) -> None:
    listed = {n for names, line in rows if NOT_YET not in line for n in names}
    ahead = {n for names, line in rows if NOT_YET in line for n in names}
    assert code - listed == set(), f"{what} in the code but not in the docs"
    assert listed - code == set(), f"{what} in the docs but not in the code"
    assert ahead & code == set(), f"{what} marked {NOT_YET} but served now: remove the mark"


def test_api_md_lists_exactly_the_metric_fields() -> None:
    check_names(table(API, "field"), set(METRIC_FIELDS), "metric fields")


def test_api_md_lists_exactly_kinescopes_singular_names() -> None:
    """The singular names a request may ask and get an answer for (the rest are 400400)."""
    answered = analytics.available_metrics()
    singular = {name for name, metric in analytics.SINGULAR.items() if metric in answered} - set(METRIC_FIELDS)
    rows = table(API, "Kinescope's name")
    check_names(rows, singular, "Kinescope's metric names")
    ahead = [n for names, line in rows if NOT_YET in line for n in names]
    assert [n for n in ahead if analytics.metric_of(n) in answered] == [], f"answered now: remove the {NOT_YET} mark"


def test_api_md_lists_exactly_the_quality_fields() -> None:
    check_names(table(API, "quality field"), set(getattr(metrics, "QUALITY_FIELDS", ())), "quality fields")


def test_api_md_lists_exactly_the_groups() -> None:
    check_names(table(API, "group"), set(GROUPS), "groups of /v1/analytics")


def test_api_md_lists_exactly_the_export_fields() -> None:
    check_names(table(API, "export field"), set(EXPORT_FIELDS), "export fields")


def raised_codes() -> dict[int, int]:
    """Every API error code the code can answer, with its HTTP status: the error classes, and
    the bodies written below the framework (``"code": 408408`` in ``api/connections.py``), whose
    status is the code's first three digits."""
    codes = {code: status for code, (status, _) in openapi.error_codes().items()}
    for path in (ROOT / "src" / "watchdepth").rglob("*.py"):
        for literal in re.findall(r'"code"\s*:\s*(\d{6})\b', path.read_text(encoding="utf-8")):
            codes.setdefault(int(literal), int(literal[:3]))
    return codes


def test_api_md_lists_exactly_the_error_codes_with_their_status() -> None:
    listed = {}
    for names, line in table(API, "code"):
        status = line.split("|")[2].strip()
        for name in names:
            listed[int(name)] = int(status)
    assert listed == raised_codes()


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.Services]:
    s = services.build(config.load(data_dir=tmp_path_factory.mktemp("data")))
    try:
        yield s
    finally:
        s.close()


def test_metrics_md_names_only_fields_the_code_answers(svc: services.Services) -> None:
    total = analytics.overview(svc.store, Scope(Period(0, 86_400_000, "UTC")), "day", 0, ("total",))["total"]
    answered = set(METRIC_FIELDS) | set(EXPORT_FIELDS) | set(total) | analytics.available_metrics()
    names = {n for _, line in table(METRICS, "metric") for n in re.findall(r"`([a-z_]+)`", line.split("|")[2])}
    assert set(METRIC_FIELDS) - names == set(), "metric fields without a row in docs/metrics.md"
    assert names - answered == set(), "docs/metrics.md names a field no answer has"


def test_every_setting_is_documented() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    names = [config.ENV_PREFIX + f.name.upper() for f in fields(config.Settings) if f.name != "extra"]
    assert [n for n in names if not re.search(rf"\b{n}\b", text)] == []


def _paths_in(text: str) -> Iterator[tuple[str, str]]:
    """Every ``/path`` written in backticks, without its query string (``?…`` or ``[?…]``), and its line."""
    for line in text.splitlines():
        for code in re.findall(r"`([^`]+)`", line):
            for word in code.split():
                if word.startswith("/"):
                    yield re.split(r"[?\[]", word)[0].rstrip(","), line


def test_api_md_names_exactly_the_served_paths(svc: services.Services) -> None:
    app = create_app(svc, extra_routes=cli._extra_routes(svc))
    served = {ep.path for ep in openapi.endpoints(app.routes)}
    written = {path for path, line in _paths_in(API) if NOT_YET not in line}
    ahead = {path for path, line in _paths_in(API) if NOT_YET in line}
    assert served - written == set(), "routes docs/api.md does not name"
    assert written - served == set(), "paths docs/api.md names that no route serves"
    assert ahead & served == set(), f"paths marked {NOT_YET} but served now: remove the mark"


# -- docs/metrics.md: the numbered sections the code cites ------------------------------------

#: The numbered sections of docs/metrics.md, as the code cites them (``docs/metrics.md §N``):
#: the numbering and titles of the spec the project follows, kept here since the spec is not
#: part of the repository.
METRICS_SECTIONS = {
    1: "Content, sessions, loads",
    2: "The wire format (what the tracker sends)",
    3: "Playback runs (per load)",
    4: "The metrics",
    5: "Which period a number belongs to",
    6: "Dimensions",
    7: "Quality of experience",
}
#: Files under src/ that can hold a citation (the GeoIP database and the like are skipped).
TEXT_SUFFIXES = {".py", ".js", ".html", ".css", ".sql", ".md", ".sh", ".txt", ".toml"}
#: ``docs/metrics.md §3``, ``docs/metrics.md §3–5``, ``docs/metrics.md §4 "Event counts"``, also
#: with the path in backticks or the line broken (and a comment's ``#``) before the ``§``.
METRICS_CITATION = re.compile(r'docs/metrics\.md`?[\s#:]*§\s*(\d+)(?:\s*[–-]\s*§?\s*(\d+))?(?:\s*"([^"\n]+)")?')
#: ``docs/api.md``, ``docs/api.md "Dates"`` (a heading of docs/api.md), or a wrong ``docs/api.md §2``.
API_CITATION = re.compile(r'docs/api\.md`?(?:[\s#:]*§\s*(\d+)|\s+"([^"\n]+)")?')


def metrics_section(n: int) -> str:
    """The text of section ``n`` of docs/metrics.md, from its heading to the next ``## ``."""
    match = re.search(rf"^## {n}\. .*?(?=^## |\Z)", METRICS, re.MULTILINE | re.DOTALL)
    return match.group(0) if match else ""


def api_headings() -> list[str]:
    return [title.strip() for title in re.findall(r"^#{1,4} (.+)$", API, re.MULTILINE)]


def bad_citations(text: str) -> list[str]:
    """The citations of docs/metrics.md or docs/api.md in ``text`` that point nowhere: a section
    number docs/metrics.md does not have (or quoted words its section does not contain), a section
    number of docs/api.md (it has none), or a quoted heading docs/api.md does not have."""
    bad = [m.group(0) for m in METRICS_CITATION.finditer(text) if not _metrics_section_exists(*m.groups())]
    headings = api_headings()
    for m in API_CITATION.finditer(text):
        number, quoted = m.groups()
        heading_exists = quoted is None or any(re.match(rf"{re.escape(quoted)}\b", h) for h in headings)
        if number is not None or not heading_exists:  # docs/api.md has no numbered sections
            bad.append(m.group(0))
    return bad


def _metrics_section_exists(first: str, last: str | None, quoted: str | None) -> bool:
    """Sections ``first``..``last`` all exist and, when words are quoted, one of them has them."""
    numbers = range(int(first), int(last or first) + 1)
    if not numbers or any(n not in METRICS_SECTIONS for n in numbers):
        return False
    return quoted is None or any(quoted in metrics_section(n) for n in numbers)


def test_metrics_md_has_exactly_the_seven_numbered_sections() -> None:
    numbered = [(int(n), title) for n, title in re.findall(r"^##\s+(\d+)\.?\s*(.*?)\s*$", METRICS, re.MULTILINE)]
    assert numbered == list(METRICS_SECTIONS.items())


def test_citation_check_finds_wrong_sections() -> None:
    """The check below can fail: each of these points nowhere, and each good one passes."""
    wrong = [
        "docs/metrics.md §8",
        "docs/metrics.md §0",
        "docs/metrics.md §3–9",
        "`docs/metrics.md` §12",
        'docs/metrics.md §4 "No such row"',
        "docs/api.md §2",
        'docs/api.md "No such heading"',
        "docs/metrics.md\n    #: §9",
    ]
    assert [w for w in wrong if bad_citations(w) == []] == []
    right = [
        "docs/metrics.md §3–5",
        "`docs/metrics.md` §7",
        'docs/metrics.md §4 "Event counts"',
        'docs/api.md "Dates"',
        'docs/api.md "Errors"',
        "docs/api.md.",
        "(100103 in docs/api.md)",
        "docs/metrics.md\n    #: §2",
    ]
    assert [r for r in right if bad_citations(r) != []] == []


def test_every_citation_under_src_points_at_an_existing_section() -> None:
    bad = {}
    for path in sorted((ROOT / "src").rglob("*")):
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            found = bad_citations(path.read_text(encoding="utf-8", errors="replace"))
            if found:
                bad[str(path.relative_to(ROOT))] = found
    assert bad == {}, "citations of docs/metrics.md or docs/api.md that point at no section"


def test_metrics_md_defines_every_field_the_code_answers(svc: services.Services) -> None:
    """The definition tables of §4 (``| number |``) and §7 (``| quality number |``) cover every
    metric field, event count and quality field, and name no field that no answer has."""
    total = analytics.overview(svc.store, Scope(Period(0, 86_400_000, "UTC")), "day", 0, ("total",))["total"]
    answered = set(METRIC_FIELDS) | set(EXPORT_FIELDS) | set(total) | analytics.available_metrics()
    rows = table(metrics_section(4), "number") + table(metrics_section(7), "quality number")
    names = {n for _, line in rows for n in re.findall(r"`([a-z_0-9]+)`", line.split("|")[2])}
    wanted = set(METRIC_FIELDS) | set(metrics.EVENT_COUNTS) | set(metrics.QUALITY_FIELDS)
    assert wanted - names == set(), "fields without a definition in docs/metrics.md §4 or §7"
    assert names - answered == set(), "docs/metrics.md defines a field no answer has"


def test_the_code_cites_only_files_the_repository_has() -> None:
    """The spec files behind docs/metrics.md and docs/api.md are not in the repository: code cites those two."""
    bare = re.compile(r"(?<![\w/.-])(?:METRICS|API)\.md|shared/METRICS\.md")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in (ROOT / "src").rglob("*")
        if path.suffix in (".py", ".js", ".sql", ".md")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if bare.search(line)
    ]
    assert found == []
