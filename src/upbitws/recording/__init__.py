"""Record a stream exactly, replay it as a stream, export it to Parquet (``docs/recording.md``).

Needs the ``[record]`` extra (``zstandard``); export needs ``[parquet]`` (``pyarrow``).
"""

from __future__ import annotations

from upbitws.exceptions import RecordingError, RecordingFormatError
from upbitws.protocol.recordfile import FlushPolicy, RotationPolicy
from upbitws.recording._serial import event_from_dict, event_to_dict, item_to_dict
from upbitws.recording.reader import RecordingReader, recording_files
from upbitws.recording.recorder import Recorder
from upbitws.recording.replay import Replay, replay

__all__ = [
    "FlushPolicy",
    "Recorder",
    "RecordingError",
    "RecordingFormatError",
    "RecordingReader",
    "Replay",
    "RotationPolicy",
    "event_from_dict",
    "event_to_dict",
    "item_to_dict",
    "recording_files",
    "replay",
]
