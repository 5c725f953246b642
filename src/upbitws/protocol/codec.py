"""Frames to typed models and back (protocol §2.4–§2.5, §4, §6; architecture §2.5).

One frame as received (binary or text; DEFAULT or SIMPLE keys; one object or a JSON_LIST /
SIMPLE_LIST array) becomes a list of models in one msgspec pass. Numbers are exact by default:
msgspec builds each ``Decimal`` from the wire text, so ``1.16539E8``, ``0.00077720`` and
``1386929.37231066771348207123`` survive untouched; ``sequential_id`` stays an exact ``int``.

Hot path: Upbit writes ``type`` / ``ty`` first in every data frame, so the first bytes pick a
prebuilt decoder for a tagged union of every data model. Anything else (status, error and
LIST_SUBSCRIPTIONS frames, other key orders, pretty-printed JSON) takes a slower path that
reads the keys first. SIMPLE frames decode into generated twin Structs (same fields, SIMPLE
keys) and are converted to the DEFAULT classes, so both key sets give equal objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import cache
from typing import Any, Final, Literal, Union, cast, overload

import msgspec

from upbitws.exceptions import MessageDecodeError
from upbitws.models import (
    CANDLE_CLASSES,
    Announcement,
    AssetBalance,
    ErrorFrame,
    FloatMessage,
    Message,
    MyAsset,
    MyOrder,
    Orderbook,
    OrderbookUnit,
    StatusFrame,
    SubscriptionEntry,
    SubscriptionList,
    Ticker,
    Trade,
)
from upbitws.protocol.formats import FORMATS, LIST_FORMATS, SIMPLE_FORMATS

__all__ = ["Decoder", "Numbers", "decode", "encode", "encode_list", "to_dict"]

Numbers = Literal["decimal", "float"]

_EVENT_CLASSES: Final[tuple[type[msgspec.Struct], ...]] = (
    Ticker,
    Trade,
    Orderbook,
    *CANDLE_CLASSES.values(),
    MyOrder,
    MyAsset,
    Announcement,
)

_CONVERTIBLE: Final[tuple[type[msgspec.Struct], ...]] = (*_EVENT_CLASSES, SubscriptionList)

_DEFAULT_HEAD: Final = b'{"type":'
_SIMPLE_HEAD: Final = b'{"ty":'
_DEFAULT_LIST_HEAD: Final = b'[{"type":'
_SIMPLE_LIST_HEAD: Final = b'[{"ty":'

_STATUS_UP: Final = b'{"status":"UP"}'
_STATUS_UP_FRAME: Final = StatusFrame(status="UP")  # frozen, so one shared instance is safe

_Decode = Callable[[Any], Any]
_DecodeList = Callable[[Any], list[Any]]


def _copy(frame: bytes | bytearray | memoryview | str) -> bytes | str:
    """The frame as ``MessageDecodeError`` takes it (it truncates the copy)."""
    return frame if isinstance(frame, str | bytes) else bytes(frame)


def _concrete(cls: type[Any], num: type) -> Any:
    """``Ticker[Decimal]`` for generic models, the class itself otherwise."""
    return cls[num] if getattr(cls, "__parameters__", ()) else cls


@cache
def _twin(cls: type[msgspec.Struct], num: type) -> type[msgspec.Struct]:
    """A Struct with ``cls``'s fields under their SIMPLE keys (``ty`` as the tag field)."""
    keys: dict[str, str] = dict(getattr(cls, "__simple_keys__", {}))
    fields: list[tuple[str, Any, Any]] = []
    for f in msgspec.structs.fields(_concrete(cls, num)):
        ftype: Any = f.type
        inner = _NESTED_FIELDS.get(f.name)
        if inner is not None:
            nested: Any = _twin(inner, num)
            ftype = tuple[nested, ...]
        if f.default is not msgspec.NODEFAULT:
            fields.append((f.name, ftype, f.default))
        else:
            fields.append((f.name, ftype, msgspec.NODEFAULT))
    config = cls.__struct_config__
    return msgspec.defstruct(
        f"Simple{cls.__name__}",
        [(n, t) if d is msgspec.NODEFAULT else (n, t, d) for n, t, d in fields],
        rename=keys,
        tag_field="ty" if config.tag_field else None,
        tag=config.tag if config.tag_field else None,
        omit_defaults=config.omit_defaults,
        frozen=True,
        kw_only=True,
        gc=False,
    )


_NESTED_FIELDS: Final[dict[str, type[msgspec.Struct]]] = {
    "orderbook_units": OrderbookUnit,
    "assets": AssetBalance,
    "result": SubscriptionEntry,
}


@cache
def _builder(cls: type[msgspec.Struct]) -> Callable[[Any], Any]:
    """A function that builds the model ``cls`` from its SIMPLE twin (see :func:`_twin`).

    The twin's decoder has already validated every value against the same field types, so the
    model is built directly with keyword arguments, nested twins (units, assets, result
    entries) inline: about twice as fast as ``msgspec.convert(..., from_attributes=True)``,
    which validates everything again. Generated the way ``dataclasses`` generates
    ``__init__``: one keyword per field, the names being the models' own field names.
    """
    env: dict[str, Any] = {}
    source = f"def build(t):\n    return {_build_expr(cls, 't', env)}\n"
    exec(source, env)  # generated from the models' field names only, see the docstring
    return cast("Callable[[Any], Any]", env["build"])


def _build_expr(cls: type[msgspec.Struct], var: str, env: dict[str, Any]) -> str:
    """``Model(field=var.field, ..., units=tuple([Unit(...) for var_ in var.units]))``."""
    env[f"_{cls.__name__}"] = cls
    args: list[str] = []
    for name in cls.__struct_fields__:
        inner = _NESTED_FIELDS.get(name)
        if inner is None:
            args.append(f"{name}={var}.{name}")
        else:
            item = f"{var}_"
            args.append(
                f"{name}=tuple([{_build_expr(inner, item, env)} for {item} in {var}.{name}])"
            )
    return f"_{cls.__name__}({', '.join(args)})"


class Decoder:
    """A reusable frame decoder; ``numbers="float"`` trades exactness for speed.

    >>> Decoder().decode(b'{"status":"UP"}')
    [StatusFrame(status='UP')]
    """

    __slots__ = (
        "_build",
        "_by_key",
        "_default_list",
        "_default_one",
        "_keys",
        "_raw_list",
        "_simple_list",
        "_simple_one",
        "numbers",
    )

    def __init__(self, numbers: Numbers = "decimal") -> None:
        if numbers not in ("decimal", "float"):
            raise ValueError(f"numbers must be 'decimal' or 'float', not {numbers!r}")
        self.numbers: Numbers = numbers
        num: type = Decimal if numbers == "decimal" else float
        default_types = tuple(_concrete(c, num) for c in _EVENT_CLASSES)
        simple_types = tuple(_twin(c, num) for c in _EVENT_CLASSES)
        default_union: Any = Union[default_types]  # noqa: UP007 - built at runtime
        simple_union: Any = Union[simple_types]  # noqa: UP007
        # Bound ``decode`` methods: the hot path saves an attribute lookup per frame.
        self._default_one: _Decode = msgspec.json.Decoder(default_union).decode
        self._default_list: _DecodeList = msgspec.json.Decoder(list[default_union]).decode
        self._simple_one: _Decode = msgspec.json.Decoder(simple_union).decode
        self._simple_list: _DecodeList = msgspec.json.Decoder(list[simple_union]).decode
        self._build: dict[type, Callable[[Any], Any]] = {
            _twin(c, num): _builder(c) for c in _CONVERTIBLE
        }
        self._keys: _Decode = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
        self._raw_list: _DecodeList = msgspec.json.Decoder(list[msgspec.Raw]).decode
        self._by_key: dict[str, _Decode] = {
            "type": self._default_one,
            "ty": self._simple_one,
            "status": msgspec.json.Decoder(StatusFrame).decode,
            "error": msgspec.json.Decoder(ErrorFrame).decode,
            "method": msgspec.json.Decoder(SubscriptionList).decode,
            "mthd": msgspec.json.Decoder(_twin(SubscriptionList, num)).decode,
        }

    def decode(self, frame: bytes | bytearray | memoryview | str) -> list[Any]:
        """Decode one frame into its messages; raise :class:`MessageDecodeError` if it is not
        valid JSON or not an Upbit frame (the error carries the reason and a truncated copy)."""
        # Hot path first: binary frames (§2.4) that start the way Upbit writes them. A str
        # frame never equals these bytes prefixes and is encoded below, off the hot path.
        try:
            head = frame[:8]
            if head == _DEFAULT_HEAD:
                return [self._default_one(frame)]
            if head[:6] == _SIMPLE_HEAD:
                twin = self._simple_one(frame)
                return [self._build[type(twin)](twin)]
            if frame[:9] == _DEFAULT_LIST_HEAD:
                return self._default_list(frame)
            if head[:7] == _SIMPLE_LIST_HEAD:
                build = self._build
                return [build[type(m)](m) for m in self._simple_list(frame)]
            if isinstance(frame, str):
                return self._decode_text(frame)
            if frame == _STATUS_UP:  # the exact bytes of the heartbeat reply (§4.12)
                return [_STATUS_UP_FRAME]
            return self._decode_slow(frame)
        except msgspec.ValidationError as exc:
            raise MessageDecodeError(f"not a valid Upbit frame: {exc}", _copy(frame)) from exc
        except msgspec.DecodeError as exc:
            raise MessageDecodeError(f"invalid JSON: {exc}", _copy(frame)) from exc
        except UnicodeDecodeError as exc:  # msgspec raises it for invalid UTF-8 inside a string
            raise MessageDecodeError(f"not UTF-8: {exc}", _copy(frame)) from exc
        except RecursionError as exc:  # msgspec's depth limit on deeply nested arrays/objects
            raise MessageDecodeError("JSON nested too deeply", _copy(frame)) from exc

    def _decode_text(self, frame: str) -> list[Any]:
        try:
            data = frame.encode()
        except UnicodeEncodeError as exc:  # a str holding lone surrogates is not UTF-8
            raise MessageDecodeError(f"not UTF-8 text: {exc}", frame) from exc
        return self.decode(data)

    def _decode_slow(self, data: bytes | bytearray | memoryview) -> list[Any]:
        if not bytes(data).strip():
            raise MessageDecodeError("empty frame", bytes(data))
        stripped = bytes(data).lstrip()
        if stripped[:1] == b"[":
            return [self._decode_object(bytes(item)) for item in self._raw_list(data)]
        return [self._decode_object(bytes(data))]

    def _decode_object(self, data: bytes) -> Any:
        try:
            keys = self._keys(data)
        except msgspec.ValidationError as exc:
            raise MessageDecodeError("not an Upbit frame: expected a JSON object", data) from exc
        for key, decoder in self._by_key.items():
            if key in keys:
                message = decoder(data)
                return self._build[type(message)](message) if key in ("ty", "mthd") else message
        shown = ", ".join(sorted(keys)[:8])
        raise MessageDecodeError(
            f"not an Upbit frame: no type/ty/status/error/method key (keys: {shown})", data
        )


class _Decoders(dict[str, Callable[[Any], list[Any]]]):
    """``Decoder.decode`` bound per number mode, built on first use (one lookup per frame)."""

    def __missing__(self, numbers: Numbers) -> Callable[[Any], list[Any]]:
        fn = self[numbers] = Decoder(numbers).decode  # Decoder validates ``numbers``
        return fn


_DECODE: Final = _Decoders()


@overload
def decode(frame: bytes | bytearray | memoryview | str) -> list[Message]: ...
@overload
def decode(
    frame: bytes | bytearray | memoryview | str, *, numbers: Literal["decimal"]
) -> list[Message]: ...
@overload
def decode(
    frame: bytes | bytearray | memoryview | str, *, numbers: Literal["float"]
) -> list[FloatMessage]: ...
def decode(frame: bytes | bytearray | memoryview | str, *, numbers: Numbers = "decimal") -> Any:
    """Decode one frame as received into typed messages (see :class:`Decoder`)."""
    return _DECODE[numbers](frame)


_ENCODER: Final = msgspec.json.Encoder(decimal_format="number")


def _num_type(message: msgspec.Struct) -> type:
    for name in message.__struct_fields__:
        value = getattr(message, name)
        if isinstance(value, float):
            return float
        if isinstance(value, Decimal):
            return Decimal
    return Decimal


def _to_wire(message: Any, simple: bool) -> Any:
    if not simple or isinstance(message, StatusFrame | ErrorFrame):
        return message  # status and error frames have no SIMPLE form (§4.1)
    base = next(c for c in _CONVERTIBLE if isinstance(message, c))
    twin = _twin(base, _num_type(message))
    return msgspec.convert(message, twin, from_attributes=True)


def _check_format(format: str) -> str:
    fmt = str(format).upper()
    if fmt not in FORMATS:
        raise ValueError(
            f"unknown format {format!r}: use DEFAULT, SIMPLE, JSON_LIST or SIMPLE_LIST"
        )
    return fmt


def encode(message: Message | FloatMessage, format: str = "DEFAULT") -> bytes:
    """Encode one message as Upbit would send it in ``format`` (numbers as JSON numbers,
    Decimal text kept). List formats give a one-element array."""
    fmt = _check_format(format)
    wire = _to_wire(message, fmt in SIMPLE_FORMATS)
    return _ENCODER.encode([wire] if fmt in LIST_FORMATS else wire)


def encode_list(messages: Iterable[Message | FloatMessage], format: str = "JSON_LIST") -> bytes:
    """Encode several messages as one JSON_LIST / SIMPLE_LIST frame."""
    fmt = _check_format(format)
    simple = fmt in SIMPLE_FORMATS
    return _ENCODER.encode([_to_wire(m, simple) for m in messages])


def to_dict(
    message: Message | FloatMessage, *, decimals: Literal["str", "decimal", "float"] = "str"
) -> dict[str, Any]:
    """Plain builtins with DEFAULT names (``type`` included): JSON-ready with the default
    ``decimals="str"`` (exact text); ``"decimal"`` keeps ``Decimal`` objects, ``"float"``
    converts them."""
    keep: Sequence[type] = (Decimal,) if decimals in ("decimal", "float") else ()
    out = msgspec.to_builtins(message, builtin_types=keep)
    if decimals == "float":
        out = _floats(out)
    return cast("dict[str, Any]", out)


def _floats(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, tuple):  # to_builtins keeps the models' tuples (units, assets)
        return tuple(_floats(v) for v in value)
    return value
