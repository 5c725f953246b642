"""The simulator's market catalog and Upbit's price grid (protocol §3.3, §3.4, §10).

Codes are ``{QUOTE}-{BASE}`` like the real catalog (KRW, BTC and USDT quotes). Every market has
a start price, a base trade rate (trades per second at ``trade_rate=1``) and a book shape:
KRW-BTC, KRW-ETH and KRW-XRP are busy (tens of trades a second), most others are quiet (a trade
every few seconds or less), and thin BTC/USDT-quoted books have fewer than 30 levels a side so
the zero padding of §4.4 shows up.

Tick sizes follow Upbit's published tables (docs.upbit.com "원화 마켓 주문 가격 단위", the
2025-07-31 KRW table; the USDT table of 2024-08-19; BTC market: a flat 0.00000001). Below
100 KRW the pre-2025 bands are used (0.01 under 100, 0.001 under 10, ...).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

__all__ = [
    "DEFAULT_MARKET_COUNT",
    "MarketSpec",
    "build_catalog",
    "ceil_to",
    "floor_to",
    "stable_seed",
    "supported_levels",
    "tick_down",
    "tick_size",
    "tick_up",
]

#: Markets served when neither ``markets`` nor ``market_count`` is given.
DEFAULT_MARKET_COUNT = 12

_D = Decimal

# (price floor, tick) bands, highest first. KRW: docs.upbit.com krw-market-info (2025-07-31).
_KRW_BANDS: tuple[tuple[Decimal, Decimal], ...] = (
    (_D(1_000_000), _D(1000)),
    (_D(500_000), _D(500)),
    (_D(100_000), _D(100)),
    (_D(50_000), _D(50)),
    (_D(10_000), _D(10)),
    (_D(5_000), _D(5)),
    (_D(100), _D(1)),
    (_D(10), _D("0.01")),
    (_D(1), _D("0.001")),
    (_D("0.1"), _D("0.0001")),
    (_D("0.01"), _D("0.00001")),
    (_D("0.001"), _D("0.000001")),
    (_D("0.0001"), _D("0.0000001")),
    (_D(0), _D("0.00000001")),
)
# USDT market: changelog usdt_tick_unit_change (2024-08-19).
_USDT_BANDS: tuple[tuple[Decimal, Decimal], ...] = (
    (_D(10), _D("0.01")),
    (_D(1), _D("0.001")),
    (_D("0.1"), _D("0.0001")),
    (_D("0.01"), _D("0.00001")),
    (_D("0.001"), _D("0.000001")),
    (_D("0.0001"), _D("0.0000001")),
    (_D(0), _D("0.00000001")),
)
_BTC_TICK = _D("0.00000001")
# USDT/KRW and USDC/KRW use 0.5 KRW between 1,000 and 10,000 (changelog 2025-03-21).
_HALF_TICK_BASES = frozenset({"USDT", "USDC"})
# The level universe of GET /v1/orderbook/instruments (protocol §3.4).
_LEVEL_UNIVERSE = tuple(_D(10) ** e for e in range(8, -8, -1))


def tick_size(code: str, price: Decimal, *, below: bool = False) -> Decimal:
    """The tick of ``code`` at ``price``; ``below=True`` gives the tick just under ``price``
    (the step down from a band boundary uses the lower band's tick)."""
    quote, _, base = code.partition("-")
    if quote == "BTC":
        return _BTC_TICK
    bands = _USDT_BANDS if quote == "USDT" else _KRW_BANDS
    if quote == "KRW" and base in _HALF_TICK_BASES and _D(1000) <= price < _D(10_000):
        return _D("0.5")
    for floor, tick in bands:
        if price > floor or (not below and price == floor):
            return tick
    return bands[-1][1]


def tick_up(code: str, price: Decimal, steps: int = 1) -> Decimal:
    """``price`` moved up ``steps`` ticks along the grid (crossing bands correctly)."""
    for _ in range(steps):
        price += tick_size(code, price)
    return price


def tick_down(code: str, price: Decimal, steps: int = 1) -> Decimal:
    """``price`` moved down ``steps`` ticks; never below one tick."""
    for _ in range(steps):
        lower = price - tick_size(code, price, below=True)
        if lower <= 0:
            break
        price = lower
    return price


def floor_to(price: Decimal, unit: Decimal) -> Decimal:
    """``price`` rounded down to a multiple of ``unit`` (a tick or an orderbook ``level``)."""
    return (price / unit).to_integral_value(rounding=ROUND_FLOOR) * unit


def ceil_to(price: Decimal, unit: Decimal) -> Decimal:
    """``price`` rounded up to a multiple of ``unit``."""
    return (price / unit).to_integral_value(rounding=ROUND_CEILING) * unit


def supported_levels(code: str, price: Decimal) -> tuple[Decimal, ...]:
    """``supported_levels`` of ``code`` (§3.4): ``0`` plus powers of ten above the tick on KRW
    markets; only ``0`` on BTC/USDT markets ("호가 모아보기 기능은 원화마켓(KRW)에서만 지원")."""
    if not code.startswith("KRW-"):
        return (_D(0),)
    tick = tick_size(code, price)
    ceiling = price / 10
    levels = sorted(x for x in _LEVEL_UNIVERSE if tick < x <= ceiling)
    return (_D(0), *levels)


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from ``parts`` that is the same in every process (``hash`` is salted)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One simulated market: identity, start price, base trade rate and book shape."""

    code: str
    korean_name: str
    english_name: str
    start_price: Decimal
    rate: float  # trades per second at trade_rate=1
    thin: bool  # fewer than 30 levels a side: the zero padding of §4.4
    warning: bool = False  # market_event.warning of /v1/market/all?is_details=true

    @property
    def quote(self) -> str:
        return self.code.partition("-")[0]

    @property
    def base(self) -> str:
        return self.code.partition("-")[2]


# base, Korean name, English name, KRW price, KRW-market trades/s.
_ASSETS: tuple[tuple[str, str, str, int | str, float], ...] = (
    ("BTC", "비트코인", "Bitcoin", 140_000_000, 30.0),
    ("ETH", "이더리움", "Ethereum", 5_000_000, 20.0),
    ("XRP", "리플", "XRP", 3_200, 25.0),
    ("SOL", "솔라나", "Solana", 260_000, 6.0),
    ("DOGE", "도지코인", "Dogecoin", 330, 4.0),
    ("USDT", "테더", "Tether", 1_390, 3.0),
    ("ADA", "에이다", "Cardano", 1_000, 0.3),
    ("TRX", "트론", "TRON", 420, 0.3),
    ("LINK", "체인링크", "Chainlink", 30_000, 0.3),
    ("AVAX", "아발란체", "Avalanche", 35_000, 0.25),
    ("DOT", "폴카닷", "Polkadot", 6_000, 0.2),
    ("BCH", "비트코인캐시", "Bitcoin Cash", 700_000, 0.2),
    ("ETC", "이더리움클래식", "Ethereum Classic", 28_000, 0.2),
    ("SUI", "수이", "Sui", 5_000, 0.3),
    ("SHIB", "시바이누", "Shiba Inu", "0.02", 0.2),
    ("PEPE", "페페", "Pepe", "0.015", 0.2),
    ("HBAR", "헤데라", "Hedera", 300, 0.15),
    ("XLM", "스텔라루멘", "Stellar Lumens", 500, 0.15),
    ("NEAR", "니어프로토콜", "NEAR Protocol", 4_000, 0.1),
    ("APT", "앱토스", "Aptos", 8_000, 0.1),
    ("ARB", "아비트럼", "Arbitrum", 600, 0.1),
    ("SAND", "샌드박스", "The Sandbox", 400, 0.1),
    ("MANA", "디센트럴랜드", "Decentraland", 450, 0.1),
    ("EOS", "이오스", "EOS", 1_000, 0.1),
    ("AAVE", "에이브", "Aave", 400_000, 0.1),
    ("UNI", "유니스왑", "Uniswap", 12_000, 0.1),
    ("ATOM", "코스모스", "Cosmos", 7_000, 0.1),
    ("ALGO", "알고랜드", "Algorand", 350, 0.1),
    ("POL", "폴리곤 에코시스템 토큰", "POL (ex-MATIC)", 300, 0.1),
    ("STX", "스택스", "Stacks", 1_800, 0.08),
    ("IMX", "이뮤터블엑스", "Immutable X", 1_500, 0.08),
    ("SEI", "세이", "Sei", 400, 0.08),
    ("ONDO", "온도파이낸스", "Ondo Finance", 1_300, 0.08),
    ("ENA", "에테나", "Ethena", 800, 0.08),
    ("WLD", "월드코인", "Worldcoin", 2_000, 0.08),
)
_BTC_KRW = _D(140_000_000)
_USDT_KRW = _D(1_390)

# Catalog order, so that market_count=N takes a realistic mix (busy first, all three quotes).
_LEADERS = (
    "KRW-BTC",
    "KRW-ETH",
    "KRW-XRP",
    "KRW-SOL",
    "KRW-DOGE",
    "KRW-USDT",
    "BTC-ETH",
    "USDT-BTC",
    "KRW-ADA",
    "BTC-XRP",
    "USDT-ETH",
    "KRW-TRX",
)


def _snap(code: str, price: Decimal) -> Decimal:
    """``price`` cut to 4 significant digits and placed on the grid of ``code``."""
    rounded = floor_to(price, _D(10) ** (price.adjusted() - 3))
    tick = tick_size(code, rounded)
    return max(floor_to(rounded, tick), tick)


def _all_specs() -> dict[str, MarketSpec]:
    specs: dict[str, MarketSpec] = {}
    for base, ko, en, krw, rate in _ASSETS:
        krw_price = _D(krw)
        if base != "USDT":
            code = f"KRW-{base}"
            specs[code] = MarketSpec(code, ko, en, _snap(code, krw_price), rate, thin=False)
        # BTC-quoted only where the grid leaves room (no BTC-SHIB at 1 satoshi, no BTC-USDT).
        if base not in ("BTC", "USDT") and krw_price / _BTC_KRW >= _D("0.000001"):
            code = f"BTC-{base}"
            price = _snap(code, krw_price / _BTC_KRW)
            specs[code] = MarketSpec(code, ko, en, price, max(rate / 40, 0.05), thin=rate < 1)
        if base != "USDT":
            code = f"USDT-{base}"
            busy = base in ("BTC", "ETH")
            thin = not busy and rate < 1
            price = _snap(code, krw_price / _USDT_KRW)
            specs[code] = MarketSpec(code, ko, en, price, max(rate / 15, 0.05), thin=thin)
    specs["KRW-USDT"] = MarketSpec("KRW-USDT", "테더", "Tether", _D(1390), 3.0, thin=False)
    return specs


_SPECS = _all_specs()
_ORDER = (*_LEADERS, *(c for c in _SPECS if c not in _LEADERS))


def _synthetic(code: str) -> MarketSpec:
    """A quiet market for a code outside the catalog (price derived from the code)."""
    quote = code.partition("-")[0]
    seed = stable_seed("synthetic", code)
    anchor = {"KRW": _D(1000), "BTC": _D("0.00001"), "USDT": _D(1)}.get(quote, _D(1000))
    price = _snap(code, anchor * _D(1 + seed % 900) / 100)
    base = code.partition("-")[2]
    return MarketSpec(code, base, base, price, 0.1, thin=quote != "KRW")


def build_catalog(markets: list[str] | None, market_count: int | None) -> list[MarketSpec]:
    """The served markets: ``markets`` (codes, upper-cased; unknown ones are synthesised as
    quiet markets), else the first ``market_count`` of the catalog (default 12); counts beyond
    the catalog add synthetic ``KRW-SIMnnnn`` markets."""
    if markets is not None:
        codes = list(dict.fromkeys(code.strip().upper() for code in markets if code.strip()))
        if not codes:
            raise ValueError("markets must name at least one market code")
        for code in codes:
            quote, dash, base = code.partition("-")
            if not dash or not quote or not base:
                raise ValueError(f"market code {code!r} is not QUOTE-BASE (e.g. KRW-BTC)")
        return [_SPECS.get(code) or _synthetic(code) for code in codes]
    count = DEFAULT_MARKET_COUNT if market_count is None else market_count
    if count < 1:
        raise ValueError(f"market_count must be >= 1, got {count}")
    chosen = [_SPECS[code] for code in _ORDER[:count]]
    chosen += [_synthetic(f"KRW-SIM{i:04d}") for i in range(count - len(chosen))]
    return chosen
