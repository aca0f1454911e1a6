"""Offline GeoIP: an IP string → its country (ISO 3166-1 alpha-2) and city, and which IP is the client's.

Input: an IP string, or a peer address plus ``X-Forwarded-For`` and the configured
trusted proxies. Output: ``("DE", "Berlin")``-style pairs, either part ``None`` (private,
reserved, unknown, invalid; the city also when the file has none). Reads a MaxMind-format
database: the shipped DB-IP Country Lite by default (no cities), or a MaxMind
GeoLite2/GeoIP2 Country or City file, or a DB-IP City Lite file (same record layout as
MaxMind's: ``city.names.en``). It never stores or logs an IP.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from importlib import resources
from typing import Final

import maxminddb

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_DATABASE: Final = "dbip-country-lite.mmdb"
#: Where a lookup found nothing.
NOWHERE: Final[tuple[None, None]] = (None, None)
_MAX_IP_CHARS: Final = 64  # longer strings are not IPs; keeps junk out of the cache


def default_database_path() -> str:
    """Path of the DB-IP Country Lite database shipped in ``watchdepth/data``."""
    return str(resources.files("watchdepth").joinpath("data", DEFAULT_DATABASE))


class GeoLookup:
    """Country and city of an IP, from a .mmdb file, with a bounded LRU cache keyed by the IP string."""

    def __init__(self, path: str | None = None, *, cache_size: int = 10_000) -> None:
        self.path = path or default_database_path()
        self._reader = maxminddb.open_database(self.path, maxminddb.MODE_AUTO)
        self._cached = functools.lru_cache(maxsize=cache_size)(self._lookup)

    def locate(self, ip: str | None) -> tuple[str | None, str | None]:
        """(ISO code in upper case, English city name) of ``ip``, one database lookup (then
        cached); each ``None`` when unknown, private or not an IP; the city also when the
        file has no cities."""
        if not ip or len(ip) > _MAX_IP_CHARS:
            return NOWHERE
        return self._cached(ip)

    def country(self, ip: str | None) -> str | None:
        """ISO code (upper case) of ``ip``, or ``None`` when unknown, private or not an IP."""
        return self.locate(ip)[0]

    def cache_info(self) -> functools._CacheInfo:
        return self._cached.cache_info()

    def close(self) -> None:
        self._reader.close()

    def _lookup(self, ip: str) -> tuple[str | None, str | None]:
        address = parse_ip(ip)
        if address is None or not address.is_global:
            return NOWHERE
        try:
            record = self._reader.get(address)
        except ValueError:  # an IPv6 address in an IPv4-only database
            return NOWHERE
        return iso_code(record), city_name(record)


def iso_code(record: object) -> str | None:
    """The country code of a DB-IP (``country_code``) or MaxMind (``country.iso_code``) record."""
    if not isinstance(record, dict):
        return None
    code = record.get("country_code")
    if code is None:
        country = record.get("country") or record.get("registered_country")
        code = country.get("iso_code") if isinstance(country, dict) else None
    if not isinstance(code, str) or len(code) != 2 or not (code.isascii() and code.isalpha()):
        return None
    code = code.upper()
    return None if code == "ZZ" else code  # ZZ: "unknown" in DB-IP


def city_name(record: object) -> str | None:
    """The English city name of a MaxMind GeoIP2/GeoLite2-City or DB-IP City record
    (``city.names.en``), or ``None`` (a country file, a record without a city)."""
    if not isinstance(record, dict):
        return None
    city = record.get("city")
    names = city.get("names") if isinstance(city, dict) else None
    name = names.get("en") if isinstance(names, dict) else None
    return name if isinstance(name, str) and name.strip() else None


def parse_ip(text: str) -> IPAddress | None:
    """An address from ``text`` (IPv4-mapped IPv6 becomes IPv4), or ``None`` if it is not one."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(peer: str, x_forwarded_for: str | None, trusted_proxies: Sequence[str]) -> str:
    """The client's IP: ``peer``, unless ``peer`` is a trusted proxy and ``X-Forwarded-For`` is set.

    Then the right-most hop that is not itself a trusted proxy (hops may carry a port);
    if every hop is trusted, the left-most. Several XFF headers must be joined by ``,``.
    """
    if not x_forwarded_for or not trusted_proxies:
        return peer
    networks = proxy_networks(tuple(trusted_proxies))
    if not _is_trusted(parse_ip(peer), networks):
        return peer
    hops = [_strip_port(hop.strip()) for hop in x_forwarded_for.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _is_trusted(parse_ip(hop), networks):
            return hop
    return hops[0] if hops else peer


@functools.lru_cache(maxsize=16)
def proxy_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """Parse trusted proxy entries (IPs or CIDR networks); raises ``ValueError`` on a bad one."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _is_trusted(address: IPAddress | None, networks: tuple[IPNetwork, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def _strip_port(hop: str) -> str:
    """``[2001:db8::1]:443`` → ``2001:db8::1``; ``1.2.3.4:80`` → ``1.2.3.4``; else as is."""
    if hop.startswith("["):
        end = hop.find("]")
        return hop[1:end] if end > 0 else hop
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop
