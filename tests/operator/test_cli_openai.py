"""The CLI with EASEL_BACKEND=openai against the fake OpenAI images API: the same commands, job
runner, store and watermark as the chat front ends."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.fakes.openai import FakeOpenAI
from tests.helpers.cli import clean_env, run_easel
from tests.helpers.images import mask_png, png


def openai_env(server: FakeOpenAI, data_dir: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        EASEL_BACKEND="openai",
        OPENAI_API_KEY=server.api_key,
        OPENAI_BASE_URL=server.url,
        EASEL_DATA_DIR=str(data_dir),
        **extra,
    )


async def test_imagine_through_the_cli(openai_server: FakeOpenAI, tmp_path: Path) -> None:
    result = await run_easel(
        "imagine", "a neon sign that says easel --ar 16:9 --n 2", "--json", "--out", str(tmp_path / "out"),
        env=openai_env(openai_server, tmp_path / "data", EASEL_OPENAI_QUALITY="high"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    objs = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(objs) == 2 and all(o["backend"] == "openai" for o in objs)
    sent = openai_server.last("/v1/images/generations").json
    assert sent["quality"] == "high" and sent["n"] == 2
    w, h = (int(p) for p in sent["size"].split("x"))
    assert w % 16 == 0 and h % 16 == 0 and abs(w / h - 16 / 9) < 0.02
    with Image.open(objs[0]["path"]) as img:
        assert img.size == (w, h)
    assert openai_server.api_key not in result.stdout + result.stderr


async def test_inpaint_through_the_cli(openai_server: FakeOpenAI, tmp_path: Path) -> None:
    src, mask = tmp_path / "in.png", tmp_path / "mask.png"
    src.write_bytes(png((1024, 1024), (10, 200, 90)))
    mask.write_bytes(mask_png(1024, 1024))
    result = await run_easel(
        "inpaint", "a brick wall", "--image", str(src), "--mask", str(mask), "--json", "--out", str(tmp_path / "out"),
        env=openai_env(openai_server, tmp_path / "data"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    sent = openai_server.last("/v1/images/edits")
    assert sent.files["mask"][0].image.getpixel((10, 10))[3] == 0  # white (left) half: edit


async def test_a_moderation_refusal_is_explained_and_a_missing_command_refused(
    openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    env = openai_env(openai_server, tmp_path / "data")
    result = await run_easel(
        "imagine", "something forbidden", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path
    )
    assert result.code == 1
    assert "safety filter" in result.stderr and "quota was not spent" in result.stderr
    src = tmp_path / "in.png"
    src.write_bytes(png((512, 512)))
    result = await run_easel(
        "upscale", "--image", str(src), "--out", str(tmp_path / "out"), env=env, cwd=tmp_path
    )
    assert result.code == 2 and "isn't available" in result.stderr
    result = await run_easel(
        "imagine", "a fox --seed 3", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path
    )
    assert result.code == 2 and "--seed" in result.stderr
    assert len(openai_server.calls("/v1/images/generations")) == 1


async def test_check_reports_the_openai_backend(openai_server: FakeOpenAI, tmp_path: Path) -> None:
    result = await run_easel(
        "check", env=openai_env(openai_server, tmp_path / "data"), cwd=tmp_path, deadline_s=30
    )
    assert "openai api" in result.stdout and "openai model" in result.stdout, result.stdout
    lines = [line for line in result.stdout.splitlines() if "openai" in line]
    assert all(line.startswith("OK") for line in lines), result.stdout
    bad = {**openai_env(openai_server, tmp_path / "data"), "OPENAI_API_KEY": "sk-wrong-key"}
    result = await run_easel("check", env=bad, cwd=tmp_path, deadline_s=30)
    assert result.code != 0 and "OPENAI_API_KEY" in result.stdout
    assert "sk-wrong-key" not in result.stdout + result.stderr
    missing = clean_env(EASEL_BACKEND="openai", EASEL_DATA_DIR=str(tmp_path / "data"))
    missing.pop("OPENAI_API_KEY", None)
    result = await run_easel("imagine", "a fox", "--out", str(tmp_path / "out"), env=missing, cwd=tmp_path)
    assert result.code == 2 and "OPENAI_API_KEY" in result.stderr
