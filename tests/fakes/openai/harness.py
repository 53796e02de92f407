"""pytest fixtures for the fake OpenAI images API (a pytest plugin via tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from services.backends.openai.backend import OpenAIImagesBackend
from tests.fakes.openai.server import FakeOpenAI


@pytest_asyncio.fixture
async def openai_server() -> AsyncIterator[FakeOpenAI]:
    """One started fake OpenAI images API."""
    server = await FakeOpenAI().start()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture
async def openai_backend(openai_server: FakeOpenAI) -> AsyncIterator[OpenAIImagesBackend]:
    """easel's started OpenAI backend against ``openai_server`` (fast retries)."""
    backend = OpenAIImagesBackend(openai_server.api_key, base_url=openai_server.url, retry_base_delay_s=0.01)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()
