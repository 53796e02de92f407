"""Fixtures that build easel's real services against the local fakes.

``easel_settings`` points a real :class:`bot.settings.Settings` at the fake
Stability server with a per-test data dir; ``make_settings(**overrides)`` builds
variants (e.g. a Discord token and the fake Discord's URL, or ``backend="gpu-host",
gpu_host_url=...``: each keyword goes to the settings model that declares it). Settings are built
from keyword arguments with ``_env_file=None`` so a developer's ``.env`` or
environment never leaks into a test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from bot.variables import documented_variables

# Every public variable easel reads (core and every backend plugin), from the settings models;
# cleared for each test so the developer's shell can't leak in.
_EASEL_ENV = [variable.name for variable in documented_variables()]


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
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def easel_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()
