"""collect.geo: countries (and cities) from the shipped DB-IP file and MaxMind-shaped files; client IPs."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchdepth.collect.geo import (
    GeoLookup,
    city_name,
    client_ip,
    iso_code,
    proxy_networks,
)

from .mmdb import write_mmdb


@pytest.fixture(scope="module")
def geo() -> GeoLookup:
    return GeoLookup()


# Addresses whose country is not in doubt (the operator's home network, not anycast).
@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("77.88.55.88", "RU"),  # yandex.ru
        ("2a02:6b8::2:242", "RU"),  # yandex.ru, IPv6
        ("::ffff:77.88.55.88", "RU"),  # IPv4-mapped IPv6
        ("130.149.7.201", "DE"),  # TU Berlin
        ("133.11.0.1", "JP"),  # University of Tokyo
        ("193.0.6.139", "NL"),  # RIPE NCC, Amsterdam
        ("2001:67c:2e8:22::c100:68b", "NL"),  # RIPE NCC, IPv6
        ("212.27.48.10", "FR"),  # free.fr
        ("8.8.8.8", "US"),  # Google DNS: registered and listed in the US
    ],
)
def test_known_public_addresses(geo: GeoLookup, ip: str, country: str) -> None:
    assert geo.country(ip) == country


@pytest.mark.parametrize(
    "ip",
    ["10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "100.64.0.1", "169.254.1.1", "0.0.0.0", "::1",
     "fe80::1", "fc00::1", "2001:db8::1", "::ffff:192.168.1.1"],
)  # fmt: skip
def test_private_and_reserved_addresses_have_no_country(geo: GeoLookup, ip: str) -> None:
    assert geo.country(ip) is None


@pytest.mark.parametrize("ip", [None, "", "not-an-ip", "1.2.3.4.5", "999.1.1.1", "1.2.3.4:80", " 8.8.8.8", "x" * 500])
def test_invalid_strings_have_no_country(geo: GeoLookup, ip: str | None) -> None:
    assert geo.country(ip) is None


def test_lookups_are_cached(geo: GeoLookup) -> None:
    before = geo.cache_info()
    geo.country("77.88.55.88")
    geo.country("77.88.55.88")
    after = geo.cache_info()
    assert after.hits - before.hits >= 1 and after.currsize <= after.maxsize  # type: ignore[operator]


def test_a_maxmind_geolite2_country_file(tmp_path: Path) -> None:
    path = tmp_path / "GeoLite2-Country.mmdb"
    write_mmdb(
        path,
        {
            "81.2.69.0/24": {"country": {"iso_code": "GB", "names": {"en": "United Kingdom"}}},
            "89.160.20.112/28": {"continent": {"code": "EU"}, "registered_country": {"iso_code": "SE"}},
            "216.160.83.56/29": {"continent": {"code": "NA"}},
        },
    )
    geo = GeoLookup(str(path))
    assert geo.country("81.2.69.142") == "GB"
    assert geo.country("89.160.20.120") == "SE"  # no "country": the registered country
    assert geo.country("216.160.83.58") is None
    assert geo.country("8.8.8.8") is None  # not in this file
    assert geo.country("2a02:6b8::2:242") is None  # IPv6 in an IPv4-only file
    geo.close()


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"country_code": "DE"}, "DE"),
        ({"country_code": "de"}, "DE"),
        ({"country": {"iso_code": "FR", "geoname_id": 3017382}}, "FR"),
        ({"registered_country": {"iso_code": "IT"}}, "IT"),
        ({"country_code": "ZZ"}, None),
        ({"country_code": "DEU"}, None),
        ({"country_code": 49}, None),
        ({"country": "DE"}, None),
        ({}, None),
        (None, None),
        ([], None),
    ],
)
def test_iso_code_of_both_record_shapes(record: object, code: str | None) -> None:
    assert iso_code(record) == code


TRUSTED = ["10.0.0.0/8", "192.0.2.7", "2001:db8:1::/48"]


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # peer is not a proxy: XFF is not believed
        ("10.1.1.1", None, "10.1.1.1"),  # a proxy that sent no XFF
        ("10.1.1.1", "1.2.3.4", "1.2.3.4"),
        ("10.1.1.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the client may forge the left part
        ("10.1.1.1", "1.2.3.4, 10.9.9.9, 192.0.2.7", "1.2.3.4"),  # skip trusted hops from the right
        ("192.0.2.7", "1.2.3.4", "1.2.3.4"),  # a single trusted IP
        ("10.1.1.1", "10.2.2.2, 10.3.3.3", "10.2.2.2"),  # all trusted: the left-most
        ("10.1.1.1", "1.2.3.4:5678", "1.2.3.4"),
        ("10.1.1.1", "[2a02:6b8::2:242]:443", "2a02:6b8::2:242"),
        ("2001:db8:1::5", "2a02:6b8::2:242", "2a02:6b8::2:242"),
        ("::ffff:10.1.1.1", "1.2.3.4", "1.2.3.4"),
        ("10.1.1.1", " , ", "10.1.1.1"),
        ("10.1.1.1", "unknown", "unknown"),  # what the proxy said; it has no country
    ],
)
def test_client_ip_believes_xff_only_from_trusted_proxies(peer: str, xff: str | None, expected: str) -> None:
    assert client_ip(peer, xff, TRUSTED) == expected


def test_client_ip_without_trusted_proxies_is_the_peer() -> None:
    assert client_ip("10.1.1.1", "1.2.3.4", []) == "10.1.1.1"


def test_a_bad_proxy_entry_fails_loudly() -> None:
    with pytest.raises(ValueError):
        proxy_networks(("10.0.0.0/8", "not-a-network"))


def test_a_city_file_names_the_city_beside_the_country(tmp_path: Path) -> None:
    path = tmp_path / "GeoLite2-City.mmdb"
    write_mmdb(
        path,
        {
            "81.2.69.0/24": {
                "city": {"geoname_id": 2643743, "names": {"en": "London", "ru": "Лондон"}},
                "country": {"iso_code": "GB"},
            },
            "89.160.20.112/28": {"country": {"iso_code": "SE"}},  # a City file's record without a city
            "216.160.83.56/29": {"city": {"names": {"de": "Milton"}}, "country": {"iso_code": "US"}},
        },
        database_type="GeoLite2-City",
    )
    geo = GeoLookup(str(path))
    assert geo.locate("81.2.69.142") == ("GB", "London")
    assert geo.locate("89.160.20.120") == ("SE", None)
    assert geo.locate("216.160.83.58") == ("US", None)  # no English name
    assert geo.locate("8.8.8.8") == (None, None)
    assert geo.locate("10.0.0.1") == (None, None)  # private
    assert geo.locate(None) == (None, None)
    before = geo.cache_info().misses
    assert geo.country("81.2.69.142") == "GB"  # the country of the same cached lookup
    assert geo.cache_info().misses == before
    geo.close()


def test_the_shipped_country_file_has_no_cities() -> None:
    geo = GeoLookup()
    country, city = geo.locate("46.4.0.1")
    assert country == "DE" and city is None
    geo.close()


@pytest.mark.parametrize(
    ("record", "city"),
    [
        ({"city": {"names": {"en": "Berlin"}}}, "Berlin"),
        ({"city": {"names": {"en": ""}}}, None),
        ({"city": {"names": {"en": 5}}}, None),
        ({"city": {"geoname_id": 1}}, None),
        ({"city": "Berlin"}, None),
        ({"country_code": "DE"}, None),
        ("Berlin", None),
    ],
)
def test_city_name_of_records(record: object, city: str | None) -> None:
    assert city_name(record) == city
