"""The CLI with EASEL_BACKEND=gemini against the fake Gemini API."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.fakes.gemini import FakeGemini
from tests.helpers.cli import clean_env, run_easel
from tests.helpers.images import png


def gemini_env(server: FakeGemini, data_dir: Path, **extra: str) -> dict[str, str]:
    env = clean_env(
        EASEL_BACKEND="gemini", EASEL_GEMINI_BASE_URL=server.url, EASEL_DATA_DIR=str(data_dir), **extra
    )
    env["GEMINI_API_KEY"] = server.api_key
    return env


async def test_imagine_and_remix_through_the_cli(gemini_server: FakeGemini, tmp_path: Path) -> None:
    env = gemini_env(gemini_server, tmp_path / "data", EASEL_GEMINI_SAFETY_THRESHOLD="BLOCK_MEDIUM_AND_ABOVE")
    result = await run_easel(
        "imagine", "a paper lantern --ar 9:16 --seed 5", "--json", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path
    )  # fmt: skip
    assert result.code == 0, result.stderr
    obj = json.loads(result.stdout.strip())
    assert obj["backend"] == "gemini" and obj["seed"] == 5
    with Image.open(obj["path"]) as img:
        assert img.size == (768, 1344)
    body = gemini_server.last_body()
    assert {s["threshold"] for s in body["safetySettings"]} == {"BLOCK_MEDIUM_AND_ABOVE"}
    src = tmp_path / "in.png"
    src.write_bytes(png((600, 600)))
    result = await run_easel(
        "remix", "as a mosaic", "--image", str(src), "--json", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert len(gemini_server.last_body()["contents"][0]["parts"]) == 2
    assert gemini_server.api_key not in result.stdout + result.stderr


async def test_blocked_prompt_and_check(gemini_server: FakeGemini, tmp_path: Path) -> None:
    env = gemini_env(gemini_server, tmp_path / "data")
    result = await run_easel(
        "imagine", "something forbidden", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path
    )
    assert result.code == 1 and "safety filter" in result.stderr and "quota was not spent" in result.stderr
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    lines = [line for line in result.stdout.splitlines() if "gemini" in line]
    assert len(lines) == 2 and all(line.startswith("OK") for line in lines), result.stdout
    assert "SynthID" in result.stdout
