"""peek: the type and code of a frame that failed to decode, read tolerantly, never raising."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from upbitws.protocol.peek import MAX_KEYS, PeekedKey, peek

DATA = Path(__file__).parent.parent / "data"


def _fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_default_and_simple_frames_give_type_and_code() -> None:
    assert peek(_fixture("trade_default.json")) == (PeekedKey("trade", "KRW-BTC"),)
    assert peek(_fixture("ticker_simple.json"))[0].type == "ticker"
    assert peek(_fixture("ticker_simple.json"))[0].code is not None


def test_list_frames_give_one_key_per_object() -> None:
    keys = peek(_fixture("simple_list_mixed.json"))
    assert [k.type for k in keys] == ["ticker", "trade", "candle.1m"]
    assert all(k.code for k in keys)


def test_code_less_private_types_have_no_code() -> None:
    assert peek(_fixture("myasset_default.json")) == (PeekedKey("myAsset", None),)


def test_control_frames_are_marked() -> None:
    for name in ("status_up.json", "error_no_ticket.json", "list_subscriptions_simple.json"):
        assert peek(_fixture(name)) == (PeekedKey(None, None, control=True),), name


def test_a_frame_that_is_not_json_is_scanned() -> None:
    frame = _fixture("trade_simple.json")
    assert peek(frame[:60]) == (PeekedKey("trade", "KRW-BTC"),)
    broken_list = b'[{"type":"trade","code":"KRW-BTC","x":1},{"type":"ticker","code":"KRW-ETH",'
    assert peek(broken_list) == (PeekedKey("trade", "KRW-BTC"), PeekedKey("ticker", "KRW-ETH"))


def test_values_of_the_wrong_type_are_unreadable() -> None:
    assert peek(b'{"type":5,"code":["KRW-BTC"]}') == (PeekedKey(None, None),)
    assert peek(b'{"type":"' + b"x" * 100 + b'","code":"KRW-BTC"}') == (PeekedKey(None, "KRW-BTC"),)


def test_nothing_readable_gives_nothing() -> None:
    for frame in (b"", b"123", b"[1,2]", b"[" * 100_000, "\ud800", b"\xff\xfe", b"null"):
        assert peek(frame) == ()


def test_keys_are_bounded() -> None:
    frame = b"[" + b",".join([b'{"type":"trade","code":"KRW-BTC"}'] * 1000) + b"]"
    assert len(peek(frame)) == MAX_KEYS
    assert len(peek(frame[:-1])) == MAX_KEYS  # the scan path too


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=200)))
def test_peek_never_raises(frame: bytes | str) -> None:
    keys = peek(frame)
    assert len(keys) <= MAX_KEYS
    assert all(isinstance(k, PeekedKey) for k in keys)
