"""Live market state of a stream: the latest ticker, orderbook and candle, the recent tape
(the delivered trades), readable at any time as ``stream.state``.

Where it is updated: **at the reader**, as each frame is decoded, not at the consumer.
The consumer may lag (its buffer conflates ticker / orderbook / candle to the latest per
code and may hold thousands of trades); state updated there would be as stale as the
consumer. At the reader it is always current, whatever the consumer does, and it costs one
dict lookup and one dict store per message. Trades are the exception: :meth:`trades` is the
*delivered tape* (live trades, and recovered trades in their place after a gap, without
duplicates), so it is updated where trades enter the consumer's order (after backfill).

Rules per type:

* ticker, orderbook: the latest frame per code wins; a frame older than the stored one
  (``timestamp``; stale frames after a replacement, protocol §11.6) is ignored. Every
  orderbook frame is a whole book (§4.4); :attr:`Orderbook.asks` / :attr:`Orderbook.bids`
  are its cleaned ladders (zero-padded slots dropped).
* candle: upsert by candle time (§4.5). Upbit resends the same ``candle_date_time_utc``
  as the candle grows: the latest frame for that time wins; a newer candle time replaces
  it; an older candle time (a stale snapshot) is ignored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Final

from upbitws.models import Candle, Orderbook, Ticker, Trade

__all__ = ["DEFAULT_TRADES_KEPT", "MarketState"]

#: Trades kept per code by :meth:`MarketState.trades`.
DEFAULT_TRADES_KEPT: Final = 100


class MarketState:
    """The latest ticker / orderbook per code, current candle per (unit, code), recent trades."""

    __slots__ = ("_candles", "_handlers", "_orderbooks", "_tickers", "_trades", "trades_kept")

    def __init__(self, trades_kept: int = DEFAULT_TRADES_KEPT) -> None:
        self.trades_kept = trades_kept
        self._tickers: dict[str, Ticker[Any]] = {}
        self._orderbooks: dict[str, Orderbook[Any]] = {}
        self._candles: dict[tuple[str, str], Candle[Any]] = {}
        self._trades: dict[str, deque[Trade[Any]]] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {}

    # -- updates (the reader's hot path) ----------------------------------------------------

    def update(self, message: Any) -> None:
        """Apply one decoded message; types without state (trades, private) are ignored."""
        handler = self._handlers.get(type(message))
        if handler is None:
            handler = self._handlers[type(message)] = self._handler_for(type(message))
        handler(message)

    def _handler_for(self, cls: type) -> Callable[[Any], None]:
        if issubclass(cls, Ticker):
            return self._ticker
        if issubclass(cls, Orderbook):
            return self._orderbook
        if issubclass(cls, Candle):
            return self._candle
        return _ignore

    def _ticker(self, message: Ticker[Any]) -> None:
        old = self._tickers.get(message.code)
        if old is None or message.timestamp >= old.timestamp:
            self._tickers[message.code] = message

    def _orderbook(self, message: Orderbook[Any]) -> None:
        old = self._orderbooks.get(message.code)
        if old is None or message.timestamp >= old.timestamp:
            self._orderbooks[message.code] = message

    def _candle(self, message: Candle[Any]) -> None:
        key = (message.type, message.code)
        old = self._candles.get(key)
        # "yyyy-MM-ddTHH:mm:ss" compares in time order as text.
        if old is None or message.candle_date_time_utc >= old.candle_date_time_utc:
            self._candles[key] = message

    def add_trade(self, trade: Trade[Any]) -> None:
        """Append a trade to the delivered tape of its code (the last ``trades_kept``)."""
        tape = self._trades.get(trade.code)
        if tape is None:
            tape = self._trades[trade.code] = deque(maxlen=self.trades_kept)
        tape.append(trade)

    # -- reads ------------------------------------------------------------------------------

    def ticker(self, code: str) -> Ticker[Any] | None:
        """The latest ticker of ``code``, or ``None`` before the first."""
        return self._tickers.get(code)

    def orderbook(self, code: str) -> Orderbook[Any] | None:
        """The latest whole book of ``code`` (``.asks`` / ``.bids``: cleaned ladders)."""
        return self._orderbooks.get(code)

    def candle(self, unit: str, code: str) -> Candle[Any] | None:
        """The current candle of ``unit`` (``"1m"`` or ``"candle.1m"``) for ``code``."""
        type_ = unit if unit.startswith("candle.") else f"candle.{unit}"
        return self._candles.get((type_, code))

    def trades(self, code: str) -> list[Trade[Any]]:
        """The last trades delivered for ``code``, oldest first (at most ``trades_kept``)."""
        tape = self._trades.get(code)
        return list(tape) if tape is not None else []

    def codes(self) -> list[str]:
        """Every code with some state, sorted."""
        keys = set(self._tickers) | set(self._orderbooks) | set(self._trades)
        keys.update(code for _, code in self._candles)
        return sorted(keys)


def _ignore(message: Any) -> None:
    return None
