"""The files of a recording: one zstd stream per file, a block flushed after every batch.

Blocking (file I/O and compression); the recorder calls it from a worker thread, one call at
a time. zstd releases the GIL while it compresses.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import TYPE_CHECKING, Any, BinaryIO

from upbitws.protocol.recordfile import (
    BATCH,
    END,
    HEADER,
    MAGIC,
    RotationPolicy,
    encode_record,
    file_name,
)
from upbitws.recording._zstd import zstd

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["FileWriter"]


class FileWriter:
    """Appends batches to the current file; rotates by :class:`RotationPolicy`.

    After a write error the caller calls :meth:`abandon`: the damaged file keeps what it has
    (readable up to its last complete record) and the next write opens a new file.
    """

    def __init__(
        self, directory: Path, header: dict[str, Any], rotation: RotationPolicy, level: int = 1
    ) -> None:
        self._zstd = zstd()
        self.directory = directory
        self._header = header
        self._rotation = rotation
        self._level = level
        self._file: BinaryIO | None = None
        self._cobj: Any = None
        self._opened = 0.0
        self.path: Path | None = None
        self.size = 0  # compressed bytes in the current file
        self.part = 0  # files opened by this writer
        self.written = 0  # compressed bytes in all files

    def write(self, body: bytes) -> None:
        """Append one batch (msgpack entries); flushed to the OS before returning."""
        now = time.monotonic()
        if self._file is not None and self._rotation.due(self._opened, now, self.size):
            self.close()
        if self._file is None:
            self._open(now)
        self._emit(encode_record(BATCH, body))

    def _open(self, now: float) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = time.time_ns()
        while (self.directory / file_name(stamp)).exists():
            stamp += 1_000_000  # taken (two files in one ms): the next ms keeps names in order
        path = self.directory / file_name(stamp)
        self._file = path.open("xb")
        self.path = path
        self._cobj = self._zstd.ZstdCompressor(level=self._level).compressobj()
        self._opened = now
        self.size = 0
        self.part += 1
        header = {**self._header, "part": self.part, "created_ns": stamp}
        self._emit(MAGIC + encode_record(HEADER, json.dumps(header).encode()))

    def _emit(self, data: bytes) -> None:
        assert self._file is not None
        out = self._cobj.compress(data) + self._cobj.flush(self._zstd.COMPRESSOBJ_FLUSH_BLOCK)
        self._file.write(out)
        self._file.flush()  # in the OS: a SIGKILL after this loses nothing of it
        self.size += len(out)
        self.written += len(out)

    def close(self) -> None:
        """Write the closing record and end the zstd frame (a clean end)."""
        file = self._file
        if file is None:
            return
        try:
            end = encode_record(END, json.dumps({"closed_ns": time.time_ns()}).encode())
            out = self._cobj.compress(end) + self._cobj.flush(self._zstd.COMPRESSOBJ_FLUSH_FINISH)
            file.write(out)
            file.flush()
            os.fsync(file.fileno())
            self.written += len(out)
        finally:
            self._file = None
            file.close()

    def abandon(self) -> None:
        """Drop the current file after a write error; the next write opens a new one."""
        file, self._file = self._file, None
        if file is not None:
            # its buffer may not be writable either: the reader then sees a truncated tail
            with contextlib.suppress(OSError):
                file.close()
            if self.size == 0 and self.path is not None:  # not even its header got out
                with contextlib.suppress(OSError):
                    self.path.unlink()
