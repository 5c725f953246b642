"""``upbitws stream`` operations flags: ``--metrics-port``, ``--metrics-host``,
``--alert-webhook``, ``--alert NAME=VALUE`` (docs/operations.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import typer

from upbitws.client.stream import Stream
from upbitws.exceptions import UpbitWSError
from upbitws.protocol.alerts import AlertRules

__all__ = ["OpsSettings", "attach", "ops_settings"]


@dataclass(frozen=True, slots=True)
class OpsSettings:
    """What the flags asked for, validated."""

    rules: AlertRules
    metrics_port: int | None
    metrics_host: str
    webhook: str | None

    def attach(self, stream: Stream) -> AbstractAsyncContextManager[Any]:
        """The exporter (with alerts) or the alert monitor alone, for ``stream``."""
        from upbitws import metrics

        if self.metrics_port is not None:
            return metrics.serve(
                stream,
                host=self.metrics_host,
                port=self.metrics_port,
                rules=self.rules,
                webhook=self.webhook,
            )
        return metrics.monitor(stream, self.rules, webhook=self.webhook)


def ops_settings(
    metrics_port: int | None,
    metrics_host: str,
    webhook: str | None,
    alerts: Sequence[str] | None,
) -> OpsSettings | None:
    """Validate the flags (a mistake: one line on stderr, exit 2); None when none was given."""
    if metrics_port is None and webhook is None and not alerts:
        return None
    try:
        rules = AlertRules().with_settings(alerts or ())
        if webhook is not None:
            from upbitws.metrics.webhook import check_webhook_url

            check_webhook_url(webhook)
        if metrics_port is not None:
            from upbitws.metrics.exporter import _prometheus

            _prometheus()
    except UpbitWSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return OpsSettings(rules, metrics_port, metrics_host, webhook)


def attach(settings: OpsSettings | None, stream: Stream) -> AbstractAsyncContextManager[Any]:
    """``settings.attach(stream)``, or a context that does nothing."""
    if settings is None:
        return contextlib.nullcontext()
    return settings.attach(stream)
