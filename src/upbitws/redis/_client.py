"""The one boundary to redis-py: import it (or explain the missing extra), open a client,
translate its errors into :class:`RedisStoreError`."""

from __future__ import annotations

import asyncio
from typing import Any

from upbitws.exceptions import ConfigurationError, MissingExtraError, UpbitWSError

__all__ = ["RedisStoreError", "check_url", "honour_cancel", "open_client", "redis_errors"]


class RedisStoreError(UpbitWSError):
    """Redis could not be reached or refused a command (the collector or reader stops)."""


def _module() -> Any:
    try:
        import redis.asyncio as aioredis  # the redis-py package, not upbitws.redis
    except ImportError as exc:
        if exc.name not in ("redis", "redis.asyncio"):
            raise
        raise MissingExtraError("Redis Streams (upbitws.redis)", "redis") from None
    return aioredis


def redis_errors() -> tuple[type[BaseException], ...]:
    """The exception classes of redis-py to translate at our boundary."""
    import redis.exceptions  # imported after _module() proved redis-py is there

    return (redis.exceptions.RedisError, OSError)


def honour_cancel() -> None:
    """Raise ``CancelledError`` if the current task was cancelled during a redis-py call that
    returned anyway: redis-py can swallow a cancel that arrives mid-command (seen under load
    with ``XREADGROUP BLOCK``), and the task would then never end. Call after each command."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def check_url(url: str) -> str:
    """Fail fast, naming the input, on a URL that is not ``redis://HOST:PORT/DB``."""
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError(
            f"bad Redis URL {url!r}: use redis://HOST:PORT/DB (or rediss:// for TLS)"
        )
    return url


def open_client(url: str) -> Any:
    """A ``redis.asyncio.Redis`` for ``url`` (bytes replies); close it with ``aclose()``."""
    aioredis = _module()
    try:
        return aioredis.Redis.from_url(check_url(url), decode_responses=False)
    except ValueError as exc:
        raise ConfigurationError(f"bad Redis URL {url!r}: {exc}") from None
