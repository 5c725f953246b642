"""The recorder and replay as a library: write errors, rotation, resume rules, privacy."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import time
from typing import TYPE_CHECKING, Any

import pytest

import upbitws
from upbitws.exceptions import ConfigurationError, MissingExtraError
from upbitws.models import Trade
from upbitws.recording import Recorder, RecordingReader, item_to_dict, recording_files, replay
from upbitws.simulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, Simulator

from .conftest import env, normal

if TYPE_CHECKING:
    from pathlib import Path

FAST: dict[str, Any] = {"ping_interval": 0.3, "pong_timeout": 0.9, "include_events": True}


async def _consume(recorder: Recorder, seconds: float, sink: list[Any]) -> None:
    try:
        async with asyncio.timeout(seconds):
            async for item in recorder:
                sink.append(normal(item))  # noqa: PERF401 - kept as they come: a timeout ends it
    except TimeoutError:
        pass


DISK_FULL = textwrap.dedent(
    """
    import asyncio, json, resource, signal, sys
    import upbitws
    from upbitws.recording import Recorder, item_to_dict

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    url, out, tee = sys.argv[1:4]
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

    async def main() -> None:
        stream = upbitws.connect([upbitws.trade("KRW-BTC")], url=url, include_events=True)
        seen, failed_at, full = [], None, False
        async with Recorder(stream, out) as recorder:
            async for item in recorder:
                seen.append(item_to_dict(item))
                if len(seen) == 20:
                    resource.setrlimit(resource.RLIMIT_FSIZE, (1, hard))  # the disk is full
                    full = True
                if item_to_dict(item).get("endpoint") == "recorder" and failed_at is None:
                    failed_at = len(seen)
                if failed_at and full and len(seen) >= failed_at + 30:
                    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space again
                    full = False
                    await asyncio.sleep(1.5)  # the recorder retries every second
                if failed_at and not full and len(seen) >= failed_at + 60:
                    break
        with open(tee, "w") as f:
            f.write(json.dumps(seen))

    asyncio.run(main())
    """
)


async def test_a_full_disk_is_an_event_and_a_log_line_and_nothing_is_lost(tmp_path: Path) -> None:
    script = tmp_path / "full.py"
    script.write_text(DISK_FULL)
    out, tee = tmp_path / "rec", tmp_path / "seen.json"
    async with Simulator(seed=2, markets=["KRW-BTC"], trade_rate=20.0) as sim:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            sim.ws_url,
            str(out),
            str(tee),
            env=env(),
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(40):
            _, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    assert b"cannot write the recording" in stderr
    seen = json.loads(tee.read_text())
    errors = [i for i in seen if i.get("event") == "ErrorOccurred"]
    assert errors
    assert errors[0]["endpoint"] == "recorder"
    assert errors[0]["fatal"] is False
    assert errors[0]["error"]["class"] == "RecordingError"
    # the stream went on, and what was held while the disk was full was written afterwards
    assert sum(1 for i in seen[seen.index(errors[0]) :] if i.get("type") == "trade") >= 59
    replayed = [normal(i) for i in replay(out)]
    assert replayed == json.loads(json.dumps(seen))


async def test_rotation_by_size_splits_files_and_replay_reads_across_them(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    live: list[Any] = []
    async with Simulator(seed=4, markets=["KRW-BTC", "KRW-ETH"], trade_rate=10.0) as sim:
        subs = [upbitws.trade("KRW-BTC", "KRW-ETH"), upbitws.orderbook("KRW-BTC")]
        stream = upbitws.connect(subs, url=sim.ws_url, **FAST)
        async with Recorder(stream, out, rotate_mb=0.02) as recorder:
            await _consume(recorder, 3.0, live)
    files = recording_files(out)
    assert len(files) >= 3
    assert [f.name for f in files] == sorted(f.name for f in files)
    reader = RecordingReader(out)
    for _ in reader:
        pass
    assert reader.warnings == []  # every rotated file was closed cleanly
    assert [h["part"] for h in reader.headers] == list(range(1, len(files) + 1))
    assert [normal(i) for i in replay(out)] == live


async def test_replay_is_a_stream_lookalike(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    live: list[Any] = []
    async with Simulator(seed=4, markets=["KRW-BTC", "KRW-ETH"], trade_rate=10.0) as sim:
        subs = [upbitws.trade("KRW-BTC", "KRW-ETH"), upbitws.ticker("KRW-BTC", "KRW-ETH")]
        stream = upbitws.connect(subs, url=sim.ws_url)  # events not yielded, only called back
        events: list[Any] = []
        async with Recorder(stream, out) as recorder:
            recorder.on_event(events.append)
            await _consume(recorder, 1.5, live)

    seen: list[Any] = []
    async with upbitws.recording.replay(out) as again:
        again.on_event(seen.append)
        items = [normal(i) async for i in again]
        assert items == live  # events were not in the live iteration: not in the replay's
        assert [item_to_dict(e) for e in seen] == [item_to_dict(e) for e in events]
        stats = again.stats()
        assert stats.messages_received == len(items)
        assert again.state.ticker("KRW-BTC") is not None
        assert again.state.trades("KRW-ETH")

    only = list(replay(out, types=["trade"], codes=["KRW-ETH"], numbers="float"))
    assert only
    assert all(isinstance(t, Trade) and t.code == "KRW-ETH" for t in only)
    assert isinstance(only[0].trade_price, float)

    started = time.monotonic()
    paced = list(replay(out, speed=4.0))  # about 1.5 s of recording at 4x
    elapsed = time.monotonic() - started
    assert len(paced) == len(live)
    assert elapsed >= 0.25  # paced by the recorded times: not as fast as possible
    with pytest.raises(ConfigurationError, match="speed"):
        replay(out, speed=0)


async def test_resume_refuses_other_subscriptions_and_private_needs_consent(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    async with Simulator(seed=4, markets=["KRW-BTC"], trade_rate=5.0) as sim:
        stream = upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url)
        async with Recorder(stream, out) as recorder:
            await _consume(recorder, 0.8, [])
        other = upbitws.connect([upbitws.ticker("KRW-BTC")], url=sim.ws_url)
        with pytest.raises(ConfigurationError, match="holds a recording of other subscriptions"):
            async with Recorder(other, out):
                pass
        creds = upbitws.Credentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
        private = upbitws.connect(
            [upbitws.my_order()], url=sim.ws_url, private_url=sim.private_ws_url, credentials=creds
        )
        with pytest.raises(ConfigurationError, match="include_private"):
            Recorder(private, tmp_path / "private")


async def test_a_private_recording_holds_no_credentials(tmp_path: Path) -> None:
    out = tmp_path / "private"
    async with Simulator(seed=4, markets=["KRW-BTC"]) as sim:
        creds = upbitws.Credentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
        stream = upbitws.connect(
            [upbitws.my_order(), upbitws.trade("KRW-BTC")],
            url=sim.ws_url,
            private_url=sim.private_ws_url,
            credentials=creds,
        )
        async with Recorder(stream, out, include_private=True) as recorder:
            sink: list[Any] = []
            async with asyncio.timeout(10):
                async for item in recorder:
                    sink.append(item)
                    if len(sink) == 3:
                        sim.place_order("KRW-BTC", "bid", "limit", price="1000", volume="0.001")
                    if getattr(item, "type", None) == "myOrder":
                        break
    from upbitws.recording._zstd import zstd

    raw = b"".join(
        zstd().ZstdDecompressor().decompressobj().decompress(f.read_bytes())
        for f in recording_files(out)
    )
    assert b"myOrder" in raw
    for secret in (DEFAULT_SECRET_KEY, DEFAULT_ACCESS_KEY, "Bearer", "eyJ"):
        assert secret.encode() not in raw


async def test_a_missing_extra_is_explained(tmp_path: Path) -> None:
    (tmp_path / "upbitws-20260101T000000000Z.rec.zst").write_bytes(b"")
    code = (
        "import sys; sys.modules['zstandard'] = None\n"  # as if the extra were not installed
        "from upbitws.cli import main\n"
        f"sys.argv = ['upbitws', 'replay', {str(tmp_path)!r}]\n"
        "main()\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, env=env(), stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await proc.communicate()
    assert proc.returncode == 2
    assert b"pip install 'upbitws[record]'" in stderr
    assert b"Traceback" not in stderr
    with pytest.raises(MissingExtraError):
        raise MissingExtraError("recording and replay", "record")  # the class the CLI prints


async def test_private_types_subscribed_later_without_consent_are_not_recorded(
    tmp_path: Path,
) -> None:
    out = tmp_path / "public"
    got: list[Any] = []
    async with Simulator(seed=4, markets=["KRW-BTC"], trade_rate=5.0) as sim:
        creds = upbitws.Credentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
        stream = upbitws.connect(
            [upbitws.trade("KRW-BTC")],
            url=sim.ws_url,
            private_url=sim.private_ws_url,
            credentials=creds,
        )
        async with Recorder(stream, out) as recorder:
            await recorder.stream.subscribe(upbitws.my_order())
            async with asyncio.timeout(10):
                async for item in recorder:
                    got.append(item)
                    if len(got) == 5:
                        sim.place_order("KRW-BTC", "bid", "limit", price="1000", volume="0.001")
                    if getattr(item, "type", None) == "myOrder":
                        break
    from upbitws.recording._zstd import zstd

    raw = b"".join(
        zstd().ZstdDecompressor().decompressobj().decompress(f.read_bytes())
        for f in recording_files(out)
    )
    assert b"myOrder" not in raw
    replayed = list(replay(out))
    assert replayed
    assert all(getattr(i, "type", "trade") == "trade" for i in replayed)
