"""Fixtures and settings shared by every test folder.

Folder-specific fixtures live beside their tests (``client/conftest.py``,
``simulator/conftest.py``); both build simulators with ``simfactory.simulators``, which closes
every simulator it started. This file holds what all folders share.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from hypothesis import HealthCheck, settings

# Property tests check behaviour, never speed: a per-example deadline would turn a loaded
# 2-core machine into flaky failures (speed claims belong to bench/).
settings.register_profile("upbitws", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("upbitws")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session
