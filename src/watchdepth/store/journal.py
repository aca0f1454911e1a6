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
acknowledged: replay stops there. A bad record anywhere else is damage, and replay refuses to guess.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import msgspec

from watchdepth.errors import StoreError
from watchdepth.store.rows import JournalBatch

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
        if self._broken:
            raise StoreError(f"the journal cannot be written: {self._broken}")
        try:
            written = os.write(self._fd, record)  # type: ignore[arg-type]
            if written != len(record):
                raise OSError(f"short write ({written} of {len(record)} bytes)")
            os.fdatasync(self._fd)  # type: ignore[arg-type]
        except OSError as exc:
            # Not acknowledged, so it must not come back on replay: cut it off again. If even
            # that fails, no later batch may be acknowledged behind it.
            try:
                os.ftruncate(self._fd, self._size)  # type: ignore[arg-type]
                os.fdatasync(self._fd)  # type: ignore[arg-type]
            except OSError as again:
                self._broken = f"{exc}; then {again}"
            raise StoreError(f"journal write failed: {exc}") from exc
        self._size += len(record)
        self._segments[self._current] = batch.last_log_seq

    def _open_segment(self, first_log_seq: int | None) -> None:
        self._close_segment()
        path = self.directory / f"{first_log_seq or 0:020d}.wal"
        while path in self._segments or path.exists():  # a segment after a failed write
            path = path.with_name(path.stem + "_.wal")
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            _fsync_dir(self.directory)
        except OSError as exc:
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
        paths = self.segments()
        for n, path in enumerate(paths):
            data = path.read_bytes()
            at = 0
            while at < len(data):
                bad = _bad_record(data, at)
                if bad:
                    if n == len(paths) - 1 and bad == "cut short":
                        break  # a write that crashed before its fsync: never acknowledged
                    raise StoreError(f"journal segment {path} is damaged at byte {at} ({bad})")
                length = _HEADER.unpack_from(data, at)[0]
                try:
                    batch = _DECODER.decode(data[at + _HEADER.size: at + _HEADER.size + length])
                except msgspec.DecodeError as exc:  # intact, but not a batch this version writes
                    raise StoreError(f"journal segment {path} holds an unreadable batch at byte {at} ({exc})") from exc
                yield batch
                at += _HEADER.size + length

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
    body = data[at + _HEADER.size: at + _HEADER.size + length]
    if len(body) < length:
        return "cut short"
    if zlib.crc32(body) != crc:
        # A torn tail can also leave a full-length record of garbage (the length was written,
        # the body not): only at the very end of the file is that taken for a cut-short write.
        return "cut short" if at + _HEADER.size + length == len(data) else "checksum mismatch"
    return None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
