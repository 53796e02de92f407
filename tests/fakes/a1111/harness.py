"""pytest fixtures for the fake AUTOMATIC1111 host (a pytest plugin via tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from services.backends.a1111 import A1111Backend
from tests.fakes.a1111.server import FakeA1111


# ---- fixtures ------------------------------------------------------------------------------------
@pytest_asyncio.fixture
async def a1111_server() -> AsyncIterator[FakeA1111]:
    """One started fake GPU host (generation takes 0.05 s)."""
    server = await FakeA1111().start()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture
async def a1111_factory() -> AsyncIterator[Callable[..., Awaitable[FakeA1111]]]:
    """``await a1111_factory(generation_s=0.5, auth=("u", "p"))`` → another started fake host."""
    servers: list[FakeA1111] = []

    async def make(**kwargs: Any) -> FakeA1111:
        server = await FakeA1111(**kwargs).start()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            await server.close()


@pytest_asyncio.fixture
async def gpu_backend(a1111_server: FakeA1111) -> AsyncIterator[A1111Backend]:
    """easel's started GPU host backend against ``a1111_server`` (no re-probing between jobs)."""
    backend = A1111Backend([a1111_server.url], reprobe_interval_s=0)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()
