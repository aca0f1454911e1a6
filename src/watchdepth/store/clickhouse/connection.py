"""Where a ClickHouse DSN points, and a client for it.

Input: a DSN, ``clickhouse[s]://user:pass@host:port/db`` or ``chdb:///dir[?database=db]``.
Output: a ``Target`` and a clickhouse-connect client. It runs no SQL of its own: the store
(``store.py``) and the migrations (``migrate.py``) both connect through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from watchdepth.errors import StoreError

SCHEMES = ("clickhouse", "clickhouses", "chdb")


@dataclass(frozen=True)
class Target:
    """Where a DSN points."""

    kind: str  # http | chdb
    database: str
    host: str = "localhost"
    port: int = 8123
    username: str = "default"
    password: str = ""
    secure: bool = False
    path: str = ""


def is_clickhouse_dsn(dsn: str) -> bool:
    return dsn.split(":", 1)[0] in SCHEMES


def parse_dsn(dsn: str) -> Target:
    """``clickhouse[s]://user:pass@host:port/db`` or ``chdb:///dir[?database=db]``."""
    u = urlparse(dsn)
    if u.scheme == "chdb":
        if not u.path or u.netloc:
            raise StoreError(f"a chDB DSN is chdb:///absolute/dir[?database=name], not {dsn!r}")
        db = parse_qs(u.query).get("database", ["watchdepth"])[0]
        return Target("chdb", db, path=unquote(u.path))
    if u.scheme not in ("clickhouse", "clickhouses"):
        raise StoreError(f"not a ClickHouse DSN: {dsn!r} (clickhouse://user:pass@host:8123/db)")
    secure = u.scheme == "clickhouses"
    return Target(
        "http",
        unquote(u.path.strip("/")) or "watchdepth",
        host=u.hostname or "localhost",
        port=u.port or (8443 if secure else 8123),
        username=unquote(u.username or "default"),
        password=unquote(u.password or ""),
        secure=secure,
    )


def connect(target: Target, database: str | None) -> Any:
    """A clickhouse-connect client (``database`` None: no default database)."""
    try:
        import clickhouse_connect  # optional dependency: the `clickhouse` extra
    except ImportError as exc:
        raise StoreError("the ClickHouse store needs clickhouse-connect: pip install 'watchdepth[clickhouse]'") from exc
    try:
        if target.kind == "chdb":
            client = clickhouse_connect.get_client(interface="chdb", path=target.path)
            if database:
                client.database = database
            return client
        return clickhouse_connect.get_client(
            host=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            secure=target.secure,
            database=database or "",
            autogenerate_session_id=False,
        )
    except Exception as exc:  # noqa: BLE001 - connection errors of every transport
        raise StoreError(
            f"cannot connect to ClickHouse ({target.kind} {target.host if target.kind == 'http' else target.path}): {exc}"
        ) from exc
