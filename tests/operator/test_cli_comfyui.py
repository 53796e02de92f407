"""The CLI with EASEL_BACKEND=comfyui against the fake ComfyUI host."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.fakes.comfyui import FakeComfyUI
from tests.helpers.cli import clean_env, run_easel
from tests.helpers.images import png


def comfy_env(server: FakeComfyUI, data_dir: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        EASEL_BACKEND="comfyui", EASEL_COMFYUI_URL=server.url, EASEL_DATA_DIR=str(data_dir), **extra
    )


async def test_imagine_and_upscale_through_the_cli(comfyui_server: FakeComfyUI, tmp_path: Path) -> None:
    env = comfy_env(comfyui_server, tmp_path / "data", EASEL_COMFYUI_CHECKPOINT="juggernautXL_v9.safetensors")
    result = await run_easel(
        "imagine", "a glass whale --size 640x384 --seed 11 --steps 8", "--json", "--out", str(tmp_path / "out"),
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    obj = json.loads(result.stdout.strip())
    assert obj["backend"] == "comfyui" and obj["seed"] == 11
    graph = comfyui_server.prompts[-1]
    assert graph["4"]["inputs"]["ckpt_name"] == "juggernautXL_v9.safetensors"
    with Image.open(obj["path"]) as img:
        assert img.size == (640, 384)
    src = tmp_path / "in.png"
    src.write_bytes(png((256, 192)))
    result = await run_easel(
        "upscale", "--scale 4", "--image", str(src), "--json", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path
    )  # fmt: skip
    assert result.code == 0, result.stderr
    with Image.open(json.loads(result.stdout.strip())["path"]) as img:
        assert img.size == (1024, 768)


async def test_check_and_a_bad_workflow_folder(comfyui_server: FakeComfyUI, tmp_path: Path) -> None:
    env = comfy_env(comfyui_server, tmp_path / "data")
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    lines = [line for line in result.stdout.splitlines() if "comfyui" in line]
    assert len(lines) == 7 and all(line.startswith("OK") for line in lines), result.stdout
    (tmp_path / "wf").mkdir()
    (tmp_path / "wf" / "broken.easel.json").write_text('{"operation": "imagine"}')
    bad = comfy_env(comfyui_server, tmp_path / "data", EASEL_COMFYUI_WORKFLOWS=str(tmp_path / "wf"))
    result = await run_easel("imagine", "a fox", "--out", str(tmp_path / "out"), env=bad, cwd=tmp_path)
    assert result.code == 2 and "broken.json is missing" in result.stderr
    assert "Traceback" not in result.stderr
