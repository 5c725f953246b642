"""upbitws: Upbit's real-time WebSocket API, typed, exact, and never silently stalled.

::

    import upbitws

    async with upbitws.connect([upbitws.ticker("KRW-BTC"), upbitws.trade("KRW-BTC")]) as s:
        async for message in s:
            print(message.code, message.trade_price)
"""

from __future__ import annotations

from upbitws.client.events import (
    AlertRaised,
    AlertResolved,
    Connected,
    Disconnected,
    ErrorOccurred,
    GapDetected,
    GapFilled,
    GapUnrecoverable,
    LifecycleEvent,
    Reconnected,
    Reconnecting,
)
from upbitws.client.markets import MarketInfo, markets
from upbitws.client.options import StreamOptions
from upbitws.client.state import MarketState
from upbitws.client.stats import KST, StatsSnapshot
from upbitws.client.stream import Stream, connect
from upbitws.credentials import Credentials
from upbitws.exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    ConnectionLostError,
    CredentialsError,
    DataStalledError,
    EndpointError,
    FatalError,
    HandshakeError,
    HandshakeTimeoutError,
    HostUnreachableError,
    InvalidURLError,
    LivenessError,
    MessageDecodeError,
    MissingExtraError,
    PongTimeoutError,
    RateLimitedError,
    RequestRejectedError,
    RetriesExhaustedError,
    StreamClosedError,
    SubscriptionError,
    TLSCertificateError,
    UnreachableError,
    UpbitWSError,
)
from upbitws.models import (
    Announcement,
    AssetBalance,
    Candle,
    ErrorFrame,
    FloatMessage,
    Message,
    MyAsset,
    MyOrder,
    Orderbook,
    OrderbookUnit,
    RecoveredTrade,
    StatusFrame,
    SubscriptionList,
    Ticker,
    Trade,
)
from upbitws.protocol.backfill import TradeMark
from upbitws.protocol.backoff import BackoffPolicy
from upbitws.protocol.codec import Decoder, decode, encode, encode_list, to_dict
from upbitws.protocol.subscriptions import (
    Format,
    Subscription,
    SubscriptionSet,
    announcement,
    candle,
    my_asset,
    my_order,
    orderbook,
    ticker,
    trade,
)
from upbitws.recording import Recorder, replay

__version__ = "0.1.0"

__all__ = [
    "KST",
    "AlertRaised",
    "AlertResolved",
    "Announcement",
    "AssetBalance",
    "AuthenticationError",
    "BackoffPolicy",
    "Candle",
    "ConfigurationError",
    "Connected",
    "ConnectionFailedError",
    "ConnectionLostError",
    "Credentials",
    "CredentialsError",
    "DataStalledError",
    "Decoder",
    "Disconnected",
    "EndpointError",
    "ErrorFrame",
    "ErrorOccurred",
    "FatalError",
    "FloatMessage",
    "Format",
    "GapDetected",
    "GapFilled",
    "GapUnrecoverable",
    "HandshakeError",
    "HandshakeTimeoutError",
    "HostUnreachableError",
    "InvalidURLError",
    "LifecycleEvent",
    "LivenessError",
    "MarketInfo",
    "MarketState",
    "Message",
    "MessageDecodeError",
    "MissingExtraError",
    "MyAsset",
    "MyOrder",
    "Orderbook",
    "OrderbookUnit",
    "PongTimeoutError",
    "RateLimitedError",
    "Reconnected",
    "Reconnecting",
    "Recorder",
    "RecoveredTrade",
    "RequestRejectedError",
    "RetriesExhaustedError",
    "StatsSnapshot",
    "StatusFrame",
    "Stream",
    "StreamClosedError",
    "StreamOptions",
    "Subscription",
    "SubscriptionError",
    "SubscriptionList",
    "SubscriptionSet",
    "TLSCertificateError",
    "Ticker",
    "Trade",
    "TradeMark",
    "UnreachableError",
    "UpbitWSError",
    "__version__",
    "announcement",
    "candle",
    "connect",
    "decode",
    "encode",
    "encode_list",
    "markets",
    "my_asset",
    "my_order",
    "orderbook",
    "replay",
    "ticker",
    "to_dict",
    "trade",
]
