"""The ComfyUI backend with easel's shipped workflows against the fake ComfyUI host (HTTP + websocket)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from commands import imagine, inpaint, outpaint, remix, upscale
from commands.invocation import Invocation
from services.backends.comfyui import ComfyUIBackend, load_workflows
from services.backends.plugin import BackendConfigError
from services.errors import (
    BackendError,
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
    JobCancelled,
)
from services.types import Operation, Progress
from tests.fakes.comfyui import FakeComfyUI
from tests.helpers.images import decode, mask_png, png
from tests.helpers.requests import imagine as imagine_request


async def test_the_host_is_learnt_and_every_shipped_workflow_is_offered(
    comfyui_backend: ComfyUIBackend,
) -> None:
    limits = comfyui_backend.limits
    assert limits.operations == {
        Operation.IMAGINE,
        Operation.REMIX,
        Operation.INPAINT,
        Operation.OUTPAINT,
        Operation.UPSCALE,
    }
    assert limits.models[0] == "sd_xl_base_1.0.safetensors" == limits.default_model
    assert "dpmpp_2m" in limits.samplers and "karras" in limits.schedulers
    assert limits.default_steps == 30


async def test_imagine_fills_the_graph_and_reports_progress_with_previews(
    comfyui_backend: ComfyUIBackend, comfyui_server: FakeComfyUI
) -> None:
    reports: list[Progress] = []

    async def progress(report: Progress) -> None:
        reports.append(report)

    text = "a copper kettle --size 768x512 --seed 7 --n 2 --steps 12 --cfg 5 --sampler dpmpp_2m --no blur"
    request = await imagine.build(Invocation(text=text), comfyui_backend.limits)
    result = await comfyui_backend.generate(request, progress)
    first, second = comfyui_server.prompts[-2:]
    assert first["6"]["inputs"]["text"] == "a copper kettle" and first["7"]["inputs"]["text"] == "blur"
    assert (first["5"]["inputs"]["width"], first["5"]["inputs"]["height"]) == (768, 512)
    ksampler = first["3"]["inputs"]
    assert (ksampler["seed"], ksampler["steps"], ksampler["cfg"], ksampler["sampler_name"]) == (
        7,
        12,
        5.0,
        "dpmpp_2m",
    )
    assert second["3"]["inputs"]["seed"] == 8
    assert [i.seed for i in result.images] == [7, 8] and all(
        (i.width, i.height) == (768, 512) for i in result.images
    )
    assert result.backend == "comfyui" and result.model == "sd_xl_base_1.0.safetensors"
    assert any(
        r.preview_png and decode(r.preview_png).format == "PNG" for r in reports
    )  # JPEG previews → PNG
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and 0 < fractions[-1] < 1


async def test_remix_uploads_the_source_and_sends_denoise(
    comfyui_backend: ComfyUIBackend, comfyui_server: FakeComfyUI
) -> None:
    inv = Invocation(text="as stained glass --strength 0.25", images={"image": png((640, 448), (0, 0, 255))})
    result = await comfyui_backend.generate(await remix.build(inv, comfyui_backend.limits))
    graph = comfyui_server.prompts[-1]
    assert graph["3"]["inputs"]["denoise"] == 0.75
    assert graph["10"]["inputs"]["image"] in comfyui_server.inputs
    assert "POST /upload/image" in comfyui_server.paths
    assert (result.images[0].width, result.images[0].height) == (640, 448)


async def test_inpaint_sends_a_white_means_repaint_mask(
    comfyui_backend: ComfyUIBackend, comfyui_server: FakeComfyUI
) -> None:
    inv = Invocation(
        text="a red door --mask-source black",
        images={"image": png((512, 512), (10, 200, 90)), "mask": mask_png(512, 512)},
    )
    result = await comfyui_backend.generate(await inpaint.build(inv, comfyui_backend.limits))
    graph = comfyui_server.prompts[-1]
    mask = decode(comfyui_server.inputs[graph["12"]["inputs"]["image"]]).convert("L")
    assert (mask.getpixel((10, 10)), mask.getpixel((500, 10))) == (
        0,
        255,
    )  # black half of the upload = repaint
    out = decode(result.images[0].png).convert("RGB")
    assert out.getpixel((10, 10)) == (10, 200, 90)


async def test_outpaint_keeps_the_original_and_upscale_uses_the_model(
    comfyui_backend: ComfyUIBackend, comfyui_server: FakeComfyUI
) -> None:
    inv = Invocation(text="more sky --up 128", images={"image": png((512, 384), (10, 200, 90))})
    result = await comfyui_backend.generate(await outpaint.build(inv, comfyui_backend.limits))
    image = decode(result.images[0].png).convert("RGB")
    assert image.size == (512, 512) and image.getpixel((256, 300)) == (10, 200, 90)

    inv = Invocation(text="--scale 2", images={"image": png((256, 256))})
    result = await comfyui_backend.generate(await upscale.build(inv, comfyui_backend.limits))
    graph = comfyui_server.prompts[-1]
    assert (
        graph["2"]["inputs"]["model_name"] == "4x-UltraSharp.pth" and graph["4"]["inputs"]["scale_by"] == 0.5
    )
    assert (result.images[0].width, result.images[0].height) == (512, 512)


async def test_a_graph_the_host_refuses_and_a_failing_node_are_clear(comfyui_server: FakeComfyUI) -> None:
    backend = ComfyUIBackend(comfyui_server.url, workflows=load_workflows(None), retry_base_delay_s=0.01)
    await backend.start()
    try:
        ask = imagine_request(width=512, height=512, steps=5, cfg_scale=7.0, sampler="not-a-sampler")
        with pytest.raises(BackendRejected, match=r"sampler_name: 'not-a-sampler' not in"):
            await backend.generate(ask)
        comfyui_server.fail_next_execution = "CUDA out of memory"
        with pytest.raises(BackendError) as info:
            await backend.generate(imagine_request(width=512, height=512, steps=5, cfg_scale=7.0))
        assert "CUDA out of memory" in info.value.log_detail
    finally:
        await backend.close()
    wrong = ComfyUIBackend(
        comfyui_server.url, workflows=load_workflows(None), checkpoint="missing.safetensors"
    )
    await wrong.start()
    try:
        with pytest.raises(BackendMisconfigured):
            await wrong.generate(imagine_request(width=512, height=512, steps=5, cfg_scale=7.0))
        assert [line.ok for line in await wrong.check() if line.name == "comfyui checkpoints"] == [False]
    finally:
        await wrong.close()


def test_operator_workflows_replace_the_shipped_ones_and_bad_ones_are_named(tmp_path: Path) -> None:
    graph = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x"}},
             "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "p"}},
             "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}}}  # fmt: skip
    (tmp_path / "mine.json").write_text(json.dumps(graph))
    (tmp_path / "mine.easel.json").write_text(
        json.dumps({"operation": "imagine", "output": "2", "inputs": {"prompt": "3.text"}})
    )
    workflows = load_workflows(tmp_path)
    assert workflows[Operation.IMAGINE].name == "mine" and workflows[Operation.REMIX].name == "img2img"
    (tmp_path / "mine.easel.json").write_text(
        json.dumps({"operation": "imagine", "output": "2", "inputs": {"prompt": "9.text"}})
    )
    with pytest.raises(BackendConfigError, match=r"'prompt' points at '9\.text'"):
        load_workflows(tmp_path)
    with pytest.raises(BackendConfigError, match="is not a folder"):
        load_workflows(tmp_path / "nowhere")


async def test_check_lists_the_host_and_each_workflow(comfyui_backend: ComfyUIBackend) -> None:
    lines = await comfyui_backend.check()
    assert all(line.ok for line in lines), lines
    assert {line.name for line in lines} >= {
        "comfyui host",
        "comfyui txt2img",
        "comfyui upscale",
        "comfyui checkpoints",
    }


async def test_an_unreachable_host_is_a_failed_check() -> None:
    backend = ComfyUIBackend("http://127.0.0.1:9", workflows=load_workflows(None), retry_base_delay_s=0.01)
    await backend.start()
    try:
        lines = await backend.check()
        assert [(line.name, line.ok) for line in lines] == [("comfyui host", False)]
    finally:
        await backend.close()


async def test_cancel_interrupts_the_running_prompt(comfyui_server: FakeComfyUI) -> None:
    comfyui_server.step_delay_s = 0.05
    backend = ComfyUIBackend(comfyui_server.url, workflows=load_workflows(None), retry_base_delay_s=0.01)
    await backend.start()
    try:
        started = asyncio.Event()

        async def progress(report: Progress) -> None:
            started.set()

        job = asyncio.create_task(
            backend.generate(imagine_request(width=512, height=512, steps=40, cfg_scale=7.0), progress)
        )
        await asyncio.wait_for(started.wait(), 10)
        await backend.cancel()
        with pytest.raises(JobCancelled):
            await asyncio.wait_for(job, 10)
        assert comfyui_server.interrupts == 1
    finally:
        await backend.close()


async def test_a_host_that_goes_away_is_unavailable_not_a_hang(comfyui_server: FakeComfyUI) -> None:
    backend = ComfyUIBackend(comfyui_server.url, workflows=load_workflows(None), retry_base_delay_s=0.01)
    await backend.start()
    try:
        await comfyui_server.close()
        with pytest.raises(BackendUnavailable):
            await asyncio.wait_for(
                backend.generate(imagine_request(width=512, height=512, steps=5, cfg_scale=7.0)), 20
            )
    finally:
        await backend.close()


async def test_several_hosts_share_the_work_and_fail_over(comfyui_server: FakeComfyUI) -> None:
    second = await FakeComfyUI().start()
    backend = ComfyUIBackend(
        [comfyui_server.url, second.url], workflows=load_workflows(None), retry_base_delay_s=0.01
    )
    await backend.start()
    try:
        assert backend.host_states() == {comfyui_server.url: "up", second.url: "up"}
        ask = imagine_request(width=512, height=512, steps=3, cfg_scale=7.0)
        await asyncio.gather(backend.generate(ask), backend.generate(ask))
        assert (
            len(comfyui_server.prompts) == len(second.prompts) == 1
        )  # the least busy host gets the next job
        await second.close()
        for _ in range(2):
            result = await backend.generate(ask)
            assert len(result.images) == 1
        assert backend.host_states()[second.url] == "down" and len(comfyui_server.prompts) == 3
        inv = Invocation(text="as ink", images={"image": png((256, 256))})
        await backend.generate(await remix.build(inv, backend.limits))
        assert (
            comfyui_server.prompts[-1]["10"]["inputs"]["image"] in comfyui_server.inputs
        )  # uploaded where it ran
    finally:
        await backend.close()
        await second.close()
