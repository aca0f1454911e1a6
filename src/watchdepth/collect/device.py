"""Device dimensions from a User-Agent: UA string → ``Device(platform, os, browser, bot)``.

Input: the ``User-Agent`` header (or an import event's ``user_agent``). Output: the
docs/metrics.md §6 values: platform class, OS and browser family names, and whether the
client is a bot (crawler, HTTP library, headless browser, or no UA at all). uap-core's
regexes (``ua-parser`` with its Rust resolver) name the families; small token rules
here pick the platform class and spot bots. It does not drop bots (the caller does)
and it does not read Client Hints.
"""

from __future__ import annotations

import functools
import re
from typing import Final

import msgspec
from ua_parser import Domain, PartialResult, load_lazy_builtins
from ua_parser.regex import Resolver

PLATFORMS: Final = ("desktop", "tablet", "smartphone", "tv", "other")
MAX_UA_CHARS: Final = 1024  # longer UAs are cut before parsing and caching

_OS_NAMES: Final = {
    "Mac OS X": "macOS",
    "Chrome OS": "ChromeOS",
    "ATV OS X": "tvOS",
    "Web0S": "webOS",
    "Roku": "Roku OS",
    "Chromecast Linux": "Linux",
    **dict.fromkeys(
        (
            "Ubuntu",
            "Kubuntu",
            "Xubuntu",
            "Fedora",
            "Debian",
            "Linux Mint",
            "Mint",
            "Arch Linux",
            "Gentoo",
            "Red Hat",
            "CentOS",
            "openSUSE",
            "SUSE",
            "Mandriva",
            "Slackware",
            "Mageia",
            "elementary OS",
        ),
        "Linux",
    ),
}
_NOT_WINDOWS: Final = frozenset({"Windows Phone", "Windows Mobile", "Windows CE", "Windows RT"})
_BROWSER_NAMES: Final = {
    "Mobile Safari": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Android WebView",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Opera Mobile": "Opera",
    "Android": "Android Browser",
    "Mobile Safari UI/WKWebView": "iOS WebView",
}
_DESKTOP_OSES: Final = frozenset({"Windows", "macOS", "Linux", "ChromeOS", "FreeBSD", "OpenBSD", "NetBSD", "Solaris"})

_BOT: Final = re.compile(
    r"(?<!cu)bot|crawl|spider|slurp|scrap(?:er|y)|mediapartners|facebookexternalhit|\+https?://"
    r"|curl/|wget|python|httpx|aiohttp|go-http-client|okhttp|java/|apache-httpclient|libwww|lwp-"
    r"|axios/|node-fetch|undici|got \(|postman|insomnia|guzzlehttp|ruby|http_request2|httpclient"
    r"|headless|phantomjs|puppeteer|playwright|selenium|webdriver|lighthouse|pagespeed|ptst/",
    re.IGNORECASE,
)
_TV: Final = re.compile(
    r"smart-?tv|hbbtv|web0s|netcast|android ?tv|google ?tv|bravia|crkey|roku|apple ?tv|\bmitv"
    r"|vidaa|philipstv|nettv|viera|opera tv|large screen|(?-i:\bAFT[A-Z])",
    re.IGNORECASE,
)
_CONSOLE: Final = re.compile(r"playstation|xbox|nintendo", re.IGNORECASE)
_PHONE_TOKENS: Final = (
    "iPhone",
    "iPod",
    "Opera Mini",
    "Windows Phone",
    "BlackBerry",
    "BB10",
    "KAIOS",
    "Mobile",
)


class Device(msgspec.Struct, frozen=True, gc=False):
    platform: str  # one of PLATFORMS
    os: str | None
    browser: str | None
    bot: bool = False


class DeviceParser:
    """Parse User-Agents into ``Device``; results are cached (LRU) by the UA string."""

    def __init__(self, *, cache_size: int = 10_000) -> None:
        self._resolver = _shared_resolver()
        self._cached = functools.lru_cache(maxsize=cache_size)(self.parse_uncached)

    def parse(self, user_agent: str | None) -> Device:
        """The device of ``user_agent``; an empty or missing UA is a bot."""
        return self._cached((user_agent or "")[:MAX_UA_CHARS])

    def cache_info(self) -> functools._CacheInfo:
        return self._cached.cache_info()

    def parse_uncached(self, user_agent: str) -> Device:
        ua = user_agent.strip()
        if not ua:
            return Device("other", None, None, bot=True)
        parsed = self._resolver(ua, Domain.ALL)
        os, browser = os_name(parsed, ua), browser_name(parsed)
        if is_bot(parsed, ua):
            return Device("other", os, browser, bot=True)
        return Device(platform_of(ua, os), os, browser)


@functools.cache
def _shared_resolver() -> Resolver:
    """uap-core's regexes compiled once per process (about 0.2 s); the resolver is read-only."""
    return Resolver(load_lazy_builtins())


def is_bot(parsed: PartialResult, ua: str) -> bool:
    """Crawlers (uap-core's device "Spider"), HTTP client libraries and headless browsers."""
    return (parsed.device is not None and parsed.device.family == "Spider") or _BOT.search(ua) is not None


def os_name(parsed: PartialResult, ua: str) -> str | None:
    """The OS family as docs/metrics.md §6 names it; an iPad's iOS is ``iPadOS``."""
    if "Tizen" in ua:
        return "Tizen"
    family = parsed.os.family if parsed.os is not None else None
    if family is None or family == "Other":
        return None
    if family == "iOS" and "iPad" in ua:
        return "iPadOS"
    if family.startswith("Windows") and family not in _NOT_WINDOWS:
        return "Windows"
    return _OS_NAMES.get(family, family)


def browser_name(parsed: PartialResult) -> str | None:
    """The browser family, mobile and desktop editions merged (``Mobile Safari`` → ``Safari``)."""
    family = parsed.user_agent.family if parsed.user_agent is not None else None
    if family is None or family == "Other":
        return None
    return _BROWSER_NAMES.get(family, family)


def platform_of(ua: str, os: str | None) -> str:
    """The device class of a non-bot UA, by tokens first and then by OS."""
    if _TV.search(ua):
        return "tv"
    if _CONSOLE.search(ua):
        return "other"
    if "iPad" in ua or "Tablet" in ua or "PlayBook" in ua:
        return "tablet"
    if "Android" in ua and "Mobile" not in ua and "Opera Mini" not in ua:
        return "tablet"  # Android browsers mark phones with "Mobile"
    if any(token in ua for token in _PHONE_TOKENS):
        return "smartphone"
    if os in _DESKTOP_OSES:
        return "desktop"
    return "other"
