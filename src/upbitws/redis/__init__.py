"""Scale out on Redis Streams (needs ``pip install 'upbitws[redis]'``; docs/scale-out.md).

* :class:`Collector` (``upbitws collect``): one member of a sharded collector group.
* :func:`subscribe` (``upbitws tail``): typed messages back out of Redis, on consumer groups.
* :class:`RedisConnectBudget`: Upbit's connect limit shared by a group.

Absolute imports only: ``redis`` is also the name of the redis-py package.
"""

from __future__ import annotations

from upbitws.redis._client import RedisStoreError
from upbitws.redis.budget import RedisConnectBudget
from upbitws.redis.collector import Collector, CollectorStats
from upbitws.redis.keys import TYPES, GroupKeys
from upbitws.redis.reader import subscribe

__all__ = [
    "TYPES",
    "Collector",
    "CollectorStats",
    "GroupKeys",
    "RedisConnectBudget",
    "RedisStoreError",
    "subscribe",
]
