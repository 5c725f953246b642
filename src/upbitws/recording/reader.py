"""Reading recordings: the files of a recording in order, their headers and entries.

A damaged tail never fails a read: what precedes it is returned and the damage is logged
(``upbitws.recording`` logger) and listed in :attr:`RecordingReader.warnings`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import msgspec

from upbitws.exceptions import ConfigurationError, RecordingFormatError
from upbitws.protocol.recordfile import (
    BATCH,
    HEADER,
    RecordParser,
    decode_batch,
    is_recording_name,
    parse_header,
)
from upbitws.recording._zstd import zstd

__all__ = ["RecordingPath", "RecordingReader", "recording_files"]

log = logging.getLogger("upbitws.recording")

_CHUNK: Final = 1 << 20


RecordingPath = str | Path | list[Path]


def recording_files(path: RecordingPath) -> list[Path]:
    """The files of a recording: ``path`` itself, or a directory's recording files by name
    (which is by time); a list is taken as it is."""
    if isinstance(path, list):
        return list(path)
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if is_recording_name(f.name))
        if not files:
            raise ConfigurationError(f"{p} holds no upbitws recording (*.rec.zst files)")
        return files
    if p.is_file():
        return [p]
    raise ConfigurationError(f"no recording at {p}: give a recording directory or file")


class RecordingReader:
    """Iterates ``(kind, value)`` over the files of a recording: ``("header", dict)`` at the
    start of each file, then ``("entries", list)`` for each batch."""

    def __init__(self, path: RecordingPath) -> None:
        self.files = recording_files(path)
        self.warnings: list[str] = []
        self.headers: list[dict[str, Any]] = []

    def _warn(self, file: Path, message: str) -> None:
        text = f"{file.name}: {message}"
        self.warnings.append(text)
        log.warning("recording %s", text)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for file in self.files:
            yield from self._read(file)

    def _read(self, file: Path) -> Iterator[tuple[str, Any]]:
        zstandard = zstd()
        parser = RecordParser()
        decompressor = zstandard.ZstdDecompressor().decompressobj()
        first = True
        with file.open("rb") as f:
            while chunk := f.read(_CHUNK):
                try:
                    data = decompressor.decompress(chunk)
                except zstandard.ZstdError as exc:
                    self._warn(file, f"compressed data damaged after {parser.offset} bytes: {exc}")
                    break
                for kind, body in parser.feed(data):
                    if first:
                        if kind != HEADER:
                            raise RecordingFormatError(f"{file}: no header record")
                        header = parse_header(body)
                        self.headers.append(header)
                        first = False
                        yield "header", header
                    elif kind == BATCH:
                        try:
                            entries = decode_batch(body)
                        except (msgspec.DecodeError, RecordingFormatError) as exc:
                            self._warn(file, f"undecodable batch skipped: {exc}")
                            continue
                        yield "entries", entries
                if parser.error is not None:
                    break
        if first and parser.error is not None:
            raise RecordingFormatError(f"{file}: {parser.error}")
        problem = parser.end()
        if problem is not None:
            self._warn(file, f"{problem}; read up to the last complete record")
