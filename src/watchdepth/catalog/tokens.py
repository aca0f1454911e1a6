"""API tokens: created by the CLI, stored as hashes, kept in memory beside the catalog.

Input: a token's secret (from an ``Authorization: Bearer`` header or the dashboard's
cookie, as ``api.auth`` reads them). Output: the ``Token`` with its project scope and
read-only flag, or an error (100101, 100102, 100103 in docs/api.md). Only a SHA-256 of
each token is stored. Tokens are listed (never their secret) and revoked here; a revoked
token is unknown at once to every check, the dashboard's cookie included.
It does not read HTTP requests (``api.auth`` does) nor know which endpoints need what.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from watchdepth.catalog.merge import merge_in_place
from watchdepth.errors import (
    BadToken,
    Forbidden,
    InvalidParam,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from watchdepth.store.base import Store


class Token(NamedTuple):
    id: str
    name: str
    projects: tuple[str, ...] | None  # None: every project
    read_only: bool

    def allows(self, project_id: str | None) -> bool:
        return self.projects is None or project_id in self.projects


class Tokens:
    """The workspace's tokens, kept in memory by hash and written through to the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._by_hash: dict[str, dict[str, Any]] = {
            r["hash"]: r for r in store.catalog_rows("tokens") if not r["revoked"]
        }

    def create(self, name: str, projects: Sequence[str] = (), read_only: bool = False) -> tuple[str, Token]:
        secret = "wd_" + secrets.token_urlsafe(32)
        row: dict[str, Any] = {
            "id": secrets.token_hex(6),
            "hash": _hash(secret),
            "name": name,
            "projects": json.dumps(list(projects)),
            "read_only": read_only,
            "revoked": False,
            "created_at": datetime.now(UTC),
        }
        with self._lock:
            self.store.catalog_put("tokens", row, create=True)
            self._by_hash[row["hash"]] = row
        return secret, _token(row)

    def list_all(self) -> list[dict[str, object]]:
        """The tokens not revoked, oldest first: id, name, projects, read_only, created_at."""
        with self._lock:
            rows = list(self._by_hash.values())
        rows.sort(key=lambda r: (str(r["created_at"]), str(r["id"])))
        return [
            {
                "id": t.id,
                "name": t.name,
                "projects": list(t.projects or ()),
                "read_only": t.read_only,
                "created_at": _iso(r["created_at"]),
            }
            for r, t in ((r, _token(r)) for r in rows)
        ]

    def revoke(self, token_id: str) -> Token:
        """Revoke the token with that id (NotFound when there is none, or it is revoked already)."""
        with self._lock:
            row = next((r for r in self._by_hash.values() if r["id"] == token_id), None)
            if row is None:
                raise NotFound(f"no token with id {token_id!r} (see 'watchdepth token list')")
            self.store.catalog_put("tokens", {**row, "revoked": True}, create=False)
            del self._by_hash[row["hash"]]
        return _token(row)

    def active(self, token_id: str) -> bool:
        """Whether the token with that id is still valid (a long-lived stream asks now and then)."""
        return any(r["id"] == token_id for r in list(self._by_hash.values()))

    def check(self, secret: str) -> Token | None:
        row = self._by_hash.get(_hash(secret))
        return _token(row) if row is not None else None

    def authenticate(self, authorization: str | None, cookie: str | None, *, write: bool = False) -> Token:
        """The token of an ``Authorization`` header value (else of the dashboard's cookie),
        or 100101/100102/100103; ``write``: a read-only token is refused."""
        secret = None
        if authorization is not None:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise BadToken("the Authorization header must be 'Bearer <token>'")
            secret = value.strip()
        elif cookie is not None:
            secret = cookie
        if secret is None:
            raise NotAuthenticated("no Authorization header; send 'Authorization: Bearer <token>'")
        token = self.check(secret)
        if token is None:
            raise BadToken("unknown or revoked token")
        if write and token.read_only:
            raise Forbidden("this token is read-only")
        return token

    def refresh_from(self, store: Store) -> None:
        """Take in what other nodes changed in ``store`` (``serve --role``): a change made here
        while the store was read wins over what was read; the next refresh brings the rest."""
        before = dict(self._by_hash)
        fresh = {r["hash"]: r for r in store.catalog_rows("tokens") if not r["revoked"]}
        with self._lock:
            merge_in_place(self._by_hash, before, fresh)


def check_projects(known: Collection[str], projects: Sequence[str]) -> None:
    """A token's scope names existing projects only (400400 naming each unknown one)."""
    unknown = [p for p in projects if p not in known]
    if unknown:
        raise ValidationFailed(
            f"no project with id {', '.join(map(repr, unknown))}; create it first, or leave --project out "
            "for a token of every project",
            invalid_params=[InvalidParam("projects", "unknown", f"no project with id {p!r}") for p in unknown],
        )


def require_project(token: Token, project_id: str | None) -> None:
    if not token.allows(project_id):
        raise Forbidden(f"this token may not touch project {project_id!r}")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _token(row: dict[str, Any]) -> Token:
    projects = json.loads(str(row["projects"])) or None
    return Token(str(row["id"]), str(row["name"]), tuple(projects) if projects else None, bool(row["read_only"]))
