"""Export a recording to Parquet: one Hive-partitioned dataset per type (``docs/recording.md``).

``OUT/trade/date=2026-11-29/part-0.parquet``, ``OUT/ticker/...``, ``OUT/orderbook/...``,
``OUT/candle.1m/...``. Columns are the models' fields (DEFAULT names) plus:

* ``exchange_time`` — ``timestamp[ms, UTC]``: the trade time for trades
  (``trade_timestamp``), Upbit's ``timestamp`` for everything else; ``date`` (the partition)
  is its UTC date;
* ``received_at`` — ``timestamp[ns, UTC]``: when the frame arrived (for recovered trades:
  when the consumer got them);
* ``recovered`` (trades) — the trade came from REST to fill a gap.

Prices, volumes and every other decimal field are ``decimal128(38, 20)``: 18 integer and 20
fractional digits, exactly the wire text. A value that does not fit raises
:class:`ExportError`; nothing is ever rounded. Orderbook units are
``list<struct<ask_price, bid_price, ask_size, bid_size>>``.

Trades are the consumer's tape (de-duplicated, gaps filled from REST); the other types are
every frame received (conflation only thins what a slow consumer saw, not what is exported).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import msgspec
import msgspec.inspect as mi

from upbitws.exceptions import ConfigurationError, MessageDecodeError, MissingExtraError
from upbitws.models import RecoveredTrade, Trade
from upbitws.protocol.codec import Decoder
from upbitws.protocol.recordfile import E_FRAME
from upbitws.recording.reader import RecordingPath, RecordingReader
from upbitws.recording.replay import Replay

__all__ = ["DECIMAL_PRECISION", "DECIMAL_SCALE", "ExportError", "ExportSummary", "to_parquet"]

DECIMAL_PRECISION: Final = 38
DECIMAL_SCALE: Final = 20
_CHUNK: Final = 50_000


class ExportError(ConfigurationError):
    """A value cannot be exported exactly (it does not fit its column)."""


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.dataset
    except ImportError as exc:
        raise MissingExtraError("Parquet export", "parquet") from exc
    return pyarrow


def _arrow(pa: Any, info: Any) -> tuple[Any, bool]:
    """(arrow type, JSON-encode the value) for a msgspec type."""
    if isinstance(info, mi.UnionType):
        inner = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(inner) == 1:
            return _arrow(pa, inner[0])
        return pa.string(), True  # e.g. delisting_date: a string or an object
    if isinstance(info, mi.DecimalType | mi.FloatType):
        return pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE), False
    if isinstance(info, mi.IntType):
        return pa.int64(), False
    if isinstance(info, mi.BoolType):
        return pa.bool_(), False
    if isinstance(info, mi.StrType | mi.EnumType | mi.LiteralType):
        return pa.string(), False
    if isinstance(info, mi.VarTupleType | mi.ListType):
        item, _ = _arrow(pa, info.item_type)
        return pa.list_(item), False
    if isinstance(info, mi.StructType):
        fields = [pa.field(f.name, _arrow(pa, f.type)[0]) for f in info.fields]
        return pa.struct(fields), False
    return pa.string(), True


class _Dataset:
    """Rows of one type, as Arrow record batches."""

    def __init__(self, pa: Any, name: str, cls: type) -> None:
        self.pa = pa
        self.name = name
        concrete: Any = cls
        info: Any = mi.type_info(concrete[Decimal] if getattr(cls, "__parameters__", ()) else cls)
        fields = []
        self.json_columns: set[str] = set()
        for f in info.fields:
            arrow_type, as_json = _arrow(pa, f.type)
            if as_json:
                self.json_columns.add(f.name)
            fields.append(pa.field(f.name, arrow_type))
        fields.insert(0, pa.field("type", pa.string()))
        fields += [
            pa.field("exchange_time", pa.timestamp("ms", tz="UTC")),
            pa.field("received_at", pa.timestamp("ns", tz="UTC")),
        ]
        if name == "trade":
            fields.append(pa.field("recovered", pa.bool_()))
        fields.append(pa.field("date", pa.string()))
        self.schema = pa.schema(fields)
        self.rows: list[dict[str, Any]] = []
        self.batches: list[Any] = []
        self.count = 0

    def add(self, message: Any, received_ns: int) -> None:
        row = msgspec.to_builtins(message, builtin_types=(Decimal,))
        for column in self.json_columns:
            if row.get(column) is not None and not isinstance(row[column], str):
                row[column] = msgspec.json.encode(row[column]).decode()
        exchange_ms = message.trade_timestamp if self.name == "trade" else message.timestamp
        row["exchange_time"] = exchange_ms
        row["received_at"] = received_ns
        if self.name == "trade":
            row["recovered"] = isinstance(message, RecoveredTrade)
        row["date"] = datetime.fromtimestamp(exchange_ms / 1000, tz=UTC).strftime("%Y-%m-%d")
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= _CHUNK:
            self.seal()

    def seal(self) -> None:
        if not self.rows:
            return
        pa = self.pa
        try:
            self.batches.append(pa.RecordBatch.from_pylist(self.rows, schema=self.schema))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ExportError(self._culprit(str(exc))) from exc
        self.rows = []

    def _culprit(self, reason: str) -> str:
        limit = Decimal(10) ** (DECIMAL_PRECISION - DECIMAL_SCALE)
        for row in self.rows:
            for column, value in row.items():
                if isinstance(value, Decimal) and (
                    value.as_tuple().exponent < -DECIMAL_SCALE  # type: ignore[operator]
                    or abs(value) >= limit
                ):
                    return (
                        f"{self.name}.{column} = {value} does not fit decimal128"
                        f"({DECIMAL_PRECISION}, {DECIMAL_SCALE}) exactly; nothing was rounded, "
                        "nothing written for this type"
                    )
        return f"cannot export {self.name}: {reason}"

    def write(self, out: Path) -> None:
        self.seal()
        if not self.batches:
            return
        pa = self.pa
        table = pa.Table.from_batches(self.batches, schema=self.schema)
        pa.dataset.write_dataset(
            table,
            out / self.name,
            format="parquet",
            partitioning=pa.dataset.partitioning(
                pa.schema([pa.field("date", pa.string())]), flavor="hive"
            ),
            existing_data_behavior="delete_matching",
            basename_template="part-{i}.parquet",
        )


class ExportSummary(msgspec.Struct, frozen=True):
    rows: dict[str, int]
    warnings: list[str]


def _frames(path: RecordingPath) -> Iterator[tuple[int, Any]]:
    """Every non-trade message of every frame, with its receive time."""
    reader = RecordingReader(path)
    decode = Decoder("decimal").decode
    for kind, value in reader:
        if kind != "entries":
            continue
        for entry in value:
            if entry[0] != E_FRAME:
                continue
            try:
                messages = decode(entry[4])
            except MessageDecodeError:
                continue
            for message in messages:
                if getattr(message, "type", "trade") != "trade":
                    yield entry[2], message


def to_parquet(path: RecordingPath, out: str | Path) -> ExportSummary:
    """Export the recording at ``path`` under ``out`` (see the module docstring)."""
    pa = _pyarrow()
    out = Path(out)
    datasets: dict[str, _Dataset] = {}

    def dataset(message: Any) -> _Dataset:
        name = message.type
        ds = datasets.get(name)
        if ds is None:
            cls = Trade if name == "trade" else type(message)
            ds = datasets[name] = _Dataset(pa, name, cls)
        return ds

    replay = Replay(path, include_events=False)
    for received, item in replay.delivered():
        if isinstance(item, Trade):
            dataset(item).add(item, received)
    for received, message in _frames(path):
        dataset(message).add(message, received)
    for ds in datasets.values():
        ds.seal()
    out.mkdir(parents=True, exist_ok=True)
    for ds in datasets.values():
        ds.write(out)
    return ExportSummary({n: d.count for n, d in sorted(datasets.items())}, replay.warnings)
