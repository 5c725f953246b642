"""Alert delivery: POST one JSON document per raise and per resolve to a webhook.

The body carries a ``text`` line (what Slack-compatible incoming webhooks display) and the
structured fields (``status``, ``alert``, ``severity``, ``summary``, ``since``, ``value``,
``at``). Delivery never touches the stream: :meth:`WebhookSink.offer` only appends to a
bounded queue (the oldest waiting alert is dropped, and logged, when it is full), and a task
of the monitor posts from it with retries and capped exponential backoff. A dead, slow or
failing webhook costs log lines, never a message. The URL's secret parts — user info, path
(Slack's token lives there), query — never reach a log line (:func:`redact_url`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import deque
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from upbitws.client.events import AlertRaised, AlertResolved
from upbitws.exceptions import ConfigurationError

__all__ = ["WebhookSink", "alert_payload", "redact_url"]

log = logging.getLogger("upbitws.alerts")

#: Statuses worth another try: the receiver is overloaded or briefly broken.
_RETRY_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504})


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…``: the URL without user info, path or query (they carry the
    webhook's secret token)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    rest = "/…" if (parts.path not in ("", "/") or parts.query or parts.fragment) else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def check_webhook_url(url: str) -> str:
    """Validate a webhook URL (``http`` / ``https`` with a host); raise one line if bad."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"alert webhook {redact_url(url)!r}: use an http:// or https:// URL with a host"
        )
    return url


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


def alert_payload(event: AlertRaised | AlertResolved, source: str = "upbitws") -> dict[str, Any]:
    """The JSON body for one alert transition."""
    raised = isinstance(event, AlertRaised)
    status = "firing" if raised else "resolved"
    mark = "FIRING" if raised else "RESOLVED"
    value = event.value if event.value is None or math.isfinite(event.value) else None
    body: dict[str, Any] = {
        "text": f"[{mark}] {source} {event.name} ({event.severity}): {event.summary}",
        "status": status,
        "alert": event.name,
        "severity": event.severity,
        "summary": event.summary,
        "since": _iso(event.since),
        "value": value,
        "source": source,
    }
    if isinstance(event, AlertResolved):
        body["at"] = _iso(event.at)
    return body


class WebhookSink:
    """Posts alert transitions to ``url``; run :meth:`run` in a task, feed :meth:`offer`."""

    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 100,
        timeout: float = 5.0,
        attempts: int = 5,
        initial_delay: float = 0.5,
        max_delay: float = 30.0,
        source: str = "upbitws",
    ) -> None:
        self.url = check_webhook_url(url)
        self.shown = redact_url(url)
        if queue_size < 1 or attempts < 1 or timeout <= 0 or initial_delay <= 0:
            raise ConfigurationError(
                "webhook queue_size and attempts must be >= 1, timeout and delay > 0"
            )
        self._queue: deque[AlertRaised | AlertResolved] = deque()
        self._queue_size = queue_size
        self._timeout = timeout
        self._attempts = attempts
        self._initial = initial_delay
        self._max_delay = max_delay
        self._source = source
        self._wake = asyncio.Event()
        self.delivered = 0
        self.failed = 0
        self.dropped = 0

    def __repr__(self) -> str:
        return f"<WebhookSink {self.shown} queued={len(self._queue)}>"

    @property
    def pending(self) -> int:
        return len(self._queue)

    def offer(self, event: AlertRaised | AlertResolved) -> None:
        """Queue one transition; never blocks. When full, the oldest waiting one is dropped."""
        if len(self._queue) >= self._queue_size:
            old = self._queue.popleft()
            self.dropped += 1
            log.warning(
                "alert webhook %s: queue full (%d); dropped the %s of %s",
                self.shown,
                self._queue_size,
                "raise" if isinstance(old, AlertRaised) else "resolve",
                old.name,
            )
        self._queue.append(event)
        self._wake.set()

    async def run(self) -> None:
        """Deliver queued transitions in order, until cancelled."""
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                while not self._queue:
                    self._wake.clear()
                    await self._wake.wait()
                event = self._queue[0]
                await self._deliver(session, event)
                if self._queue and self._queue[0] is event:
                    self._queue.popleft()

    async def _deliver(
        self, session: aiohttp.ClientSession, event: AlertRaised | AlertResolved
    ) -> None:
        body = alert_payload(event, self._source)
        for attempt in range(1, self._attempts + 1):
            try:
                async with session.post(self.url, json=body) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason = type(exc).__name__  # never str(exc): aiohttp puts the URL in it
            else:
                if status < 300:
                    self.delivered += 1
                    return
                reason = f"HTTP {status}"
                if status not in _RETRY_STATUSES:
                    break
            if attempt < self._attempts:
                delay = min(self._max_delay, self._initial * 2 ** (attempt - 1))
                log.info(
                    "alert webhook %s: %s on attempt %d; retrying in %.1fs",
                    self.shown,
                    reason,
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
        self.failed += 1
        log.warning(
            "alert webhook %s: gave up on the %s of %s: %s",
            self.shown,
            "raise" if body["status"] == "firing" else "resolve",
            event.name,
            reason,
        )
