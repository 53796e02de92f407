"""``easel check`` with several backends: each one's lines, and a ``models`` line that fails on a
per-command default (``EASEL_DEFAULT_MODELS``) no enabled backend serves for that command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.openai.server import FakeOpenAI
from tests.helpers.cli import clean_env, run_easel


def _env(stability: Any, openai: FakeOpenAI, tmp_path: Path, defaults: str) -> dict[str, str]:
    return clean_env(
        EASEL_BACKENDS="stability,openai",
        STABILITY_API_KEY=stability.api_key,
        STABILITY_API_HOST=stability.url,
        EASEL_STABILITY_MODEL="core",
        OPENAI_API_KEY=openai.api_key,
        OPENAI_BASE_URL=openai.url,
        EASEL_DEFAULT_MODELS=defaults,
        EASEL_MODEL_COSTS="core=2",
        EASEL_DATA_DIR=str(tmp_path / "data"),
    )


async def test_both_services_are_checked_and_the_models_line_lists_prices(
    stability_server: Any, openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    env = _env(stability_server, openai_server, tmp_path, "imagine=gpt-image-2,inpaint=core")
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=60)
    lines = result.stdout.splitlines()
    assert result.code == 0, result.stdout
    assert any(line.startswith("OK   stability: ") for line in lines), result.stdout
    assert any(line.startswith("OK   openai: openai api") for line in lines), result.stdout
    [models] = [line for line in lines if line[5:].startswith("models:")]
    assert "core 2" in models and "gpt-image-2 10" in models  # the override, and the plugin default
    assert "imagine=gpt-image-2" in models
    assert not openai_server.calls("/v1/images/generations")  # checked, never generated


async def test_a_default_no_backend_serves_fails_the_check_naming_it(
    stability_server: Any, openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    env = _env(stability_server, openai_server, tmp_path, "upscale=gpt-image-2")
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=60)
    assert result.code == 1, result.stdout
    [models] = [line for line in result.stdout.splitlines() if line[5:].startswith("models:")]
    assert models.startswith("FAIL") and "EASEL_DEFAULT_MODELS" in models
    assert "gpt-image-2 cannot /upscale" in models
    assert "Traceback" not in result.stdout + result.stderr
    assert openai_server.api_key not in result.stdout + result.stderr
