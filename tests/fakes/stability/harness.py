"""pytest fixtures and backend builders for the fake Stability server (a pytest plugin via tests/conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from services.backends.stability import StabilityV1Backend, StabilityV2Backend
from tests.fakes.stability.server import FakeStabilityServer

# --- fixtures ----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def stability_backend_for(
    server: FakeStabilityServer, **overrides: Any
) -> AsyncIterator[StabilityV1Backend]:
    """A started backend pointed at ``server``; keyword arguments go to its constructor."""
    api_key = overrides.pop("api_key", server.api_key)
    options: dict[str, Any] = {"host": server.url, "retry_base_delay_s": 0.01, "timeout_s": 10.0}
    options.update(overrides)
    backend = StabilityV1Backend(api_key, **options)
    try:
        await backend.start()
        yield backend
    finally:
        await backend.close()


@contextlib.asynccontextmanager
async def stability_v2_backend_for(
    server: FakeStabilityServer, **overrides: Any
) -> AsyncIterator[StabilityV2Backend]:
    """A started v2beta backend pointed at ``server`` (fast retries and polls); keywords go to it."""
    api_key = overrides.pop("api_key", server.api_key)
    options: dict[str, Any] = {
        "host": server.url,
        "retry_base_delay_s": 0.01,
        "timeout_s": 10.0,
        "poll_interval_s": 0.01,
    }
    options.update(overrides)
    backend = StabilityV2Backend(api_key, **options)
    try:
        await backend.start()
        yield backend
    finally:
        await backend.close()


@pytest_asyncio.fixture
async def stability_server() -> AsyncIterator[FakeStabilityServer]:
    async with FakeStabilityServer() as server:
        yield server


@pytest_asyncio.fixture
async def stability_backend(stability_server: FakeStabilityServer) -> AsyncIterator[StabilityV1Backend]:
    async with stability_backend_for(stability_server) as backend:
        yield backend


@pytest_asyncio.fixture
async def stability_v2_backend(stability_server: FakeStabilityServer) -> AsyncIterator[StabilityV2Backend]:
    async with stability_v2_backend_for(stability_server) as backend:
        yield backend
