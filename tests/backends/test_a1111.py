"""A1111Backend against the fake AUTOMATIC1111 host: what reaches the host, what comes back."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from PIL import Image

from services.backends.a1111 import A1111Backend, HostState
from services.backends.a1111.wire import denoising_strength, error_text, prompt_text
from services.backends.base import Backend
from services.backends.plugin import BackendConfigError
from services.errors import (
    BackendMisconfigured,
    BackendRejected,
    InvalidRequest,
    JobCancelled,
    UnsupportedOption,
)
from services.types import (
    GenerationRequest,
    InputImage,
    MaskSource,
    Operation,
    Progress,
    WeightedPrompt,
)
from tests.fakes.a1111 import FakeA1111
from tests.helpers.images import png
from tests.helpers.waiting import until

Factory = Callable[..., Awaitable[FakeA1111]]
XL_TITLE = "sd_xl_base_1.0.safetensors [31e35c80fc]"
SD15_TITLE = "v1-5-pruned-emaonly.safetensors [6ce0161689]"


def input_image(
    width: int = 96, height: int = 64, mode: str = "RGB", color: Any = (200, 30, 30)
) -> InputImage:
    return InputImage(png((width, height), color, mode), width, height, has_alpha=mode == "RGBA")


def b64_image(data: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    image.load()
    return image


def open_png(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def imagine(prompt: str = "a lighthouse", **kw: Any) -> GenerationRequest:
    return GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt(prompt),), **kw)


@pytest.fixture
async def gpu(a1111_server: FakeA1111) -> AsyncIterator[A1111Backend]:
    backend = A1111Backend([a1111_server.url], progress_interval_s=0.05, reprobe_interval_s=0)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


# ---- capabilities --------------------------------------------------------------------------------


async def test_limits_come_from_what_the_host_lists(gpu: A1111Backend, a1111_server: FakeA1111) -> None:
    assert isinstance(gpu, Backend)
    lim = gpu.limits
    assert gpu.name == "gpu-host"
    assert lim.operations == frozenset(Operation) - {Operation.REPLACE, Operation.CUTOUT}  # no such endpoints
    assert lim.models == ("sd_xl_base_1.0", "v1-5-pruned-emaonly")
    assert lim.default_model == "sd_xl_base_1.0"
    assert lim.default_size == (1024, 1024)  # an XL checkpoint is loaded
    assert lim.samplers == ("DPM++ 2M", "Euler a", "Euler", "DDIM")
    assert lim.schedulers == ("automatic", "karras", "exponential")
    assert lim.style_presets == ()
    assert (lim.size_multiple, lim.max_side, lim.allowed_sizes) == (8, 2048, None)
    assert lim.upscale_factors == (2, 4)
    paths = {r.path for r in a1111_server.requests}
    assert {"/sdapi/v1/options", "/sdapi/v1/sd-models", "/sdapi/v1/samplers", "/sdapi/v1/schedulers"} <= paths
    assert "/sdapi/v1/upscalers" in paths


async def test_older_host_without_schedulers_endpoint(a1111_factory: Factory) -> None:
    server = await a1111_factory(schedulers=None)
    backend = A1111Backend([server.url], max_side=1536, reprobe_interval_s=0)
    await backend.start()
    try:
        assert backend.limits.schedulers == ()
        assert backend.limits.max_side == 1536
        assert backend.limits.samplers  # the rest still listed
    finally:
        await backend.close()


# ---- imagine -------------------------------------------------------------------------------------


async def test_imagine_maps_every_parameter(gpu: A1111Backend, a1111_server: FakeA1111) -> None:
    request = GenerationRequest(
        operation=Operation.IMAGINE,
        prompts=(
            WeightedPrompt("a red fox"),
            WeightedPrompt("snow", 1.5),
            WeightedPrompt("blurry", -1.0),
            WeightedPrompt("text", -0.5),
        ),
        width=768,
        height=512,
        samples=3,
        seed=1234,
        steps=28,
        cfg_scale=6.5,
        sampler="euler a",  # users' spelling; the host's is "Euler a"
        scheduler="karras",
        model="v1-5-pruned-emaonly",
    )
    result = await gpu.generate(request)

    body = a1111_server.last("/sdapi/v1/txt2img").json
    assert body["prompt"] == "a red fox, (snow:1.5)"
    assert body["negative_prompt"] == "blurry, (text:0.5)"
    assert (body["width"], body["height"], body["batch_size"], body["n_iter"]) == (768, 512, 3, 1)
    assert (body["seed"], body["steps"], body["cfg_scale"]) == (1234, 28, 6.5)
    assert (body["sampler_name"], body["scheduler"]) == ("Euler a", "karras")
    assert body["override_settings"] == {"sd_model_checkpoint": SD15_TITLE}
    assert body["override_settings_restore_afterwards"] is True  # the host's own checkpoint comes back
    assert body["save_images"] is False and body["send_images"] is True

    assert result.backend == "gpu-host" and result.model == "v1-5-pruned-emaonly"
    assert [(i.seed, i.width, i.height) for i in result.images] == [
        (1234, 768, 512),
        (1235, 768, 512),
        (1236, 768, 512),
    ]
    assert len({i.png for i in result.images}) == 3
    assert open_png(result.images[0].png).size == (768, 512)


async def test_random_seed_is_read_back_from_info(gpu: A1111Backend, a1111_server: FakeA1111) -> None:
    first = await gpu.generate(imagine(width=64, height=64, samples=2))
    assert a1111_server.last("/sdapi/v1/txt2img").json["seed"] == -1
    seeds = [i.seed for i in first.images]
    assert seeds[0] >= 0 and seeds[1] == seeds[0] + 1
    # The seed really is the one that made the picture: asking for it again reproduces it.
    again = await gpu.generate(imagine(width=64, height=64, seed=seeds[0]))
    assert again.images[0].png == first.images[0].png


async def test_defaults_pin_the_default_model(gpu: A1111Backend, a1111_server: FakeA1111) -> None:
    result = await gpu.generate(imagine())
    body = a1111_server.last("/sdapi/v1/txt2img").json
    assert body["override_settings"] == {"sd_model_checkpoint": XL_TITLE}
    assert (body["width"], body["height"], body["steps"], body["cfg_scale"]) == (1024, 1024, 20, 7.0)
    assert body["sampler_name"] == "DPM++ 2M" and "scheduler" not in body  # the UI's default, not the API's
    assert body["negative_prompt"] == ""
    assert result.model == "sd_xl_base_1.0"


async def test_aspect_ratio_without_size_keeps_pixel_count(
    gpu: A1111Backend, a1111_server: FakeA1111
) -> None:
    await gpu.generate(imagine(aspect_ratio="16:9"))
    body = a1111_server.last("/sdapi/v1/txt2img").json
    assert body["width"] % 8 == 0 and body["height"] % 8 == 0
    assert body["width"] / body["height"] == pytest.approx(16 / 9, rel=0.02)
    assert body["width"] * body["height"] == pytest.approx(1024 * 1024, rel=0.05)


async def test_unknown_names_are_refused_before_the_host_is_busy(
    gpu: A1111Backend, a1111_server: FakeA1111
) -> None:
    with pytest.raises(UnsupportedOption, match="no sampler called 'Warp 9'"):
        await gpu.generate(imagine(sampler="Warp 9"))
    with pytest.raises(UnsupportedOption, match="no model called"):
        await gpu.generate(imagine(model="dreamshaper"))
    with pytest.raises(UnsupportedOption, match="Style presets"):
        await gpu.generate(imagine(style_preset="anime"))
    assert not a1111_server.calls("/sdapi/v1/txt2img")


async def test_jpeg_answers_are_returned_as_png(a1111_factory: Factory) -> None:
    server = await a1111_factory(image_format="jpg")
    backend = A1111Backend([server.url], reprobe_interval_s=0)
    await backend.start()
    try:
        result = await backend.generate(imagine(width=80, height=64))
    finally:
        await backend.close()
    assert open_png(result.images[0].png).size == (80, 64)
    assert (result.images[0].width, result.images[0].height) == (80, 64)


# ---- remix / inpaint -------------------------------------------------------------------------------


def test_strength_means_keep_so_denoising_is_its_complement() -> None:
    assert denoising_strength(0.35) == pytest.approx(0.65)
    assert denoising_strength(0.0) == 1.0 and denoising_strength(1.0) == 0.0


async def test_remix_sends_init_image_and_denoising(gpu: A1111Backend, a1111_server: FakeA1111) -> None:
    init = input_image(96, 64)
    request = GenerationRequest(
        operation=Operation.REMIX,
        prompts=(WeightedPrompt("as a watercolour"),),
        init_image=init,
        width=96,
        height=64,
        strength=0.3,
        seed=5,
    )
    result = await gpu.generate(request)
    body = a1111_server.last("/sdapi/v1/img2img").json
    assert body["denoising_strength"] == pytest.approx(0.7)
    assert base64.b64decode(body["init_images"][0]) == init.png
    assert (body["width"], body["height"], body["seed"], body["resize_mode"]) == (96, 64, 5, 0)
    assert "mask" not in body
    assert [(i.seed, i.width, i.height) for i in result.images] == [(5, 96, 64)]


async def test_remix_of_odd_size_is_snapped_to_multiples_of_8(
    gpu: A1111Backend, a1111_server: FakeA1111
) -> None:
    await gpu.generate(
        GenerationRequest(
            operation=Operation.REMIX, prompts=(WeightedPrompt("x"),), init_image=input_image(101, 67)
        )
    )
    body = a1111_server.last("/sdapi/v1/img2img").json
    assert (body["width"] % 8, body["height"] % 8) == (0, 0)
    assert body["denoising_strength"] == pytest.approx(1 - gpu.limits.default_strength)


@pytest.mark.parametrize(("source", "invert"), [(MaskSource.WHITE, 0), (MaskSource.BLACK, 1)])
async def test_inpaint_with_a_mask(
    gpu: A1111Backend, a1111_server: FakeA1111, source: MaskSource, invert: int
) -> None:
    mask = Image.new("L", (96, 64), 0)
    mask.paste(255, (0, 0, 48, 64))
    out = io.BytesIO()
    mask.save(out, format="PNG")
    request = GenerationRequest(
        operation=Operation.INPAINT,
        prompts=(WeightedPrompt("a red door"),),
        init_image=input_image(96, 64),
        mask_image=InputImage(out.getvalue(), 96, 64),
        mask_source=source,
        seed=9,
    )
    result = await gpu.generate(request)
    body = a1111_server.last("/sdapi/v1/img2img").json
    assert body["inpainting_mask_invert"] == invert
    assert (body["mask_blur"], body["inpainting_fill"], body["inpaint_full_res"]) == (4, 1, False)
    assert 0 < body["denoising_strength"] <= 1
    sent_mask = b64_image(body["mask"])
    assert sent_mask.mode == "L" and sent_mask.size == (96, 64)
    assert sent_mask.getpixel((10, 10)) == 255 and sent_mask.getpixel((80, 10)) == 0
    # The fake repaints the masked half completely: left half for white, right half for black.
    picture = open_png(result.images[0].png).convert("RGB")
    repainted, kept = ((10, 10), (80, 10)) if source is MaskSource.WHITE else ((80, 10), (10, 10))
    assert picture.getpixel(repainted) != picture.getpixel(kept)


async def test_inpaint_from_alpha_derives_the_mask(gpu: A1111Backend, a1111_server: FakeA1111) -> None:
    image = Image.new("RGBA", (64, 64), (10, 120, 10, 255))
    image.paste((0, 0, 0, 0), (32, 0, 64, 64))  # right half erased
    out = io.BytesIO()
    image.save(out, format="PNG")
    request = GenerationRequest(
        operation=Operation.INPAINT,
        prompts=(WeightedPrompt("sky"),),
        init_image=InputImage(out.getvalue(), 64, 64, has_alpha=True),
        mask_source=MaskSource.ALPHA,
    )
    await gpu.generate(request)
    body = a1111_server.last("/sdapi/v1/img2img").json
    mask = b64_image(body["mask"])
    assert mask.getpixel((50, 5)) == 255 and mask.getpixel((5, 5)) == 0
    assert body["inpainting_mask_invert"] == 0
    assert b64_image(body["init_images"][0]).mode == "RGB"


async def test_inpaint_alpha_needs_transparency(gpu: A1111Backend) -> None:
    request = GenerationRequest(
        operation=Operation.INPAINT,
        prompts=(WeightedPrompt("sky"),),
        init_image=input_image(),
        mask_source=MaskSource.ALPHA,
    )
    with pytest.raises(InvalidRequest, match="no transparent pixels"):
        await gpu.generate(request)


# ---- upscale / describe -----------------------------------------------------------------------------


async def test_upscale_with_configured_upscaler(a1111_factory: Factory) -> None:
    server = await a1111_factory()
    backend = A1111Backend([server.url], upscaler="Lanczos", reprobe_interval_s=0)
    await backend.start()
    try:
        request = GenerationRequest(
            operation=Operation.UPSCALE, init_image=input_image(40, 30), upscale_factor=4
        )
        result = await backend.generate(request)
    finally:
        await backend.close()
    body = server.last("/sdapi/v1/extra-single-image").json
    assert (body["upscaler_1"], body["upscaling_resize"], body["resize_mode"]) == ("Lanczos", 4, 0)
    assert [(i.width, i.height) for i in result.images] == [(160, 120)]
    assert open_png(result.images[0].png).size == (160, 120)
    assert result.model == "Lanczos"


async def test_upscale_picks_a_model_upscaler_by_default(gpu: A1111Backend, a1111_server: FakeA1111) -> None:
    result = await gpu.generate(
        GenerationRequest(operation=Operation.UPSCALE, init_image=input_image(40, 30))
    )
    body = a1111_server.last("/sdapi/v1/extra-single-image").json
    assert (body["upscaler_1"], body["upscaling_resize"]) == ("R-ESRGAN 4x+", 2)
    assert (result.images[0].width, result.images[0].height) == (80, 60)


async def test_upscale_factor_outside_limits(gpu: A1111Backend) -> None:
    with pytest.raises(UnsupportedOption, match="2 or 4"):
        await gpu.generate(
            GenerationRequest(operation=Operation.UPSCALE, init_image=input_image(), upscale_factor=3)
        )


async def test_describe_round_trip(gpu: A1111Backend, a1111_server: FakeA1111) -> None:
    init = input_image(120, 80)
    result = await gpu.generate(GenerationRequest(operation=Operation.DESCRIBE, init_image=init))
    body = a1111_server.last("/sdapi/v1/interrogate").json
    assert body["model"] == "clip"
    assert base64.b64decode(body["image"]) == init.png
    assert result.images == ()
    assert result.text == "a painting of a 120x80 test pattern, trending on artstation"
    assert result.model == "clip"


# ---- progress and cancelling ----------------------------------------------------------------------


async def test_previews_are_reported_during_a_slow_job(a1111_factory: Factory) -> None:
    server = await a1111_factory(generation_s=1.0)
    backend = A1111Backend([server.url], progress_interval_s=0.1, reprobe_interval_s=0)
    reports: list[Progress] = []

    async def on_progress(p: Progress) -> None:
        reports.append(p)

    await backend.start()
    try:
        result = await backend.generate(imagine(width=64, height=64), progress=on_progress)
    finally:
        await backend.close()
    assert len(result.images) == 1
    assert len(reports) >= 3
    fractions = [p.fraction for p in reports]
    assert fractions == sorted(fractions) and 0 < fractions[0] < fractions[-1] <= 1
    assert all(p.preview_png is not None and open_png(p.preview_png).size == (32, 32) for p in reports)
    assert reports[0].eta_s is not None and reports[0].eta_s > reports[-1].eta_s  # type: ignore[operator]
    polls = server.calls("/sdapi/v1/progress")
    assert polls and all(r.query == {"skip_current_image": "false"} for r in polls)


async def test_backend_cancel_interrupts_the_host(a1111_factory: Factory) -> None:
    server = await a1111_factory(generation_s=3.0)
    backend = A1111Backend([server.url], reprobe_interval_s=0)
    await backend.start()
    try:
        job = asyncio.create_task(backend.generate(imagine(width=64, height=64)))
        await until(lambda: server.running)
        started = time.monotonic()
        await backend.cancel()
        with pytest.raises(JobCancelled):
            await asyncio.wait_for(job, 2)
        assert time.monotonic() - started < 2  # well before the 3 s generation would end
    finally:
        await backend.close()
    assert server.interrupts == 1
    assert len(server.calls("/sdapi/v1/interrupt", "POST")) == 1


async def test_cancelling_the_job_task_interrupts_the_host(a1111_factory: Factory) -> None:
    server = await a1111_factory(generation_s=3.0)
    backend = A1111Backend([server.url], reprobe_interval_s=0)
    await backend.start()
    try:
        job = asyncio.create_task(backend.generate(imagine(width=64, height=64)))
        await until(lambda: server.running)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        await until(lambda: not server.running)
    finally:
        await backend.close()
    assert server.interrupts == 1


# ---- errors and credentials -------------------------------------------------------------------------


def test_error_text_reads_fastapi_and_a1111_shapes() -> None:
    fastapi = {
        "detail": [
            {"loc": ["body", "width"], "msg": "must be a multiple of 8", "type": "value_error"},
            {"loc": ["body", "steps"], "msg": "ensure this value is less than 150", "type": "value_error"},
        ]
    }
    assert error_text(fastapi) == "width: must be a multiple of 8; steps: ensure this value is less than 150"
    assert error_text({"detail": "Sampler not found"}) == "Sampler not found"
    a1111 = {"error": "RuntimeError", "detail": "", "body": "", "errors": "Invalid\n  encoded image"}
    assert error_text(a1111) == "Invalid encoded image"
    assert len(error_text({"detail": "x" * 1000})) == 300
    assert prompt_text((WeightedPrompt("a"), WeightedPrompt("b", -2)), negative=True) == "(b:2)"


async def test_validation_error_becomes_one_readable_line(a1111_factory: Factory) -> None:
    server = await a1111_factory(max_side=512)  # the host allows less than easel thinks
    backend = A1111Backend([server.url], reprobe_interval_s=0)
    await backend.start()
    try:
        with pytest.raises(BackendRejected) as caught:
            await backend.generate(imagine(width=1024, height=768, steps=200))
    finally:
        await backend.close()
    message = caught.value.user_message
    assert "\n" not in message
    assert message == (
        "The GPU host rejected the request: width: must be a multiple of 8 between 64 and 512; "
        "height: must be a multiple of 8 between 64 and 512; steps: must be between 1 and 150"
    )
    assert server.url not in message and "127.0.0.1" not in message
    assert "HTTP 422" in caught.value.log_detail


async def test_basic_auth(a1111_factory: Factory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = await a1111_factory(auth=("easel", "s3cret-pw"))
    backend = A1111Backend([server.url], auth=("easel", "s3cret-pw"), reprobe_interval_s=0)
    await backend.start()
    try:
        result = await backend.generate(imagine(width=64, height=64))
        checks = await backend.check()
    finally:
        await backend.close()
    assert len(result.images) == 1
    expected = "Basic " + base64.b64encode(b"easel:s3cret-pw").decode()
    assert all(
        r.headers.get("Authorization") == expected for r in server.requests if r.path.startswith("/sdapi")
    )
    assert [c.ok for c in checks] == [True]
    assert "s3cret-pw" not in caplog.text


async def test_wrong_password_is_an_operator_problem(
    a1111_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = await a1111_factory(auth=("easel", "right"))
    backend = A1111Backend([server.url], auth=("easel", "wrong-pw-123"), reprobe_interval_s=0)
    await backend.start()  # not fatal: the bot still starts and says what is wrong
    try:
        with pytest.raises(BackendMisconfigured) as caught:
            await backend.generate(imagine(width=64, height=64))
        checks = await backend.check()
    finally:
        await backend.close()
    assert not server.calls("/sdapi/v1/txt2img")
    assert "wrong-pw-123" not in caught.value.user_message + caught.value.log_detail
    assert [c.ok for c in checks] == [False]
    assert "credentials refused" in checks[0].detail and "EASEL_GPU_HOST_AUTH" in checks[0].detail
    assert "wrong-pw-123" not in caplog.text + checks[0].detail


async def test_bearer_token_and_credentials_in_url(
    a1111_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token_host = await a1111_factory(token="tok-abc-987")
    backend = A1111Backend([token_host.url], token="tok-abc-987", reprobe_interval_s=0)
    await backend.start()
    try:
        await backend.generate(imagine(width=64, height=64))
    finally:
        await backend.close()
    assert token_host.last("/sdapi/v1/txt2img").headers["Authorization"] == "Bearer tok-abc-987"

    basic_host = await a1111_factory(auth=("bob", "pw-in-url-555"))
    url = basic_host.url.replace("http://", "http://bob:pw-in-url-555@")
    backend = A1111Backend([url], reprobe_interval_s=0)
    await backend.start()
    try:
        await backend.generate(imagine(width=64, height=64))
        checks = await backend.check()
    finally:
        await backend.close()
    assert checks[0].ok and checks[0].name == f"gpu-host {basic_host.url}"
    assert "pw-in-url-555" not in caplog.text and "tok-abc-987" not in caplog.text


def test_basic_auth_and_token_together_are_refused() -> None:
    with pytest.raises(BackendConfigError, match="not both"):
        A1111Backend(["http://127.0.0.1:1"], auth=("a", "b"), token="t")
    with pytest.raises(BackendConfigError, match="at least one"):
        A1111Backend([" "])


async def test_check_without_start_and_an_unreachable_host(a1111_server: FakeA1111) -> None:
    closed = FakeA1111()
    await closed.start()
    dead_url = closed.url
    await closed.close()  # nothing listens there any more
    backend = A1111Backend([a1111_server.url, dead_url], upscaler="Nope 8x")
    results = await backend.check()
    await backend.close()
    assert [r.name for r in results] == [f"gpu-host {a1111_server.url}", f"gpu-host {dead_url}"]
    up, down = results
    assert not up.ok and "2 models" in up.detail and "'Nope 8x' not offered" in up.detail
    assert not down.ok and down.detail.startswith("unreachable")
    assert not a1111_server.calls("/sdapi/v1/txt2img")


async def test_out_of_memory_is_rejected_and_the_host_stays(
    gpu: A1111Backend, a1111_server: FakeA1111
) -> None:
    a1111_server.fail_next = (
        500,
        {
            "error": "OutOfMemoryError",
            "detail": "",
            "body": "",
            "errors": "CUDA out of memory. Tried to allocate 2 GiB",
        },
    )
    with pytest.raises(BackendRejected, match="ran out of memory"):
        await gpu.generate(imagine(width=1024, height=1024, samples=8))
    assert len(a1111_server.calls("/sdapi/v1/txt2img")) == 1  # not retried: another try would do the same
    assert list(gpu.host_states().values()) == [HostState.UP]
    assert len((await gpu.generate(imagine(width=64, height=64))).images) == 1


async def test_a1111_not_found_detail_is_shown(gpu: A1111Backend, a1111_server: FakeA1111) -> None:
    a1111_server.fail_next = (
        404,
        {"error": "HTTPException", "detail": "Sampler not found", "body": "", "errors": ""},
    )
    with pytest.raises(BackendRejected, match="rejected the request: Sampler not found"):
        await gpu.generate(imagine(width=64, height=64))


async def test_describe_on_a_fork_without_interrogate(a1111_factory: Factory) -> None:
    server = await a1111_factory(interrogate=False)
    backend = A1111Backend([server.url], reprobe_interval_s=0)
    await backend.start()
    try:
        with pytest.raises(UnsupportedOption, match="/describe is not available on this GPU host"):
            await backend.generate(GenerationRequest(operation=Operation.DESCRIBE, init_image=input_image()))
        assert list(backend.host_states().values()) == [HostState.UP]  # still fine for everything else
    finally:
        await backend.close()


async def test_default_model_does_not_follow_the_last_users_choice(a1111_factory: Factory) -> None:
    server = await a1111_factory()
    backend = A1111Backend([server.url], reprobe_interval_s=0.05)
    await backend.start()
    try:
        await backend.generate(imagine(width=64, height=64, model="v1-5-pruned-emaonly"))
        assert server.current_model == XL_TITLE  # restored: one user's --model is not everyone's
        probes = len(server.calls("/sdapi/v1/options"))
        await until(lambda: len(server.calls("/sdapi/v1/options")) > probes + 1)  # listings refreshed
        assert backend.limits.default_model == "sd_xl_base_1.0"
        await backend.generate(imagine(width=64, height=64))
    finally:
        await backend.close()
    assert server.last("/sdapi/v1/txt2img").json["override_settings"] == {"sd_model_checkpoint": XL_TITLE}
    assert server.model_loads == 1  # the default was loaded all along
