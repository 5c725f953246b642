"""One market's seeded trade tape and everything derived from it (protocol §4.2–§4.5, §11).

Each market owns a ``random.Random`` seeded from ``(seed, code)`` only, so its sequence of
trades (side, price, volume) and books is the same in every run with the same seed, whatever
other markets are served and whenever clients connect. Tickers, orderbooks and candles are
pure functions of that tape; only wall-clock fields (timestamps, dates, and therefore
``sequential_id``) differ between runs.

The book is a state ``(best bid, spread in ticks, book seed)``: each trade hits the best ask
(taker ``BID``) or the best bid (taker ``ASK``), then the book may move a tick. Level sizes are
drawn lazily from ``Random(book seed)`` so they cost nothing unless someone looks.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from upbitws.simulator.catalog import (
    MarketSpec,
    ceil_to,
    floor_to,
    stable_seed,
    tick_down,
    tick_size,
    tick_up,
)

__all__ = ["CANDLE_UNITS", "CandleState", "Level", "MarketSim", "TapeTrade", "quantize"]

Level = tuple[Decimal, Decimal]  # (price, size)

#: Candle unit -> seconds (protocol §4.5).
CANDLE_UNITS: dict[str, int] = {
    "1s": 1,
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "10m": 600,
    "15m": 900,
    "30m": 1800,
    "60m": 3600,
    "240m": 14400,
}
_ZERO = Decimal(0)
_VOLUME_Q = Decimal("0.00000001")
# Median notional of one trade / one book level, per quote currency.
_TRADE_NOTIONAL = {"KRW": 300_000.0, "BTC": 0.003, "USDT": 200.0}
_LEVEL_NOTIONAL = {"KRW": 3_000_000.0, "BTC": 0.03, "USDT": 2_000.0}
_MAX_LEVELS = 400  # native levels a side in a full (non-thin) book


def quantize(value: Decimal, places: Decimal = _VOLUME_Q) -> Decimal:
    """``value`` rounded to ``places``; zero is plain ``0`` (never ``0E-8`` on the wire)."""
    q = value.quantize(places)
    return q if q else _ZERO


@dataclass(slots=True)
class TapeTrade:
    """One trade on the tape: what trade frames, REST ticks and candles are built from."""

    index: int
    price: Decimal
    volume: Decimal
    side: str  # taker side: "BID" hit the ask, "ASK" hit the bid (§4.3)
    timestamp: int  # trade_timestamp, ms
    sequential_id: int
    prev_close: Decimal
    best_ask_price: Decimal
    best_ask_size: Decimal
    best_bid_price: Decimal
    best_bid_size: Decimal


@dataclass(slots=True)
class CandleState:
    """The current candle of one unit (§4.5): resent with the same start time as it updates."""

    start: int  # epoch seconds, candle start (UTC)
    opening: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    turnover: Decimal
    timestamp: int  # ms of the last trade in it


class MarketSim:
    """The deterministic tape of one market plus its derived ticker, book and candle state."""

    def __init__(self, spec: MarketSpec, seed: int, history_size: int) -> None:
        self.spec = spec
        self.code = spec.code
        self._rng = random.Random(stable_seed(seed, spec.code, "tape"))
        init = random.Random(stable_seed(seed, spec.code, "init"))
        self._start = spec.start_price
        self.bid = spec.start_price
        self.spread = 1
        self.book_seed = init.getrandbits(64)
        self.book_ts = 0
        full = _MAX_LEVELS
        self.depth = (init.randint(3, 14), init.randint(3, 14)) if spec.thin else (full, full)
        self._gap = 0.6 if spec.thin else 0.12  # chance of an empty tick between levels
        self.history: deque[TapeTrade] = deque(maxlen=history_size)
        self.last: TapeTrade | None = None
        self.count = 0
        # Ticker state (§4.2); the day's baseline volumes are seeded, trades add to them.
        self.prev_close = self._grid(spec.start_price * Decimal(1 + init.gauss(0, 0.02)))
        self.opening = self.prev_close
        self.high = max(self.opening, spec.start_price)
        self.low = min(self.opening, spec.start_price)
        daily = Decimal(_TRADE_NOTIONAL[self._quote()] * spec.rate * 43_200) / spec.start_price
        self.acc_volume = quantize(daily * Decimal(init.uniform(0.2, 0.6)))
        self.acc_price = quantize(self.acc_volume * spec.start_price)
        self.acc_ask = quantize(self.acc_volume * Decimal(init.uniform(0.4, 0.6)))
        self.acc_bid = self.acc_volume - self.acc_ask
        self.volume_24h = quantize(daily * Decimal(init.uniform(1.6, 2.4)))
        self.price_24h = quantize(self.volume_24h * spec.start_price)
        self.high_52w = self._grid(spec.start_price * Decimal(init.uniform(1.2, 1.9)))
        self.low_52w = self._grid(spec.start_price * Decimal(init.uniform(0.35, 0.8)))
        self._high_52w_ago = init.randint(10, 300)  # days before the first trade
        self._low_52w_ago = init.randint(10, 300)
        self.high_52w_date = ""
        self.low_52w_date = ""
        self.day = ""
        self.candles: dict[str, CandleState] = {}

    def _quote(self) -> str:
        return self.spec.quote if self.spec.quote in _TRADE_NOTIONAL else "KRW"

    def _grid(self, price: Decimal) -> Decimal:
        tick = tick_size(self.code, price)
        return max(floor_to(price, tick), tick)

    @property
    def ask(self) -> Decimal:
        """Best ask of the current book."""
        return tick_up(self.code, self.bid, self.spread)

    def next_interval(self, trade_rate: float) -> float:
        """Seconds to the next tape trade (exponential, mean ``1 / (rate * trade_rate)``)."""
        return self._rng.expovariate(self.spec.rate * trade_rate)

    def step(self, timestamp: int, sequential_id: int) -> TapeTrade:
        """Draw the next tape trade at ``timestamp`` and move the book."""
        rng = self._rng
        side = "BID" if rng.random() < 0.5 else "ASK"
        notional = _TRADE_NOTIONAL[self._quote()] * math.exp(rng.gauss(0.0, 1.1))
        asks, bids = self.levels("ASK", 1), self.levels("BID", 1)
        ask = asks[0] if asks else (self.ask, _ZERO)
        bid = bids[0] if bids else (self.bid, _ZERO)
        price = ask[0] if side == "BID" else bid[0]
        volume = max(quantize(Decimal(notional) / price), _VOLUME_Q)
        # Move the book: mean-reverting random walk on the tick grid.
        drift = math.log(float(self.bid / self._start))
        p_up = min(max(0.5 - drift * 4.0, 0.2), 0.8)
        if rng.random() < 0.35:
            if rng.random() < p_up:
                self.bid = tick_up(self.code, self.bid)
            else:
                self.bid = tick_down(self.code, self.bid)
        self.spread = 1 if self.spec.rate >= 1 else rng.randint(1, 3)
        self.book_seed = rng.getrandbits(64)
        trade = TapeTrade(
            self.count, price, volume, side, timestamp, sequential_id, self.prev_close,
            ask[0], ask[1], bid[0], bid[1],
        )  # fmt: skip
        self.record(trade)
        return trade

    def record(self, trade: TapeTrade) -> None:
        """Account ``trade`` (a tape trade or a simulated-account fill) in every derived state."""
        self.count += 1
        self.book_ts = trade.timestamp
        self._roll_day(trade)
        trade.prev_close = self.prev_close
        price, volume = trade.price, trade.volume
        turnover = price * volume
        self.high, self.low = max(self.high, price), min(self.low, price)
        self.acc_volume += volume
        self.acc_price += turnover
        self.volume_24h += volume
        self.price_24h += turnover
        if trade.side == "ASK":
            self.acc_ask += volume
        else:
            self.acc_bid += volume
        if price > self.high_52w:
            self.high_52w, self.high_52w_date = price, self.day_dash
        if price < self.low_52w:
            self.low_52w, self.low_52w_date = price, self.day_dash
        seconds = trade.timestamp // 1000
        for unit, length in CANDLE_UNITS.items():
            start = seconds - seconds % length
            candle = self.candles.get(unit)
            if candle is None or candle.start != start:
                self.candles[unit] = CandleState(
                    start, price, price, price, price, volume, turnover, trade.timestamp
                )
            else:
                candle.high, candle.low = max(candle.high, price), min(candle.low, price)
                candle.close = price
                candle.volume += volume
                candle.turnover += turnover
                candle.timestamp = trade.timestamp
        self.last = trade
        self.history.append(trade)

    @property
    def day_dash(self) -> str:
        """The current UTC trading day as ``yyyy-MM-dd``."""
        return f"{self.day[:4]}-{self.day[4:6]}-{self.day[6:]}"

    def _roll_day(self, trade: TapeTrade) -> None:
        day = datetime.fromtimestamp(trade.timestamp / 1000, UTC)
        key = day.strftime("%Y%m%d")
        if key == self.day:
            return
        if self.day:  # UTC midnight: yesterday's last price is the new previous close (§4.2)
            self.prev_close = self.last.price if self.last else self.prev_close
            self.opening = self.high = self.low = trade.price
            self.acc_volume = self.acc_price = self.acc_ask = self.acc_bid = _ZERO
        else:
            self.high_52w_date = (day - timedelta(days=self._high_52w_ago)).strftime("%Y-%m-%d")
            self.low_52w_date = (day - timedelta(days=self._low_52w_ago)).strftime("%Y-%m-%d")
        self.day = key

    def levels(self, side: str, count: int) -> list[Level]:
        """The best ``count`` native levels of one side (``"ASK"``/``"BID"``), best first;
        fewer on a thin book."""
        depth = self.depth[0] if side == "ASK" else self.depth[1]
        rng = random.Random(self.book_seed ^ (0x5A5A if side == "ASK" else 0xA5A5))
        notional = _LEVEL_NOTIONAL[self._quote()]
        price = self.ask if side == "ASK" else self.bid
        out: list[Level] = []
        for _ in range(min(count, depth)):
            size = quantize(Decimal(notional * math.exp(rng.gauss(0.0, 1.0))) / price)
            out.append((price, max(size, _VOLUME_Q)))
            steps = 1 + (rng.random() < self._gap) + (rng.random() < self._gap / 2)
            if side == "ASK":
                price = tick_up(self.code, price, steps)
            else:
                lower = tick_down(self.code, price, steps)
                if lower == price:
                    break
                price = lower
        return out

    def grouped(self, side: str, count: int, level: Decimal) -> list[Level]:
        """``count`` levels grouped to multiples of ``level`` (호가 모아보기, §3.4): asks round
        up and bids down; each bucket holds about ``level / tick`` native levels."""
        rng = random.Random(self.book_seed ^ stable_seed(side, level))
        if side == "ASK":
            first, step = ceil_to(self.ask, level), level
        else:
            first, step = floor_to(self.bid, level), -level
        ticks = float(level / tick_size(self.code, self.bid))
        filled = max(1.0, min(ticks * (1 - self._gap), 60.0))
        notional = _LEVEL_NOTIONAL[self._quote()] * filled
        out: list[Level] = []
        price = first
        for _ in range(count):
            if price <= 0:
                break
            size = quantize(Decimal(notional * math.exp(rng.gauss(0.0, 0.6))) / price)
            out.append((price, max(size, _VOLUME_Q)))
            price += step
        return out
