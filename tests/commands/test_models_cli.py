"""``easel models`` with EASEL_BACKENDS=stability,openai,gemini against the three fakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes.gemini import FakeGemini
from tests.fakes.openai.server import FakeOpenAI
from tests.helpers.cli import clean_env, run_easel


def three_services_env(
    stability: Any, openai: FakeOpenAI, gemini: FakeGemini, data_dir: Path
) -> dict[str, str]:
    env = clean_env(
        EASEL_BACKENDS="stability,openai,gemini",
        STABILITY_API_KEY=stability.api_key,
        STABILITY_API_HOST=stability.url,
        EASEL_GEMINI_BASE_URL=gemini.url,
        EASEL_DATA_DIR=str(data_dir),
        EASEL_MODEL_COSTS="gpt-image-2=12,gemini-3-pro-image=7",
        EASEL_DEFAULT_MODELS="remix=gpt-image-2",
    )
    env.update(OPENAI_API_KEY=openai.api_key, OPENAI_BASE_URL=openai.url, GEMINI_API_KEY=gemini.api_key)
    return env


def _command(listing: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in listing["commands"] if c["command"] == name)


async def test_json_lists_every_service_per_command_with_cost_and_notes(
    stability_server: Any, openai_server: FakeOpenAI, gemini_server: FakeGemini, tmp_path: Path
) -> None:
    env = three_services_env(stability_server, openai_server, gemini_server, tmp_path / "data")
    result = await run_easel("models", "--json", env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    listing = json.loads(result.stdout)
    imagine = _command(listing, "imagine")
    models = {m["model"]: m for m in imagine["models"]}
    assert {m["service"] for m in models.values()} == {"stability", "openai", "gemini"}
    assert imagine["models"][0]["default"] and imagine["models"][0]["model"] == imagine["default"]
    assert models["gpt-image-2"]["units_per_image"] == 12
    assert models["gemini-3-pro-image"]["units_per_image"] == 7
    remix = _command(listing, "remix")  # EASEL_DEFAULT_MODELS: remix=gpt-image-2
    assert remix["default"] == "gpt-image-2" and remix["models"][0]["model"] == "gpt-image-2"
    assert models["gemini-3-pro-image"]["limits"]["aspect ratios"].startswith("1:1")
    assert models["gemini-3-pro-image"]["limits"]["images"] == "1–4"
    assert all("SynthID" in " ".join(m["notes"]) for m in models.values() if m["service"] == "gemini")
    assert not any(m["notes"] for m in models.values() if m["service"] != "gemini")
    assert all(m["available"] for m in models.values())
    # Gemini edits by instruction but has no masks: /inpaint lists no Gemini model.
    inpaint = _command(listing, "inpaint")
    assert {m["service"] for m in inpaint["models"]} == {"stability", "openai"}
    for secret in (stability_server.api_key, openai_server.api_key, gemini_server.api_key):
        assert secret not in result.stdout + result.stderr


async def test_a_service_that_fails_its_check_is_shown_unavailable(
    stability_server: Any, openai_server: FakeOpenAI, gemini_server: FakeGemini, tmp_path: Path
) -> None:
    env = three_services_env(stability_server, openai_server, gemini_server, tmp_path / "data")
    await gemini_server.close()  # nothing listens there any more
    result = await run_easel("models", "imagine", env=env, cwd=tmp_path)
    assert result.code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("/imagine — default model: ")
    gemini = [line for line in lines if "(gemini)" in line]
    assert len(gemini) == 3 and all("unavailable right now: failed its last check" in line for line in gemini)
    others = [line for line in lines[1:] if "(gemini)" not in line]
    assert others and not any("unavailable" in line for line in others)
    assert "gpt-image-2 (openai) · 12 units per image" in result.stdout


async def test_unknown_command_is_refused_politely(stability_server: Any, tmp_path: Path) -> None:
    env = clean_env(
        STABILITY_API_KEY=stability_server.api_key,
        STABILITY_API_HOST=stability_server.url,
        EASEL_DATA_DIR=str(tmp_path / "data"),
    )
    result = await run_easel("models", "paint", env=env, cwd=tmp_path)
    assert result.code == 2
    assert "no enabled model serves 'paint'" in result.stderr and "imagine" in result.stderr
