"""The CLI with EASEL_BACKEND=gpu-host against the fake AUTOMATIC1111 server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from PIL import Image

from tests.helpers.cli import clean_env, easel_command, exits_after_interrupt, interruptible_env, run_easel
from tests.helpers.images import colours, png
from tests.helpers.waiting import until


def gpu_env(server: Any, data_dir: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        EASEL_BACKEND="gpu-host", EASEL_GPU_HOST_URL=server.url, EASEL_DATA_DIR=str(data_dir), **extra
    )


async def test_imagine_on_gpu_host_reads_seed_back(a1111_server: Any, tmp_path: Path) -> None:
    result = await run_easel(
        "imagine", "a watercolor fox --size 640x448 --seed 99 --steps 12 --sampler Euler", "--json",
        "--out", str(tmp_path / "out"), env=gpu_env(a1111_server, tmp_path / "data"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    obj = json.loads(result.stdout.strip())
    assert obj["backend"] == "gpu-host" and obj["seed"] == 99
    sent = a1111_server.last("/sdapi/v1/txt2img").json
    assert (sent["width"], sent["height"], sent["steps"], sent["sampler_name"]) == (640, 448, 12, "Euler")
    with Image.open(obj["path"]) as img:
        assert img.size == (640, 448)


async def test_describe_prints_the_caption(a1111_server: Any, tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(png((512, 384)))
    result = await run_easel(
        "describe", "--image", str(src), "--out", str(tmp_path / "out"),
        env=gpu_env(a1111_server, tmp_path / "data"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "test pattern" in result.stdout


async def test_outpaint_keeps_the_source_region(a1111_server: Any, tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(png((512, 512), (10, 200, 90)))
    result = await run_easel(
        "outpaint", "more meadow --right 128 --left 128", "--image", str(src), "--json", "--out", str(tmp_path / "out"),
        env=gpu_env(a1111_server, tmp_path / "data"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    obj = json.loads(result.stdout.strip().splitlines()[0])
    assert (obj["width"], obj["height"]) == (768, 512)
    with Image.open(obj["path"]) as img:
        centre = img.convert("RGB").crop((128, 0, 640, 300))
        # The source colour, give or take the invisible mark's few grey levels.
        assert all(abs(a - b) <= 8 for px in colours(centre) for a, b in zip(px, (10, 200, 90), strict=True))


async def test_style_flag_is_refused_on_gpu_host(a1111_server: Any, tmp_path: Path) -> None:
    result = await run_easel(
        "imagine", "a fox --style anime", "--out", str(tmp_path / "out"),
        env=gpu_env(a1111_server, tmp_path / "data"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 2
    assert "--style" in result.stderr
    assert not [r for r in a1111_server.requests if r.path == "/sdapi/v1/txt2img"]


async def test_replace_and_cutout_are_refused_on_a_gpu_host(a1111_server: Any, tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(png((512, 512)))
    for command, text in (("replace", "a red sofa --search the chair"), ("cutout", "")):
        args = [command, text] if text else [command]
        result = await run_easel(
            *args, "--image", str(src), "--out", str(tmp_path / "out"),
            env=gpu_env(a1111_server, tmp_path / "data"), cwd=tmp_path,
        )  # fmt: skip
        assert result.code != 0
        assert f"/{command} isn't available on this backend" in result.stderr, result.stderr
    assert a1111_server.calls("/sdapi/v1/img2img") == []


async def test_ctrl_c_interrupts_the_job_on_the_host(a1111_factory: Any, tmp_path: Path) -> None:
    host = await a1111_factory(generation_s=30)
    proc = await asyncio.create_subprocess_exec(
        *easel_command(), "imagine", "a slow fox --size 512x512", "--out", str(tmp_path / "out"),
        env=interruptible_env(gpu_env(host, tmp_path / "data")), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await until(lambda: bool(host.calls("/sdapi/v1/txt2img")), within_s=30)
    await exits_after_interrupt(proc)
    assert proc.returncode == 130
    sent = host.last("/sdapi/v1/txt2img").json["force_task_id"]
    assert host.interrupted_tasks == [sent]  # the GPU stops working for nobody
