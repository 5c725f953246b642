"""Trades recovered from REST to fill a gap (trade backfill).

A :class:`RecoveredTrade` is a :class:`~upbitws.models.Trade` (``isinstance`` holds, ``type``
is ``"trade"``, it encodes as a trade frame), so code that handles trades needs no change;
code that cares asks ``isinstance(message, RecoveredTrade)``. A subclass rather than a
``recovered`` field: live trades stay exactly what Upbit sent (no extra field to decode, to
encode, or to carry in recordings), and the mark costs nothing on the hot path.

What REST (``GET /v1/trades/ticks``) does not carry is filled in, documented here:

* ``best_ask_price`` / ``best_ask_size`` / ``best_bid_price`` / ``best_bid_size``: ``None``
  (the book at the trade is unknown; the fields are optional for old frames already).
* ``stream_type``: ``REALTIME``: these trades happened after the subscription began; they
  are not a SNAPSHOT of the state at request time.
* ``timestamp``: the trade time (``trade_timestamp``); REST has no publication time.
* ``change``: derived from ``trade_price`` against ``prev_closing_price``, and
  ``change_price`` is their absolute difference, as in live frames (§4.3).
"""

from __future__ import annotations

from typing import Generic

from upbitws.models._base import N
from upbitws.models.market import Trade

__all__ = ["RecoveredTrade"]


class RecoveredTrade(Trade[N], Generic[N], frozen=True, kw_only=True):
    """A trade fetched from REST after a gap and delivered in order (see module docstring)."""
