"""A three-way merge of an in-memory mapping with what the store holds now.

Input: the live mapping, a copy of it taken before the store was read, and the store's
rows. Output: the live mapping updated in place: every key that did not change here
meanwhile takes the store's value (or goes, if the store no longer has it). Used when
several nodes share one store (``serve --role``) and each re-reads the catalog and tokens.
"""

from __future__ import annotations

from typing import Any, TypeVar

K = TypeVar("K")
_MISSING: Any = object()


def merge_in_place(live: dict[K, Any], before: dict[K, Any], new: dict[K, Any]) -> None:
    """Apply ``new`` to ``live`` for every key ``live`` still has as in ``before``."""
    for k in [k for k in live if k not in new]:
        if live[k] is before.get(k, _MISSING):
            del live[k]
    for k, v in new.items():
        if live.get(k, _MISSING) is before.get(k, _MISSING):
            live[k] = v
