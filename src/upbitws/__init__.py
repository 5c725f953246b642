"""upbitws: Upbit's real-time WebSocket API, typed, exact, and never silently stalled."""

from __future__ import annotations

from upbitws.exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    FatalError,
    MessageDecodeError,
    RequestRejectedError,
    RetriesExhaustedError,
    SubscriptionError,
    UpbitWSError,
)

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionFailedError",
    "FatalError",
    "MessageDecodeError",
    "RequestRejectedError",
    "RetriesExhaustedError",
    "SubscriptionError",
    "UpbitWSError",
    "__version__",
]
