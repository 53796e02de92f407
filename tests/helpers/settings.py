"""Fixtures that build easel's real services against the local fakes.

``easel_settings`` points a real :class:`bot.settings.Settings` at the fake
Stability server with a per-test data dir; ``make_settings(**overrides)`` builds
variants (e.g. a Discord token and the fake Discord's URL). Settings are built
from keyword arguments with ``_env_file=None`` so a developer's ``.env`` or
environment never leaks into a test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings

# Every public variable easel reads; cleared for each test so the developer's shell can't leak in.
_EASEL_ENV = [
    "DISCORD_TOKEN", "DISCORD_API_BASE", "DISCORD_GATEWAY_URL", "DISCORD_GUILD_IDS",
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "EASEL_SLACK_PORT",
    "EASEL_BACKEND", "STABILITY_API_KEY", "STABILITY_API_HOST", "STABILITY_ORGANIZATION", "STABILITY_ENGINE",
    "EASEL_GPU_HOST_URL", "EASEL_GPU_HOST_AUTH", "EASEL_GPU_HOST_TOKEN", "EASEL_GPU_UPSCALER",
    "EASEL_GPU_HOST_CONCURRENCY", "EASEL_GPU_TIMEOUT_S", "EASEL_GPU_MAX_SIDE", "STABILITY_TIMEOUT_S",
    "EASEL_STABILITY_MODEL", "EASEL_STABILITY_MODELS",
    "EASEL_DATA_DIR", "EASEL_DAILY_QUOTA", "EASEL_MAX_CONCURRENCY", "EASEL_WATERMARK_TEXT",
    "EASEL_WATERMARK_IMAGE", "EASEL_HTTP_PORT", "EASEL_LOG_LEVEL",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _clean_easel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _EASEL_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_settings(tmp_path: Path, stability_server: Any) -> Callable[..., Settings]:
    """Build Settings against the fake Stability server; keyword overrides win."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "stability_api_key": stability_server.api_key,
            "stability_api_host": stability_server.url,
            "data_dir": tmp_path / "data",
            "http_port": 0,
            "slack_port": 0,
            "daily_quota": 25,
            "max_concurrency": 2,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def easel_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()
