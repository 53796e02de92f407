"""Guided upscales through the real ``easel`` CLI and the v2beta client (issue 11, item 1).

Stability's conservative and creative upscalers require a prompt and are steered by it; the user's
words must be what reaches ``/v2beta/stable-image/upscale/{mode}``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.stability import FakeStabilityServer
from tests.helpers.cli import clean_env, run_easel
from tests.helpers.images import png


def _env(server: FakeStabilityServer, tmp_path: Path) -> dict[str, str]:
    return clean_env(
        STABILITY_API_KEY=server.api_key,
        STABILITY_API_HOST=server.url,
        EASEL_STABILITY_MODEL="core",
        EASEL_DATA_DIR=str(tmp_path / "data"),
    )


@pytest.mark.parametrize("mode", ["conservative", "creative"])
async def test_guided_upscale_sends_the_users_prompt(
    stability_server: FakeStabilityServer, tmp_path: Path, mode: str
) -> None:
    stability_server.result_polls = 0
    source = tmp_path / "in.png"
    source.write_bytes(png((512, 512)))
    result = await run_easel(
        "upscale", f"crisp details --mode {mode}", "--image", str(source), "--out", str(tmp_path / "out"),
        env=_env(stability_server, tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    (sent,) = stability_server.requests_for(f"/upscale/{mode}")
    assert sent.form["prompt"] == "crisp details"


async def test_guided_upscale_without_a_prompt_is_refused_before_any_call(
    stability_server: FakeStabilityServer, tmp_path: Path
) -> None:
    source = tmp_path / "in.png"
    source.write_bytes(png((512, 512)))
    result = await run_easel(
        "upscale", "--mode creative", "--image", str(source), "--out", str(tmp_path / "out"),
        env=_env(stability_server, tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert result.code != 0
    assert "--mode creative needs a prompt saying what the picture shows" in result.stderr
    assert stability_server.requests_for("/upscale/") == []
