"""collect.device: a hand-labelled table of real User-Agents, bots, and the cache."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from watchdepth.collect.device import MAX_UA_CHARS, PLATFORMS, Device, DeviceParser

TABLE = Path(__file__).with_name("user_agents.tsv")
NOT_ASSERTED = "*"


def rows() -> list[list[str]]:
    with TABLE.open(encoding="utf-8", newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    header, *body = list(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert header == ["ua", "platform", "os", "browser", "bot"]
    return body


ROWS = rows()
PARSER = DeviceParser()


def test_the_table_covers_what_it_should() -> None:
    assert len(ROWS) >= 110
    assert sum(bot == "true" for *_, bot in ROWS) >= 15
    assert {platform for _, platform, *_ in ROWS} == set(PLATFORMS)
    assert {"Windows", "macOS", "Linux", "ChromeOS", "Android", "iOS", "iPadOS", "Tizen", "webOS", "tvOS"} <= {
        os for _, _, os, *_ in ROWS
    }
    assert {"Chrome", "Firefox", "Safari", "Edge", "Yandex Browser", "Opera", "Samsung Internet"} <= {
        browser for *_, browser, _ in ROWS
    }


@pytest.mark.parametrize(("ua", "platform", "os", "browser", "bot"), ROWS, ids=[r[0][:70] or "empty" for r in ROWS])
def test_labelled_user_agent(ua: str, platform: str, os: str, browser: str, bot: str) -> None:
    got = PARSER.parse(ua)
    expected = {"platform": platform, "os": os or None, "browser": browser or None, "bot": bot == "true"}
    actual = {"platform": got.platform, "os": got.os, "browser": got.browser, "bot": got.bot}
    assert {k: actual[k] for k, v in expected.items() if v != NOT_ASSERTED} == {
        k: v for k, v in expected.items() if v != NOT_ASSERTED
    }


@pytest.mark.parametrize("ua", [None, "", "   "])
def test_missing_user_agent_is_a_bot(ua: str | None) -> None:
    assert PARSER.parse(ua) == Device("other", None, None, bot=True)


def test_unknown_user_agent_is_other_and_not_a_bot() -> None:
    assert PARSER.parse("SomethingNew/1.0") == Device("other", None, None, bot=False)


def test_results_are_cached_by_ua_in_a_bounded_lru() -> None:
    parser = DeviceParser(cache_size=2)
    for ua in ["curl/8", "curl/8", "Wget/1", "curl/8", "x/1", "Wget/1"]:
        parser.parse(ua)
    info = parser.cache_info()
    assert (info.hits, info.misses, info.currsize) == (2, 4, 2)


def test_long_user_agents_are_cut_before_parsing() -> None:
    long_ua = ROWS[0][0] + " " + "x" * 5000
    assert PARSER.parse(long_ua) == PARSER.parse(long_ua[:MAX_UA_CHARS])
