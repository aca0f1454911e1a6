"""A tiny MaxMind DB (.mmdb) writer for tests: IPv4 networks → records, 24-bit records.

Enough of the format (https://maxmind.github.io/MaxMind-DB/) to build a GeoLite2-shaped
country file, so ``GeoLookup`` is tested against a real reader, not a fake.
"""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path

_MARKER = b"\xab\xcd\xefMaxMind.com"


class U16(int):
    """An int stored as uint16 (libmaxminddb insists on the metadata's types)."""


class U64(int):
    """An int stored as uint64."""


def write_mmdb(path: Path, records: dict[str, object], database_type: str = "GeoLite2-Country") -> None:
    """Write ``{"81.2.69.0/24": {...}}`` as an IPv4 .mmdb at ``path``."""
    data = bytearray()
    leaves: dict[tuple[int, ...], int] = {}
    for network, record in records.items():
        net = ipaddress.IPv4Network(network)
        bits = tuple((int(net.network_address) >> (31 - i)) & 1 for i in range(net.prefixlen))
        leaves[bits] = len(data)
        data += _encode(record)
    nodes = _nodes(leaves)
    node_count = len(nodes)
    tree = bytearray()
    for left, right in nodes:
        for rec in (left, right):
            value = node_count if rec is None else rec[1] if rec[0] == "node" else node_count + 16 + rec[1]
            tree += value.to_bytes(3, "big")
    meta = {
        "node_count": node_count, "record_size": U16(24), "ip_version": U16(4), "database_type": database_type,
        "languages": ["en"], "binary_format_major_version": U16(2), "binary_format_minor_version": U16(0),
        "build_epoch": U64(1_700_000_000), "description": {"en": "test"},
    }  # fmt: skip
    path.write_bytes(bytes(tree) + b"\x00" * 16 + bytes(data) + _MARKER + _encode(meta))


def _nodes(leaves: dict[tuple[int, ...], int]) -> list[list[tuple[str, int] | None]]:
    """The search tree as a list of [left, right] records: ("node", n), ("data", offset) or None."""
    nodes: list[list[tuple[str, int] | None]] = [[None, None]]
    for bits, offset in leaves.items():
        current = 0
        for depth, bit in enumerate(bits):
            if depth == len(bits) - 1:
                nodes[current][bit] = ("data", offset)
                break
            child = nodes[current][bit]
            if child is None:
                nodes.append([None, None])
                child = nodes[current][bit] = ("node", len(nodes) - 1)
            current = child[1]
    return nodes


def _encode(value: object) -> bytes:
    if isinstance(value, dict):
        out = _control(7, len(value))
        for key, item in value.items():
            out += _encode(str(key)) + _encode(item)
        return out
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(_encode(item) for item in value)
    if isinstance(value, str):
        raw = value.encode()
        return _control(2, len(raw)) + raw
    if isinstance(value, int):
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        type_ = 5 if isinstance(value, U16) else 9 if isinstance(value, U64) else 6
        return _control(type_, len(raw)) + raw
    raise TypeError(value)


def _control(type_: int, size: int) -> bytes:
    assert size < 29
    if type_ <= 7:
        return struct.pack("B", (type_ << 5) | size)
    return struct.pack("BB", size, type_ - 7)
