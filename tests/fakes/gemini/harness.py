"""pytest fixtures for the fake Gemini API (a pytest plugin via tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from services.backends.gemini.backend import GeminiImagesBackend
from tests.fakes.gemini.server import FakeGemini


@pytest_asyncio.fixture
async def gemini_server() -> AsyncIterator[FakeGemini]:
    server = await FakeGemini().start()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture
async def gemini_backend(gemini_server: FakeGemini) -> AsyncIterator[GeminiImagesBackend]:
    """easel's started Gemini backend against ``gemini_server`` (fast retries)."""
    backend = GeminiImagesBackend(gemini_server.api_key, base_url=gemini_server.url, retry_base_delay_s=0.01)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()
