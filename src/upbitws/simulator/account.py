"""The simulated private account: balances, orders, fills (protocol §4.6 myOrder, §4.7 myAsset).

Orders come in through ``POST /_sim/orders`` / ``Simulator.place_order``. A marketable order
takes liquidity from the simulated book at once (each level it takes is a fill and a public
trade, so REST ``/v1/trades/ticks`` and the trade stream include it); the rest of a limit order
rests and fills as maker when the tape trades through its price (up to the tape trade's volume).
The simulated book is not depleted by fills: it is regenerated at every tape step.

Each change produces myOrder frames (``wait`` on acceptance, one ``trade`` per fill, then
``done`` or ``cancel``) and a myAsset frame with the currencies whose balance or lock moved.
Fees: 0.05 % on KRW markets, 0.25 % on BTC and USDT markets (Upbit's published rates).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from upbitws.models import (
    AskBid,
    AssetBalance,
    MyAsset,
    MyOrder,
    OrderState,
    OrderType,
    StreamType,
)
from upbitws.simulator.catalog import floor_to, stable_seed, tick_size
from upbitws.simulator.tape import TapeTrade, quantize

if TYPE_CHECKING:
    from upbitws.simulator.engine import Exchange

__all__ = ["DEFAULT_BALANCES", "Account", "Order", "OrderError"]

#: Starting balances when none are configured.
DEFAULT_BALANCES: Mapping[str, str] = {"KRW": "100000000", "BTC": "1", "USDT": "10000"}
_FEES = {"KRW": Decimal("0.0005")}
_OTHER_FEE = Decimal("0.0025")
_ZERO = Decimal(0)
_Q = Decimal("0.00000001")
_BOOK_LEVELS = 400
#: Order prices and volumes are refused outside [1e-8, 1e15]: far beyond any real order, and
#: inside what the 28-digit decimal context computes exactly (1e308 used to overflow a
#: quantize into a 500).
_MIN_NUMBER = Decimal("1e-8")
_MAX_NUMBER = Decimal("1e15")


class OrderError(Exception):
    """A refused order; ``name`` follows Upbit's REST error names."""

    def __init__(self, name: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.status = status


@dataclass(slots=True)
class Order:
    """One order of the simulated account."""

    uuid: str
    market: str
    side: str  # "bid" | "ask"
    ord_type: str  # "limit" | "price" | "market"
    price: Decimal | None
    volume: Decimal | None
    created: int
    identifier: str | None
    state: str = "wait"
    remaining: Decimal = _ZERO  # volume (limit/market) or funds (price) still to fill
    executed: Decimal = _ZERO
    executed_funds: Decimal = _ZERO
    paid_fee: Decimal = _ZERO
    locked: Decimal = _ZERO
    reserved_fee: Decimal = _ZERO
    trades_count: int = 0


def _decimal(value: object, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise OrderError("invalid_parameter", f"{name} must be a number")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:  # ValueError: int of over 4,300 digits
        raise OrderError("invalid_parameter", f"{name} must be a number") from exc
    if not number.is_finite() or number <= 0:
        raise OrderError("invalid_parameter", f"{name} must be > 0")
    if not _MIN_NUMBER <= number <= _MAX_NUMBER:
        raise OrderError("invalid_parameter", f"{name} must be between 1e-8 and 1e15")
    return number


class Account:
    """Balances and orders; publishes myOrder / myAsset frames through the exchange."""

    def __init__(
        self, exchange: Exchange, balances: Mapping[str, object] | None, seed: int
    ) -> None:
        self._ex = exchange
        self._rng = random.Random(stable_seed(seed, "account"))
        self.balances: dict[str, list[Decimal]] = {}  # currency -> [balance, locked]
        for currency, amount in (balances or DEFAULT_BALANCES).items():
            value = Decimal(str(amount))
            self.balances[currency.upper()] = [value, _ZERO]
        self.orders: dict[str, Order] = {}
        exchange.trade_hooks.append(self._on_trade)

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _wallet(self, currency: str) -> list[Decimal]:
        return self.balances.setdefault(currency, [_ZERO, _ZERO])

    # -- orders ------------------------------------------------------------------------
    def place(
        self,
        market: str,
        side: str,
        ord_type: str,
        price: object = None,
        volume: object = None,
        identifier: str | None = None,
    ) -> Order:
        """Accept an order and fill what is marketable now; ``OrderError`` if refused."""
        market = market.upper() if isinstance(market, str) else ""
        if market not in self._ex.markets:
            raise OrderError("market_does_not_exist", "Code not found", status=404)
        if side not in ("bid", "ask"):
            raise OrderError("invalid_side", "side must be 'bid' or 'ask'")
        p, v = _decimal(price, "price"), _decimal(volume, "volume")
        quote, _, base = market.partition("-")
        fee = _FEES.get(quote, _OTHER_FEE)
        if ord_type == "limit":
            if p is None or v is None:
                raise OrderError("invalid_parameter", "limit orders need price and volume")
            if p != floor_to(p, tick_size(market, p)):
                raise OrderError(f"invalid_price_{side}", "price is not on the tick grid")
        elif ord_type == "price":
            if side != "bid" or p is None or v is not None:
                raise OrderError("invalid_parameter", "'price' orders are bids with price only")
        elif ord_type == "market":
            if side != "ask" or v is None or p is not None:
                raise OrderError("invalid_parameter", "'market' orders are asks with volume only")
        else:
            raise OrderError("invalid_ord_type", "ord_type must be limit, price or market")
        order = Order(self._uuid(), market, side, ord_type, p, v, self._ex.now_ms(), identifier)
        if side == "bid":
            funds = p if ord_type == "price" else p * v  # type: ignore[operator]
            assert funds is not None
            if funds > _MAX_NUMBER:
                raise OrderError("invalid_parameter", "price × volume must be at most 1e15")
            order.reserved_fee = quantize(funds * fee)
            order.locked = funds + order.reserved_fee
            wallet = self._wallet(quote)
            order.remaining = funds if ord_type == "price" else v  # type: ignore[assignment]
        else:
            assert v is not None
            order.locked = v
            wallet = self._wallet(base)
            order.remaining = v
        if wallet[0] < order.locked:
            raise OrderError(f"insufficient_funds_{side}", "not enough balance for this order")
        wallet[0] -= order.locked
        wallet[1] += order.locked
        self.orders[order.uuid] = order
        self._emit(order, OrderState.WAIT)
        self._assets(quote if side == "bid" else base)
        self._take(order)
        return order

    def cancel(self, order_uuid: str) -> Order:
        """Cancel a waiting order, releasing what it locked."""
        order = self.orders.get(order_uuid)
        if order is None:
            raise OrderError("order_not_found", "order not found", status=404)
        if order.state != "wait":
            raise OrderError("invalid_order_state", f"order is already {order.state}")
        self._finish(order, OrderState.CANCEL)
        return order

    def _take(self, order: Order) -> None:
        """Fill against the book now, as taker (walking levels, §4.4 ladder)."""
        if order.ord_type != "limit" or self._marketable(order):
            sim = self._ex.markets[order.market]
            side = "ASK" if order.side == "bid" else "BID"
            for level_price, size in sim.levels(side, _BOOK_LEVELS):
                if order.remaining <= 0 or not self._reaches(order, level_price):
                    break
                qty = self._quantity(order, level_price, size)
                if qty <= 0:
                    break
                self._ex.inject(order.market, level_price, qty, order.side.upper())
                self._fill(order, level_price, qty, maker=False)
        if order.state == "wait" and (order.remaining <= 0 or order.ord_type != "limit"):
            self._finish(order, OrderState.DONE if order.executed else OrderState.CANCEL)

    def _marketable(self, order: Order) -> bool:
        sim = self._ex.markets[order.market]
        return self._reaches(order, sim.ask if order.side == "bid" else sim.bid)

    @staticmethod
    def _reaches(order: Order, price: Decimal) -> bool:
        if order.price is None or order.ord_type != "limit":
            return True
        return price <= order.price if order.side == "bid" else price >= order.price

    @staticmethod
    def _quantity(order: Order, price: Decimal, size: Decimal) -> Decimal:
        if order.ord_type == "price":  # remaining is funds
            return min(size, (order.remaining / price).quantize(_Q, rounding=ROUND_DOWN))
        return min(size, order.remaining)

    def _on_trade(self, code: str, trade: TapeTrade) -> None:
        """Resting limit orders fill as maker when the tape trades through their price."""
        available = trade.volume
        for order in list(self.orders.values()):
            if available <= 0:
                break
            if order.market != code or order.state != "wait" or order.ord_type != "limit":
                continue
            assert order.price is not None
            if order.side == "bid" and trade.price > order.price:
                continue
            if order.side == "ask" and trade.price < order.price:
                continue
            qty = min(order.remaining, available)
            available -= qty
            self._fill(order, order.price, qty, maker=True)
            if order.remaining <= 0:
                self._finish(order, OrderState.DONE)

    def _fill(self, order: Order, price: Decimal, qty: Decimal, *, maker: bool) -> None:
        quote, _, base = order.market.partition("-")
        fee_rate = _FEES.get(quote, _OTHER_FEE)
        funds = price * qty
        fee = quantize(funds * fee_rate)
        if order.side == "bid":
            release = funds + fee
            if order.ord_type == "limit":
                assert order.price is not None
                release = order.price * qty + quantize(order.price * qty * fee_rate)
                order.remaining -= qty
            else:
                order.remaining -= funds
            release = min(release, order.locked)
            q_wallet = self._wallet(quote)
            q_wallet[1] -= release
            q_wallet[0] += release - funds - fee
            order.locked -= release
            self._wallet(base)[0] += qty
        else:
            b_wallet = self._wallet(base)
            b_wallet[1] -= qty
            order.locked -= qty
            order.remaining -= qty
            self._wallet(quote)[0] += funds - fee
        order.executed += qty
        order.executed_funds += funds
        order.paid_fee += fee
        order.trades_count += 1
        now = self._ex.now_ms()
        self._emit(order, OrderState.TRADE, fill=(price, qty, fee, maker, now))
        self._assets(quote, base)

    def _finish(self, order: Order, state: OrderState) -> None:
        quote, _, base = order.market.partition("-")
        currency = quote if order.side == "bid" else base
        wallet = self._wallet(currency)
        wallet[1] -= order.locked
        wallet[0] += order.locked
        order.locked = _ZERO
        order.state = state.value
        self._emit(order, state)
        self._assets(currency)

    # -- frames --------------------------------------------------------------------------
    def _emit(self, order: Order, state: OrderState, fill: tuple[Any, ...] | None = None) -> None:
        now = self._ex.now_ms()
        executed = order.executed
        avg = quantize(order.executed_funds / executed) if executed else _ZERO
        trade_price, trade_volume, trade_fee, maker, trade_ts = fill or (None,) * 5
        volume = order.volume
        remaining = None if order.ord_type == "price" else order.remaining
        frame: MyOrder[Decimal] = MyOrder(
            code=order.market,
            uuid=order.uuid,
            ask_bid=AskBid.BID if order.side == "bid" else AskBid.ASK,
            order_type=OrderType(order.ord_type),
            state=state,
            trade_uuid=self._uuid() if fill else None,
            price=trade_price if fill else order.price,
            avg_price=avg,
            volume=trade_volume if fill else volume,
            remaining_volume=remaining,
            executed_volume=executed,
            trades_count=order.trades_count,
            reserved_fee=order.reserved_fee,
            remaining_fee=max(order.reserved_fee - order.paid_fee, _ZERO),
            paid_fee=order.paid_fee,
            locked=order.locked,
            executed_funds=quantize(order.executed_funds),
            time_in_force=None,
            trade_fee=trade_fee,
            is_maker=maker,
            identifier=order.identifier,
            smp_type=None,
            prevented_volume=_ZERO,
            prevented_locked=_ZERO,
            trade_timestamp=trade_ts,
            order_timestamp=order.created,
            timestamp=now,
            stream_type=StreamType.REALTIME,
        )
        self._ex.publish_private("myOrder", order.market, frame)

    def _assets(self, *currencies: str) -> None:
        now = self._ex.now_ms()
        assets = tuple(
            AssetBalance(currency=c, balance=self._wallet(c)[0], locked=self._wallet(c)[1])
            for c in dict.fromkeys(currencies)
        )
        frame: MyAsset[Decimal] = MyAsset(
            asset_uuid=self._uuid(),
            assets=assets,
            asset_timestamp=now,
            timestamp=now,
            stream_type=StreamType.REALTIME,
        )
        self._ex.publish_private("myAsset", None, frame)

    def snapshot(self) -> dict[str, Any]:
        """Balances and orders as JSON-ready builtins (for ``GET /_sim/account``)."""
        balances = {
            c: {"balance": str(b), "locked": str(lk)} for c, (b, lk) in self.balances.items()
        }
        orders = [
            {"uuid": o.uuid, "market": o.market, "side": o.side, "ord_type": o.ord_type,
             "state": o.state, "executed_volume": str(o.executed)}
            for o in self.orders.values()
        ]  # fmt: skip
        return {"balances": balances, "orders": orders}
