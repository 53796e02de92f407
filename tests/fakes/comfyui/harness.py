"""pytest fixtures for the fake ComfyUI host (a pytest plugin via tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from services.backends.comfyui import ComfyUIBackend, load_workflows
from tests.fakes.comfyui.server import FakeComfyUI


@pytest_asyncio.fixture
async def comfyui_server() -> AsyncIterator[FakeComfyUI]:
    server = await FakeComfyUI().start()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture
async def comfyui_backend(comfyui_server: FakeComfyUI) -> AsyncIterator[ComfyUIBackend]:
    """easel's started ComfyUI backend with the shipped workflows against ``comfyui_server``."""
    backend = ComfyUIBackend(comfyui_server.url, workflows=load_workflows(None), retry_base_delay_s=0.01)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()
