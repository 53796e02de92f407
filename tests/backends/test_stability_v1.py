"""StabilityV1Backend through real HTTP against the fake Stability server (tests/fakes/stability.py)."""

from __future__ import annotations

import logging
import time

import aiohttp
import pytest

from services.backends.base import Backend
from services.backends.retry import RetryPolicy, call_with_retries, parse_retry_after
from services.backends.stability import StabilityV1Backend, limits_for_engine
from services.errors import (
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
    ContentFiltered,
    InvalidRequest,
)
from services.types import (
    FinishReason,
    GenerationRequest,
    InputImage,
    MaskSource,
    Operation,
    Progress,
    WeightedPrompt,
)
from tests.fakes.stability import FakeStabilityServer, stability_backend_for
from tests.helpers.images import decode as _image
from tests.helpers.images import input_image as _input
from tests.helpers.limits import SDXL_SIZES
from tests.helpers.logs import assert_not_logged as _assert_not_logged
from tests.helpers.network import dead_port as _dead_port
from tests.helpers.requests import imagine as _imagine

SDXL = "stable-diffusion-xl-1024-v1-0"


# --- limits --------------------------------------------------------------------------------------


def test_limits_for_sdxl_engines() -> None:
    for engine in (SDXL, "stable-diffusion-xl-1024-v0-9"):
        limits = limits_for_engine(engine, [SDXL, "stable-diffusion-v1-6", "esrgan-v1-x2plus"])
        assert limits.allowed_sizes is not None and set(limits.allowed_sizes) == set(SDXL_SIZES)
        assert len(limits.allowed_sizes) == 9
        assert limits.steps == (10, 50)
        assert limits.samples == (1, 10)
        assert limits.cfg_scale == (0.0, 35.0)
        assert limits.seed == (0, 4294967295)
        assert limits.upscale_factors == (2,)
        assert limits.max_upscale_output_pixels == 4_194_304
        assert Operation.OUTPAINT not in limits.operations
        assert limits.operations == {Operation.IMAGINE, Operation.REMIX, Operation.INPAINT, Operation.UPSCALE}
        assert limits.models == (SDXL, "stable-diffusion-v1-6")  # the upscaler is not a model
        assert limits.default_model == engine
        assert "anime" in limits.style_presets and len(limits.style_presets) == 17
        assert "K_DPMPP_2M" in limits.samplers and len(limits.samplers) == 10


def test_limits_for_legacy_engine_and_without_engine_list() -> None:
    limits = limits_for_engine("stable-diffusion-v1-6")
    assert limits.allowed_sizes is None
    assert limits.size_multiple == 64
    assert limits.min_side == 320
    assert limits.max_pixels == 1_048_576
    assert limits.max_side * limits.min_side <= limits.max_pixels
    assert limits.default_size == (512, 512)
    assert limits.models == ("stable-diffusion-v1-6",)


def test_backend_satisfies_protocol_and_hides_key() -> None:
    backend = StabilityV1Backend("sk-super-secret-123", organization="org-1")
    assert isinstance(backend, Backend)
    assert backend.name == "stability"
    assert "sk-super-secret-123" not in repr(backend)
    assert "sk-super-secret-123" not in repr(vars(backend))


# --- text-to-image -------------------------------------------------------------------------------


async def test_text_to_image_parameters_reach_the_api(stability_server: FakeStabilityServer) -> None:
    updates: list[Progress] = []

    async def progress(update: Progress) -> None:
        updates.append(update)

    request = _imagine(
        prompts=(WeightedPrompt("a lighthouse on a cliff", 1.0), WeightedPrompt("fog", -0.8)),
        width=1216,
        height=832,
        samples=2,
        seed=7,
        steps=30,
        cfg_scale=9.5,
        sampler="K_EULER",
        style_preset="anime",
    )
    async with stability_backend_for(
        stability_server, organization="org-42", client_id="easel-test", client_version="9.9.9"
    ) as backend:
        result = await backend.generate(request, progress)

    sent = stability_server.requests_for("/text-to-image")
    assert len(sent) == 1
    assert sent[0].path == f"/v1/generation/{SDXL}/text-to-image"
    assert sent[0].json == {
        "text_prompts": [{"text": "a lighthouse on a cliff", "weight": 1.0}, {"text": "fog", "weight": -0.8}],
        "width": 1216,
        "height": 832,
        "samples": 2,
        "seed": 7,
        "steps": 30,
        "cfg_scale": 9.5,
        "sampler": "K_EULER",
        "style_preset": "anime",
    }
    headers = sent[0].headers
    assert headers["Authorization"] == f"Bearer {stability_server.api_key}"
    assert headers["Accept"] == "application/json"
    assert headers["Organization"] == "org-42"
    assert headers["Stability-Client-ID"] == "easel-test"
    assert headers["Stability-Client-Version"] == "9.9.9"
    # every request carries the same identity, including the engine list fetched by start()
    assert all(r.headers["Organization"] == "org-42" for r in stability_server.requests)

    assert result.backend == "stability" and result.model == SDXL
    assert [i.seed for i in result.images] == [7, 8]
    assert all(i.finish_reason is FinishReason.SUCCESS for i in result.images)
    assert all((i.width, i.height) == (1216, 832) for i in result.images)
    assert all(_image(i.png).size == (1216, 832) for i in result.images)
    assert result.images[0].png != result.images[1].png
    assert [u.fraction for u in updates] == [0.0, 1.0]


async def test_defaults_random_seed_and_no_organization(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    result = await stability_backend.generate(_imagine(seed=None))
    body = stability_server.requests_for("/text-to-image")[0].json
    assert body == {
        "text_prompts": [{"text": "a lighthouse on a cliff", "weight": 1.0}],
        "width": 1024,
        "height": 1024,
        "samples": 1,
    }
    assert "Organization" not in stability_server.requests_for("/text-to-image")[0].headers
    assert len(result.images) == 1 and result.images[0].seed > 0
    assert (result.images[0].width, result.images[0].height) == (1024, 1024)


async def test_model_override_and_unknown_model(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    result = await stability_backend.generate(_imagine(model="stable-diffusion-xl-1024-v0-9"))
    assert result.model == "stable-diffusion-xl-1024-v0-9"
    assert stability_server.requests_for("/text-to-image")[0].path.startswith(
        "/v1/generation/stable-diffusion-xl-1024-v0-9/"
    )
    with pytest.raises(InvalidRequest, match="no-such-model"):
        await stability_backend.generate(_imagine(model="no-such-model"))
    with pytest.raises(InvalidRequest):
        await stability_backend.generate(_imagine(model="esrgan-v1-x2plus"))
    assert len(stability_server.requests_for("/v1/generation/")) == 1


async def test_legacy_model_takes_free_sizes(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    result = await stability_backend.generate(_imagine(model="stable-diffusion-v1-6", width=768, height=512))
    assert (result.images[0].width, result.images[0].height) == (768, 512)


async def test_sdxl_size_outside_the_list_is_refused_before_calling(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    with pytest.raises(InvalidRequest, match="1216x832"):
        await stability_backend.generate(_imagine(width=1000, height=1000))
    assert stability_server.requests_for("/v1/generation/") == []


async def test_aspect_ratio_maps_to_closest_sdxl_size(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    result = await stability_backend.generate(_imagine(aspect_ratio="16:9"))
    assert (result.images[0].width, result.images[0].height) == (1344, 768)


async def test_empty_prompt_is_refused(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    with pytest.raises(InvalidRequest, match="prompt"):
        await stability_backend.generate(_imagine(prompts=(WeightedPrompt("   "),)))
    assert stability_server.requests_for("/v1/generation/") == []


# --- image-to-image ------------------------------------------------------------------------------


async def test_image_to_image_multipart_fields_and_strength(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    init = _input((1024, 1024), (255, 0, 0))
    request = GenerationRequest(
        operation=Operation.REMIX,
        prompts=(WeightedPrompt("a dog space commander"), WeightedPrompt("blurry", -1.0)),
        init_image=init,
        strength=0.4,
        samples=2,
        seed=11,
        steps=20,
        cfg_scale=7.0,
        sampler="K_DPM_2_ANCESTRAL",
        style_preset="photographic",
    )
    result = await stability_backend.generate(request)

    (sent,) = stability_server.requests_for("/image-to-image")
    assert sent.path == f"/v1/generation/{SDXL}/image-to-image"
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    assert sent.form == {
        "text_prompts[0][text]": "a dog space commander",
        "text_prompts[0][weight]": "1",
        "text_prompts[1][text]": "blurry",
        "text_prompts[1][weight]": "-1",
        "init_image_mode": "IMAGE_STRENGTH",
        "image_strength": "0.4",
        "samples": "2",
        "seed": "11",
        "steps": "20",
        "cfg_scale": "7",
        "sampler": "K_DPM_2_ANCESTRAL",
        "style_preset": "photographic",
    }
    assert set(sent.files) == {"init_image"}
    assert sent.files["init_image"].data == init.png  # already an SDXL size: sent untouched
    assert sent.files["init_image"].content_type == "image/png"
    assert [i.seed for i in result.images] == [11, 12]
    # the fake blends 40 % of the red init image into its output: the image went through
    red = _image(result.images[0].png).convert("RGB").getpixel((10, 10))
    assert isinstance(red, tuple) and red[0] >= 0.4 * 255 - 1


async def test_image_to_image_step_schedule(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    request = GenerationRequest(
        operation=Operation.REMIX,
        prompts=(WeightedPrompt("a castle"),),
        init_image=_input((896, 1152)),
        strength=0.9,
        extras=(
            ("init_image_mode", "STEP_SCHEDULE"),
            ("step_schedule_start", "0.6"),
            ("step_schedule_end", "0.1"),
        ),
    )
    result = await stability_backend.generate(request)
    (sent,) = stability_server.requests_for("/image-to-image")
    assert sent.form["init_image_mode"] == "STEP_SCHEDULE"
    assert sent.form["step_schedule_start"] == "0.6"
    assert sent.form["step_schedule_end"] == "0.1"
    assert "image_strength" not in sent.form
    assert (result.images[0].width, result.images[0].height) == (896, 1152)


async def test_init_image_of_another_size_is_fitted_to_an_sdxl_size(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    request = GenerationRequest(
        operation=Operation.REMIX, prompts=(WeightedPrompt("a harbour"),), init_image=_input((1000, 700))
    )
    result = await stability_backend.generate(request)
    (sent,) = stability_server.requests_for("/image-to-image")
    assert _image(sent.files["init_image"].data).size == (1216, 832)
    assert (result.images[0].width, result.images[0].height) == (1216, 832)


# --- masking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "wire"),
    [
        (MaskSource.WHITE, "MASK_IMAGE_WHITE"),
        (MaskSource.BLACK, "MASK_IMAGE_BLACK"),
        (MaskSource.ALPHA, "INIT_IMAGE_ALPHA"),
    ],
)
async def test_masking_with_each_mask_source(
    stability_server: FakeStabilityServer,
    stability_backend: StabilityV1Backend,
    source: MaskSource,
    wire: str,
) -> None:
    alpha = source is MaskSource.ALPHA
    init = _input((1024, 1024), (0, 0, 255, 0) if alpha else (0, 0, 255), "RGBA" if alpha else "RGB")
    mask = None if alpha else _input((1024, 1024), (255,), "L")
    request = GenerationRequest(
        operation=Operation.INPAINT,
        prompts=(WeightedPrompt("a red balloon"),),
        init_image=init,
        mask_image=mask,
        mask_source=source,
        seed=5,
    )
    result = await stability_backend.generate(request)
    (sent,) = stability_server.requests_for("/image-to-image/masking")
    assert sent.path == f"/v1/generation/{SDXL}/image-to-image/masking"
    assert sent.form == {
        "mask_source": wire,
        "text_prompts[0][text]": "a red balloon",
        "text_prompts[0][weight]": "1",
        "samples": "1",
        "seed": "5",
    }
    assert set(sent.files) == ({"init_image"} if alpha else {"init_image", "mask_image"})
    assert sent.files["init_image"].data == init.png
    if mask is not None:
        assert sent.files["mask_image"].data == mask.png
    assert result.images[0].seed == 5
    # a white mask (or a transparent image) repaints everything; a black-source mask of white keeps it
    pixel = _image(result.images[0].png).convert("RGB").getpixel((0, 0))
    assert (pixel == (0, 0, 255)) is (source is MaskSource.BLACK)


async def test_masking_fits_a_smaller_mask_and_rejects_other_shapes(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    init = _input((1024, 1024))

    def inpaint(mask: InputImage | None, source: MaskSource) -> GenerationRequest:
        return GenerationRequest(
            operation=Operation.INPAINT,
            prompts=(WeightedPrompt("a kite"),),
            init_image=init,
            mask_image=mask,
            mask_source=source,
        )

    with pytest.raises(InvalidRequest, match="same shape"):
        await stability_backend.generate(inpaint(_input((512, 256), (255,), "L"), MaskSource.WHITE))
    with pytest.raises(InvalidRequest, match="transparent"):
        await stability_backend.generate(inpaint(None, MaskSource.ALPHA))  # an opaque image
    assert stability_server.requests_for("/v1/generation/") == []

    await stability_backend.generate(inpaint(_input((512, 512), (255,), "L"), MaskSource.WHITE))
    (sent,) = stability_server.requests_for("/masking")
    assert _image(sent.files["mask_image"].data).size == (1024, 1024)


# --- upscale -------------------------------------------------------------------------------------


async def test_upscale_doubles_the_image(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    image = _input((640, 480), (10, 200, 30))
    result = await stability_backend.generate(
        GenerationRequest(operation=Operation.UPSCALE, init_image=image, upscale_factor=2)
    )
    (sent,) = stability_server.requests_for("/upscale")
    assert sent.path == "/v1/generation/esrgan-v1-x2plus/image-to-image/upscale"
    assert sent.form == {}
    assert set(sent.files) == {"image"} and sent.files["image"].data == image.png
    assert result.model == "esrgan-v1-x2plus"
    (out,) = result.images
    assert (out.width, out.height) == (1280, 960)
    assert _image(out.png).size == (1280, 960)


async def test_upscale_by_other_factor_sends_width(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    result = await stability_backend.generate(
        GenerationRequest(operation=Operation.UPSCALE, init_image=_input((256, 256)), upscale_factor=4)
    )
    (sent,) = stability_server.requests_for("/upscale")
    assert sent.form == {"width": "1024"}
    assert (result.images[0].width, result.images[0].height) == (1024, 1024)


async def test_upscale_over_the_pixel_limit_is_refused_before_calling(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    request = GenerationRequest(
        operation=Operation.UPSCALE, init_image=_input((1100, 1000)), upscale_factor=2
    )
    with pytest.raises(InvalidRequest) as caught:
        await stability_backend.generate(request)
    message = caught.value.user_message
    assert "4,194,304" in message and "1100x1000" in message and "2200x2000" in message
    assert stability_server.requests_for("/upscale") == []


# --- errors --------------------------------------------------------------------------------------


async def test_400_message_is_shown_to_the_user(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    with pytest.raises(BackendRejected) as caught:
        await stability_backend.generate(_imagine(sampler="K_BOGUS"))
    assert caught.value.user_message.startswith("Stability AI refused the request: sampler: must be one of")
    assert "\n" not in caught.value.user_message
    assert "HTTP 400 bad_request" in caught.value.log_detail

    stability_server.inject(
        status=400, message="invalid_prompts: One or more of the prompts\ncontains filtered words"
    )
    with pytest.raises(
        BackendRejected, match="invalid_prompts: One or more of the prompts contains filtered words"
    ):
        await stability_backend.generate(_imagine())
    assert len(stability_server.requests_for("/v1/generation/")) == 2  # a 400 is never retried


async def test_401_is_misconfiguration_without_the_key(
    stability_server: FakeStabilityServer, caplog: pytest.LogCaptureFixture
) -> None:
    bad_key = "sk-wrong-key-0123456789abcdef"
    caplog.set_level(logging.DEBUG)
    async with stability_backend_for(stability_server, api_key=bad_key) as backend:
        with pytest.raises(BackendMisconfigured) as caught:
            await backend.generate(_imagine())
    err = caught.value
    assert err.user_message == BackendMisconfigured.default_message
    assert "HTTP 401" in err.log_detail
    for text in (str(err), repr(err), err.log_detail, repr(err.__cause__), repr(err.__context__)):
        assert bad_key not in text
    assert len(stability_server.requests_for("/v1/generation/")) == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("services.")]
    assert any(getattr(r, "detail", "") == "Stability rejected the API key (401)" for r in warnings)
    _assert_not_logged(caplog, bad_key)


async def test_403_is_misconfiguration(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    stability_server.inject(status=403)
    with pytest.raises(BackendMisconfigured) as caught:
        await stability_backend.generate(_imagine())
    assert stability_server.api_key not in str(caught.value) + caught.value.log_detail
    assert len(stability_server.requests_for("/v1/generation/")) == 1


async def test_configured_engine_missing_is_rejected_clearly(stability_server: FakeStabilityServer) -> None:
    async with stability_backend_for(stability_server, engine="stable-diffusion-xl-1024-v2-0") as backend:
        with pytest.raises(BackendRejected, match="stable-diffusion-xl-1024-v2-0"):
            await backend.generate(_imagine())


async def test_429_with_retry_after_is_retried(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    stability_server.inject(status=429, retry_after=1)
    result = await stability_backend.generate(_imagine(seed=3))
    assert [i.seed for i in result.images] == [3]
    first, second = stability_server.requests_for("/text-to-image")
    assert (first.status, second.status) == (429, 200)
    assert second.time - first.time >= 0.9  # waited at least what Retry-After asked


async def test_multipart_body_is_rebuilt_for_a_retry(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    stability_server.inject(status=503)
    init = _input((1024, 1024))
    await stability_backend.generate(
        GenerationRequest(
            operation=Operation.REMIX, prompts=(WeightedPrompt("a fox"),), init_image=init, strength=0.5
        )
    )
    first, second = stability_server.requests_for("/image-to-image")
    assert (first.status, second.status) == (503, 200)
    assert first.files["init_image"].data == second.files["init_image"].data == init.png
    assert first.form == second.form and second.form["image_strength"] == "0.5"


@pytest.mark.parametrize("status", [500, 503])
async def test_5xx_exhausts_bounded_attempts(stability_server: FakeStabilityServer, status: int) -> None:
    stability_server.inject(status=status, times=10)
    async with stability_backend_for(stability_server, max_attempts=3) as backend:
        with pytest.raises(BackendUnavailable) as caught:
            await backend.generate(_imagine())
    assert len(stability_server.requests_for("/text-to-image")) == 3
    assert f"HTTP {status}" in caught.value.log_detail and "3 attempt" in caught.value.log_detail


async def test_timeout_becomes_unavailable(stability_server: FakeStabilityServer) -> None:
    stability_server.inject(delay_s=30, times=2)
    started = time.monotonic()
    async with stability_backend_for(stability_server, timeout_s=0.3, max_attempts=2) as backend:
        with pytest.raises(BackendUnavailable):
            await backend.generate(_imagine())
    assert time.monotonic() - started < 5
    assert len(stability_server.requests_for("/text-to-image")) == 2


async def test_connection_refused_becomes_unavailable() -> None:
    backend = StabilityV1Backend(
        "sk-unused", host=f"http://127.0.0.1:{_dead_port()}", max_attempts=2, retry_base_delay_s=0.01
    )
    try:
        await backend.start()  # offline at start: logged, not raised
        assert backend.limits == limits_for_engine(SDXL)
        with pytest.raises(BackendUnavailable) as caught:
            await backend.generate(_imagine())
        assert "2 attempt" in caught.value.log_detail
    finally:
        await backend.close()


async def test_progress_callback_failure_does_not_fail_the_job(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    async def broken(update: Progress) -> None:
        raise RuntimeError("chat edit failed")

    result = await stability_backend.generate(_imagine(), broken)
    assert len(result.images) == 1


# --- content filter ------------------------------------------------------------------------------


async def test_partially_filtered_images_come_back_empty(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    stability_server.inject(content_filtered=[1])
    result = await stability_backend.generate(_imagine(samples=3, seed=100))
    reasons = [i.finish_reason for i in result.images]
    assert reasons == [FinishReason.SUCCESS, FinishReason.CONTENT_FILTERED, FinishReason.SUCCESS]
    assert result.images[1].png == b""
    assert (result.images[1].width, result.images[1].height) == (1024, 1024)
    assert result.images[0].png and result.images[2].png


async def test_all_filtered_raises_content_filtered(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    stability_server.inject(content_filtered=True)
    with pytest.raises(ContentFiltered):
        await stability_backend.generate(_imagine(samples=2))


async def test_all_errors_raise_unavailable(
    stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend
) -> None:
    stability_server.inject(finish_error=True)
    with pytest.raises(BackendUnavailable):
        await stability_backend.generate(_imagine(samples=2))


# --- check ---------------------------------------------------------------------------------------


async def test_check_ok(stability_server: FakeStabilityServer, stability_backend: StabilityV1Backend) -> None:
    stability_server.credits = 12.3
    results = await stability_backend.check()
    assert [r.name for r in results] == ["stability api", "stability engine", "stability credits"]
    assert all(r.ok for r in results), results
    assert results[2].detail == "12.30 credits"
    assert SDXL in results[1].detail


async def test_check_reports_missing_engine_and_empty_balance(stability_server: FakeStabilityServer) -> None:
    stability_server.credits = 0
    async with stability_backend_for(stability_server, engine="stable-diffusion-xl-1024-v2-0") as backend:
        api, engine, credits = await backend.check()
    assert api.ok and not engine.ok and not credits.ok
    assert SDXL in engine.detail  # lists what is available


async def test_check_with_a_bad_key(
    stability_server: FakeStabilityServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bad_key = "sk-wrong-key-check-42"
    async with stability_backend_for(stability_server, api_key=bad_key) as backend:
        results = await backend.check()
    assert not any(r.ok for r in results)
    assert "401" in results[0].detail
    assert all(bad_key not in r.detail for r in results)
    _assert_not_logged(caplog, bad_key)


async def test_check_with_a_dead_port() -> None:
    backend = StabilityV1Backend("sk-unused", host=f"http://127.0.0.1:{_dead_port()}")
    try:
        results = await backend.check()  # works without start()
    finally:
        await backend.close()
    assert len(results) == 3 and not any(r.ok for r in results)
    assert "cannot reach" in results[0].detail


# --- secrets, sessions, retry policy -------------------------------------------------------------


async def test_key_never_reaches_logs(
    stability_server: FakeStabilityServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with stability_backend_for(stability_server, max_attempts=2) as backend:
        await backend.generate(_imagine())
        stability_server.inject(status=503, times=2)
        with pytest.raises(BackendUnavailable):
            await backend.generate(_imagine())
        stability_server.inject(status=400)
        with pytest.raises(BackendRejected):
            await backend.generate(_imagine())
        await backend.check()
        assert stability_server.api_key not in repr(backend)
    assert any(r.getMessage() == "backend.retry" for r in caplog.records)
    _assert_not_logged(caplog, stability_server.api_key)


async def test_given_session_is_left_open(stability_server: FakeStabilityServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with stability_backend_for(stability_server, session=session) as backend:
            await backend.generate(_imagine())
        assert not session.closed


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past


async def test_retry_policy_passes_other_errors_through() -> None:
    calls = 0

    async def attempt() -> int:
        nonlocal calls
        calls += 1
        raise InvalidRequest("nope")

    with pytest.raises(InvalidRequest):
        await call_with_retries(
            attempt, RetryPolicy(max_attempts=5, base_delay_s=0), backend="t", operation="t"
        )
    assert calls == 1

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise ConnectionResetError("reset")  # not an aiohttp error: not retried
        return calls

    calls = 0
    with pytest.raises(ConnectionResetError):
        await call_with_retries(
            flaky, RetryPolicy(max_attempts=5, base_delay_s=0), backend="t", operation="t"
        )

    async def slow() -> int:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TimeoutError
        return calls

    calls = 0
    assert (
        await call_with_retries(slow, RetryPolicy(max_attempts=3, base_delay_s=0), backend="t", operation="t")
        == 3
    )


async def test_fake_rejects_like_the_real_api(stability_server: FakeStabilityServer) -> None:
    """The fake's own validation, reached with a plain client (what other suites rely on)."""
    url = f"{stability_server.url}/v1/generation/{SDXL}/text-to-image"
    auth = {"Authorization": f"Bearer {stability_server.api_key}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text_prompts": [{"text": "x"}]}) as resp:
            assert resp.status == 401
            assert set(await resp.json()) == {"id", "name", "message"}
        async with session.post(
            url, json={"text_prompts": [{"text": "x"}], "width": 512, "height": 512}, headers=auth
        ) as resp:
            assert resp.status == 400
            assert (await resp.json())["name"] == "bad_request"
        async with session.post(
            url.replace(SDXL, "nope"), json={"text_prompts": [{"text": "x"}]}, headers=auth
        ) as resp:
            assert resp.status == 404
        async with session.post(url, json={"text_prompts": [], "samples": 1}, headers=auth) as resp:
            assert resp.status == 400
        async with session.post(
            url, json={"text_prompts": [{"text": "x"}], "samples": 2}, headers={**auth, "Accept": "image/png"}
        ) as resp:
            assert resp.status == 400
        async with session.post(
            url, json={"text_prompts": [{"text": "x"}]}, headers={**auth, "Accept": "image/png"}
        ) as resp:
            assert resp.status == 200 and resp.headers["Finish-Reason"] == "SUCCESS"
        async with session.get(f"{stability_server.url}/v1/user/account", headers=auth) as resp:
            assert resp.status == 200 and (await resp.json())["organizations"]
