"""The catalog kept in memory and written through to the store.

Input: create/update/delete requests (already decoded by the API) and the store's rows
at start. Output: entities as dicts, the live ``content`` mapping the collector reads,
folder trees (paths ``a/b``, subfolders) and content id sets for query filters.
It does not serve HTTP (``api.catalog`` does) nor count anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from watchdepth.catalog.merge import merge_in_place
from watchdepth.catalog.model import ContentInfo
from watchdepth.errors import InvalidParam, NotFound, ValidationFailed
from watchdepth.store.base import Store

#: API entity -> (store table, kind for content rows).
ENTITIES = {
    "projects": ("projects", None),
    "folders": ("folders", None),
    "videos": ("content", "video"),
    "streams": ("content", "stream"),
    "events": ("content", "event"),
}


class Catalog:
    """Projects, folders and content, with the lookups the rest of the service needs."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self.projects: dict[str, dict[str, Any]] = {r["id"]: r for r in store.catalog_rows("projects")}
        self.folders: dict[str, dict[str, Any]] = {r["id"]: r for r in store.catalog_rows("folders")}
        rows = store.catalog_rows("content")
        self.rows: dict[str, dict[str, Any]] = {r["id"]: r for r in rows}
        #: id -> ContentInfo; the collector validates ids against this mapping.
        self.content: dict[str, ContentInfo] = {r["id"]: _info(r) for r in rows}

    def refresh_from(self, store: Store) -> None:
        """Take in what other nodes changed in ``store`` (``serve --role``), updating the live
        mappings in place (the collector holds a reference to ``content``): a change made here
        while the store was read wins over what was read; the next refresh brings the rest."""
        names = ("projects", "folders", "rows", "content")
        before = {n: dict(getattr(self, n)) for n in names}
        fresh = Catalog(store)
        with self._lock:
            for n in names:
                merge_in_place(getattr(self, n), before[n], getattr(fresh, n))

    # -- reading ----------------------------------------------------------------------------

    def list(
        self,
        entity: str,
        *,
        project_ids: Iterable[str] | None = None,
        search: str | None = None,
        ids: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
        without_folder: bool = False,
        **match: str | None,
    ) -> list[dict[str, Any]]:
        """Entities matching every filter: exact ``match`` values, ``search`` (case-insensitive, in the
        title or name), ``ids``, ``statuses`` (a catalog video is always ``done``), no folder."""
        table, kind = ENTITIES[entity]
        source = self._source(table)
        allowed = set(project_ids) if project_ids is not None else None
        wanted = set(ids) if ids is not None else None
        needle = search.casefold() if search else None
        if statuses is not None and STATUS not in set(statuses):
            return []
        out = []
        for row in source.values():
            if kind is not None and row["kind"] != kind:
                continue
            if allowed is not None and row.get("project_id", row.get("id")) not in allowed:
                continue
            if any(v is not None and row.get(k) != v for k, v in match.items()):
                continue
            if wanted is not None and row["id"] not in wanted:
                continue
            if without_folder and row.get("folder_id") is not None:
                continue
            if needle is not None and needle not in str(row.get("title") or row.get("name") or "").casefold():
                continue
            out.append(public(entity, row))
        return out

    def get(self, entity: str, key: str) -> dict[str, Any]:
        table, kind = ENTITIES[entity]
        row = self._source(table).get(key)
        if row is None or (kind is not None and row["kind"] != kind):
            raise NotFound(f"no {entity[:-1]} with id {key!r}")
        return public(entity, row)

    def project_of(self, entity: str, key: str) -> str:
        row = self.get(entity, key)
        return str(row["id"] if entity == "projects" else row["project_id"])

    def folder_path(self, folder_id: str | None) -> str | None:
        names = []
        seen = set()
        while folder_id is not None and folder_id in self.folders and folder_id not in seen:
            seen.add(folder_id)
            names.append(self.folders[folder_id]["name"])
            folder_id = self.folders[folder_id]["parent_id"]
        return "/".join(reversed(names)) if names else None

    def subfolders(self, folder_ids: Iterable[str]) -> set[str]:
        """The folders and all folders nested under them."""
        children: dict[str, list[str]] = {}
        for f in self.folders.values():
            if f["parent_id"] is not None:
                children.setdefault(f["parent_id"], []).append(f["id"])
        out: set[str] = set()
        todo = list(folder_ids)
        while todo:
            fid = todo.pop()
            if fid not in out:
                out.add(fid)
                todo += children.get(fid, [])
        return out

    def content_ids(
        self,
        *,
        project_ids: Iterable[str] | None = None,
        folder_ids: Iterable[str] | None = None,
        stream_id: str | None = None,
    ) -> set[str]:
        """Content in these projects / folders (nested included) / of this stream (with its events)."""
        projects = set(project_ids) if project_ids is not None else None
        folders = self.subfolders(folder_ids) if folder_ids is not None else None
        out = set()
        for cid, info in self.content.items():
            if projects is not None and info.project_id not in projects:
                continue
            if folders is not None and info.folder_id not in folders:
                continue
            if stream_id is not None and stream_id not in (cid, info.stream_id):
                continue
            out.add(cid)
        return out

    # -- writing ----------------------------------------------------------------------------

    def create(self, entity: str, row: dict[str, Any]) -> dict[str, Any]:
        table, kind = ENTITIES[entity]
        with self._lock:
            if row["id"] in self._all_ids(table):
                raise ValidationFailed(
                    "an entity with this id exists",
                    invalid_params=[InvalidParam("id", "taken", f"id {row['id']!r} is already used")],
                )
            row = dict(row, created_at=datetime.now(UTC))
            if kind is not None:
                row["kind"] = kind
            self._check_refs(table, row)
            self.store.catalog_put(table, _stored(table, row), create=True)
            self._remember(table, row)
        return public(entity, row)

    def update(self, entity: str, key: str, changes: dict[str, Any]) -> dict[str, Any]:
        table, _ = ENTITIES[entity]
        self.get(entity, key)
        with self._lock:
            row = dict(self._source(table)[key], **changes, updated_at=datetime.now(UTC))
            self._check_refs(table, row)
            self.store.catalog_put(table, _stored(table, row), create=False)
            self._remember(table, row)
        return public(entity, row)

    def delete(self, entity: str, key: str) -> None:
        table, _ = ENTITIES[entity]
        self.get(entity, key)
        with self._lock:
            self.store.catalog_delete(table, key)
            self._source(table).pop(key, None)
            if table == "content":
                self.content.pop(key, None)

    # -- internals --------------------------------------------------------------------------

    def _source(self, table: str) -> dict[str, dict[str, Any]]:
        return {"projects": self.projects, "folders": self.folders, "content": self.rows}[table]

    def _all_ids(self, table: str) -> set[str]:
        if table == "content":
            return set(self.rows)
        return set(self._source(table))

    def _remember(self, table: str, row: dict[str, Any]) -> None:
        self._source(table)[row["id"]] = row
        if table == "content":
            self.content[row["id"]] = _info(row)

    def _check_refs(self, table: str, row: dict[str, Any]) -> None:
        problems = []
        if table != "projects" and row.get("project_id") not in self.projects:
            problems.append(InvalidParam("project_id", "unknown", f"no project with id {row.get('project_id')!r}"))
        folder = row.get("parent_id") if table == "folders" else row.get("folder_id")
        if table != "projects" and folder is not None:
            f = self.folders.get(folder)
            name = "parent_id" if table == "folders" else "folder_id"
            if f is None or f["project_id"] != row.get("project_id"):
                problems.append(InvalidParam(name, "unknown", f"no folder {folder!r} in this project"))
            elif table == "folders" and folder in self.subfolders([row["id"]]):
                problems.append(InvalidParam(name, "cycle", "a folder cannot be inside itself"))
        if table == "content" and row.get("kind") == "event":
            s = self.rows.get(row.get("stream_id") or "")
            if s is None or s["kind"] != "stream":
                problems.append(InvalidParam("stream_id", "unknown", f"no stream {row.get('stream_id')!r}"))
        if problems:
            raise ValidationFailed("the entity did not validate", invalid_params=problems)


#: A catalog video's Kinescope ``status``: its file is not processed here, so it is always ready.
STATUS = "done"
_PUBLIC = {
    "projects": ("id", "name", "created_at", "updated_at"),
    "folders": ("id", "project_id", "parent_id", "name", "created_at", "updated_at"),
    "videos": ("id", "project_id", "folder_id", "title", "duration", "status", "created_at", "updated_at"),
    "streams": ("id", "project_id", "folder_id", "title", "created_at", "updated_at"),
    "events": ("id", "stream_id", "project_id", "folder_id", "title", "created_at", "updated_at"),
}


def public(entity: str, row: dict[str, Any]) -> dict[str, Any]:
    """The API's object. ``updated_at`` is the last change made through the API (stored), else
    ``created_at``."""
    row = {**row, "status": STATUS, "updated_at": row.get("updated_at") or row.get("created_at")}
    out = {k: row.get(k) for k in _PUBLIC[entity]}
    for name in ("created_at", "updated_at"):
        t = out.get(name)
        if isinstance(t, datetime):
            out[name] = t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def _stored(table: str, row: dict[str, Any]) -> dict[str, Any]:
    if table == "content":
        return {"title": "", "duration": None, "stream_id": None, "folder_id": None, **row}
    if table == "folders":
        return {"parent_id": None, **row}
    return row


def _info(row: dict[str, Any]) -> ContentInfo:
    return ContentInfo(
        id=row["id"],
        kind=row["kind"],
        project_id=row["project_id"],
        folder_id=row.get("folder_id"),
        title=row.get("title") or "",
        duration=row.get("duration"),
        stream_id=row.get("stream_id"),
    )
