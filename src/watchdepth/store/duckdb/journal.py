"""The embedded store's journal: an append-only, fsynced file of write batches.

Input: stored batches from the ingest loop, in log order, encoded (``rows.JournalBatch``:
events and credits as JSON lines). Output: the same batches back, after a crash, for the
ones the database had not taken yet.
A batch is durable once ``append`` returns (the bytes are written and ``fdatasync``ed),
which costs a fraction of a millisecond; the DuckDB backend acknowledges on that and
loads the database from memory in large transactions behind it (``store.loader``).
It does not talk to any engine, and it keeps no batch that holds nothing to store.

File format: segments ``<first log_seq>.wal`` in one directory, each a run of records
``[u32 length][u32 crc32][msgpack payload]``, the payload a ``JournalBatch``. A record cut
short at the end of the last segment is a write that crashed before its fsync, so was never
acknowledged: replay stops there (and cuts it off, so that later segments may follow it).
A bad record anywhere else is damage, and replay refuses to guess.

Beside the segments: ``Quarantine`` (the batches, or rows of them, the database refused, as
readable JSON lines) and ``DiskGuard`` (refuses appends while free space is under a reserve).
"""

from __future__ import annotations

import errno
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from watchdepth.errors import StoreError, Unavailable
from watchdepth.store.rows import JournalBatch

log = logging.getLogger("watchdepth.store")

_HEADER = struct.Struct("<II")
_DECODER = msgspec.msgpack.Decoder(JournalBatch)
#: A new segment starts once the current one is this large (a loaded segment is deleted whole).
SEGMENT_BYTES = 64 << 20


class Journal:
    """Segments of fsynced write batches in ``directory``. Appends come from one thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._encoder = msgspec.msgpack.Encoder()
        self._fd: int | None = None
        self._size = 0
        self._current: Path | None = None
        self._broken: str | None = None
        self._lock = threading.Lock()  # appends (ingest thread) against trims (loader thread)
        #: segment path -> highest log_seq in it (None while empty), for ``trim``.
        self._segments: dict[Path, int | None] = {}
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the journal directory {directory}: {exc}") from exc

    # -- writing --------------------------------------------------------------------------

    def append(self, batch: JournalBatch) -> None:
        """Write one stored batch (no duplicates, at least one event) and make it durable."""
        with self._lock:
            self._append(batch)

    def _append(self, batch: JournalBatch) -> None:
        payload = self._encoder.encode(batch)
        first = batch.log_seq[0]
        if self._fd is None or self._size >= SEGMENT_BYTES:
            self._open_segment(first)
        record = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        fd, current = self._fd, self._current
        assert fd is not None and current is not None  # _open_segment set both, or raised
        if self._broken:
            raise StoreError(f"the journal cannot be written: {self._broken}")
        try:
            written = os.write(fd, record)
            if written != len(record):
                raise OSError(f"short write ({written} of {len(record)} bytes)")
            os.fdatasync(fd)
        except OSError as exc:
            # Not acknowledged, so it must not come back on replay: cut it off again. If even
            # that fails, no later batch may be acknowledged behind it.
            try:
                os.ftruncate(fd, self._size)
                os.fdatasync(fd)
            except OSError as again:
                self._broken = f"{exc}; then {again}"
            if exc.errno in _NO_SPACE and not self._broken:
                raise Unavailable(
                    "the server's disk is full; try again later", retry_after=RETRY_AFTER_SECONDS
                ) from exc
            raise StoreError(f"journal write failed: {exc}") from exc
        self._size += len(record)
        self._segments[current] = batch.last_log_seq

    def _open_segment(self, first_log_seq: int | None) -> None:
        self._close_segment()
        path = self.directory / f"{first_log_seq or 0:020d}.wal"
        while path in self._segments or path.exists():  # a segment after a failed write
            path = path.with_name(path.stem + "_.wal")
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            _fsync_dir(self.directory)
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise Unavailable(
                    "the server's disk is full; try again later", retry_after=RETRY_AFTER_SECONDS
                ) from exc
            raise StoreError(f"cannot open a journal segment in {self.directory}: {exc}") from exc
        self._current = path
        self._size = 0
        self._segments[path] = None

    def _close_segment(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def trim(self, loaded_log_seq: int) -> None:
        """Delete the closed segments whose every batch is in the database (log_seq ≤ the given one)."""
        with self._lock:
            self._trim(loaded_log_seq)

    def _trim(self, loaded_log_seq: int) -> None:
        for path, last in list(self._segments.items()):
            if path != self._current and last is not None and last <= loaded_log_seq:
                path.unlink(missing_ok=True)
                del self._segments[path]

    def close(self) -> None:
        self._close_segment()

    # -- recovery -------------------------------------------------------------------------

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob("*.wal"))

    def replay(self) -> Iterator[JournalBatch]:
        """Every complete batch of every segment, in log order (call before appending)."""
        for _, batch in self.replay_segments():
            yield batch

    def replay_segments(self) -> Iterator[tuple[Path, JournalBatch]]:
        """(segment, batch) of every complete batch, in log order (call before appending). A record
        cut short at the end of the last segment is cut off the file, so new segments may follow."""
        paths = self.segments()
        for n, path in enumerate(paths):
            data = path.read_bytes()
            at = 0
            while at < len(data):
                bad = _bad_record(data, at)
                if bad:
                    if n == len(paths) - 1 and bad == "cut short":
                        _cut(path, at)  # a write that crashed before its fsync: never acknowledged
                        break
                    raise StoreError(f"journal segment {path} is damaged at byte {at} ({bad})")
                length = _HEADER.unpack_from(data, at)[0]
                try:
                    batch = _DECODER.decode(data[at + _HEADER.size : at + _HEADER.size + length])
                except msgspec.DecodeError as exc:  # intact, but not a batch this version writes
                    raise StoreError(f"journal segment {path} holds an unreadable batch at byte {at} ({exc})") from exc
                yield path, batch
                at += _HEADER.size + length

    def adopt(self, path: Path, last_log_seq: int) -> None:
        """Count a replayed segment as closed, holding batches up to ``last_log_seq``, so that
        ``trim`` deletes it once they are loaded (call before appending)."""
        with self._lock:
            self._segments[path] = max(last_log_seq, self._segments.get(path) or 0)

    def clear(self) -> None:
        """Delete every segment (all of them are in the database)."""
        self._close_segment()
        for path in self.segments():
            path.unlink()
        self._segments.clear()
        _fsync_dir(self.directory)


def _bad_record(data: bytes, at: int) -> str | None:
    if at + _HEADER.size > len(data):
        return "cut short"
    length, crc = _HEADER.unpack_from(data, at)
    body = data[at + _HEADER.size : at + _HEADER.size + length]
    if len(body) < length:
        return "cut short"
    if zlib.crc32(body) != crc:
        # A torn tail can also leave a full-length record of garbage (the length was written,
        # the body not): only at the very end of the file is that taken for a cut-short write.
        return "cut short" if at + _HEADER.size + length == len(data) else "checksum mismatch"
    return None


def _cut(path: Path, size: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(size)
        os.fsync(fh.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- the quarantine ---------------------------------------------------------------------------


class Quarantine:
    """The rows the database refused, one JSON object per line in ``path`` (mode 0600).

    A record: ``at`` (UTC), ``reason`` (the database's message), ``last_log_seq`` and ``key``
    (which journal batch: its highest log number and the CRC-32 of its rows), ``whole`` (the
    batch was refused whole), ``event_rows`` / ``fact_rows`` (the refused rows' indices in the
    batch), and the refused rows themselves: ``events`` (each with its ``log_seq``, ``status``,
    ``run`` and ``event``) and ``facts``, as the journal held them. An operator reads it, fixes
    what can be fixed, and imports it again; the store never reads the rows back.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0  # records written since this process started
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any]) -> None:
        """Append one record, durably (it must be on disk before its good rows are loaded)."""
        line = msgspec.json.encode({"at": datetime.now(UTC).isoformat(timespec="milliseconds"), **record})
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            self.count += 1

    def refused_rows(self) -> dict[tuple[int, int], tuple[list[int], list[int]]]:
        """(last_log_seq, key) -> (event rows, fact rows) refused, of every record on file."""
        out: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return out
        for line in data.splitlines():
            try:
                r = msgspec.json.decode(line)
                out[(int(r["last_log_seq"]), int(r["key"]))] = (list(r["event_rows"]), list(r["fact_rows"]))
            except (msgspec.DecodeError, KeyError, TypeError, ValueError):
                continue  # a line cut short by a crash, or edited by hand: it names no batch
        return out


def batch_key(batch: JournalBatch) -> int:
    """Which batch, beside its last log number (numbers may be used again once a batch is gone)."""
    return zlib.crc32(batch.facts, zlib.crc32(batch.events))


def batch_rows(batch: JournalBatch, events: Sequence[int], facts: Sequence[int]) -> JournalBatch:
    """The batch with only these event and fact rows (its ``last_log_seq`` kept, for ``trim``)."""
    ev_lines = batch.events.splitlines(keepends=True)
    fact_lines = batch.facts.splitlines(keepends=True)
    return JournalBatch(
        [batch.log_seq[i] for i in events],
        [batch.status[i] for i in events],
        [batch.run[i] for i in events],
        b"".join(ev_lines[i] for i in events),
        b"".join(fact_lines[i] for i in facts),
        batch.last_log_seq,
    )


def quarantine_record(
    batch: JournalBatch, events: Sequence[int], facts: Sequence[int], reason: str, whole: bool
) -> dict[str, Any]:
    """A ``Quarantine`` record of these rows of the batch."""
    ev_lines = batch.events.splitlines()
    fact_lines = batch.facts.splitlines()
    return {
        "reason": reason,
        "last_log_seq": batch.last_log_seq,
        "key": batch_key(batch),
        "whole": whole,
        "event_rows": list(events),
        "fact_rows": list(facts),
        "events": [
            {
                "log_seq": batch.log_seq[i],
                "status": batch.status[i],
                "run": batch.run[i],
                "event": msgspec.Raw(ev_lines[i]),
            }
            for i in events
        ],
        "facts": [msgspec.Raw(fact_lines[i]) for i in facts],
    }


# -- the disk reserve --------------------------------------------------------------------------

#: errnos of a full disk or quota.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
#: What a refused write's ``Retry-After`` says (seconds).
RETRY_AFTER_SECONDS = 5


class DiskGuard:
    """Refuses journal appends while free space in ``directory`` is under ``reserve_bytes``.

    Free space is read (``statvfs``) at most every ``every_seconds``, not per append; a
    write that meets a full disk (ENOSPC) marks it low at once, until the next reading.
    """

    def __init__(self, directory: Path, reserve_bytes: int, every_seconds: float = 0.5) -> None:
        self.directory = directory
        self.reserve = reserve_bytes
        self.every = every_seconds
        self._next = 0.0
        self._free: int | None = None
        self._low = False

    def check(self) -> None:
        """Raise ``Unavailable`` (503, Retry-After) while free space is under the reserve."""
        if self.low():
            raise Unavailable("the server's disk is nearly full; try again later", retry_after=RETRY_AFTER_SECONDS)

    def low(self) -> bool:
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.every
            was = self._low
            self._free = free_bytes(self.directory)
            self._low = self._free is not None and self._free < self.reserve
            if self._low != was:
                log.warning(
                    "free space in %s is %s the reserve (%d MB): journal writes %s",
                    self.directory,
                    "under" if self._low else "back over",
                    self.reserve >> 20,
                    "refused" if self._low else "accepted again",
                )
        return self._low

    def full(self) -> None:
        """A write met a full disk: refuse until the next reading says otherwise."""
        self._low = True
        self._next = time.monotonic() + self.every


def free_bytes(directory: Path) -> int | None:
    """Bytes free to an unprivileged writer in ``directory`` (None if it cannot be read)."""
    try:
        st = os.statvfs(directory)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize
