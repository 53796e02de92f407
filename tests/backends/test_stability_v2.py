"""StabilityV2Backend (v2beta Stable Image) through real HTTP against the fake Stability server.

Also /replace and /cutout end to end: their ``build()`` with the backend's limits, then the backend.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os

import aiohttp
import pytest
from PIL import Image

from commands import cutout, imagine, outpaint, remix, upscale
from commands import replace as replace_command
from commands.errors import OptionError, OptionUnsupported
from commands.invocation import Invocation
from services.backends.base import Backend, ResumableBackend
from services.backends.stability import StabilityV2Backend, known_models, limits_for_model
from services.errors import (
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
    ContentFiltered,
    InvalidRequest,
    UnsupportedOption,
)
from services.types import (
    FinishReason,
    GenerationRequest,
    InputImage,
    MaskSource,
    Operation,
    OutpaintMargins,
    Progress,
    WeightedPrompt,
)
from tests.fakes.stability import V2, FakeStabilityServer, stability_v2_backend_for
from tests.helpers.images import decode as _image
from tests.helpers.images import input_image as _input
from tests.helpers.images import png as _png
from tests.helpers.logs import assert_not_logged as _assert_not_logged
from tests.helpers.network import dead_port as _dead_port
from tests.helpers.requests import imagine as _imagine

GENERATE = "/v2beta/stable-image/generate/"
RATIOS = {"16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21"}


def _upscale(mode: str, size: tuple[int, int] = (256, 256), **kwargs: object) -> GenerationRequest:
    return GenerationRequest(
        operation=Operation.UPSCALE,
        init_image=_input(size),
        upscale_factor=4,
        extras=(("upscale_mode", mode),),
        **kwargs,  # type: ignore[arg-type]
    )


# --- limits -------------------------------------------------------------------------------------


def test_limits_follow_the_model() -> None:
    core = limits_for_model("core")
    assert set(core.aspect_ratios or ()) == RATIOS and core.allowed_sizes is None
    assert Operation.REMIX not in core.operations  # core has no image-to-image
    assert {Operation.IMAGINE, Operation.INPAINT, Operation.OUTPAINT, Operation.UPSCALE} <= core.operations
    assert {Operation.REPLACE, Operation.CUTOUT} <= core.operations
    assert core.samplers == () and core.schedulers == ()
    assert len(core.style_presets) == 17 and "anime" in core.style_presets
    assert core.seed == (0, 4_294_967_294) and core.samples == (1, 10)
    assert core.upscale_factors == (4,) and core.max_prompt_chars == 10_000
    assert core.models == known_models() and core.default_model == "core"

    sd3 = limits_for_model("sd3.5-large")
    assert Operation.REMIX in sd3.operations
    assert sd3.cfg_scale == (1.0, 10.0) and sd3.default_cfg_scale == 4.0
    assert limits_for_model("sd3.5-large-turbo").default_cfg_scale == 1.0
    assert Operation.REMIX in limits_for_model("ultra").operations
    assert set(known_models()) == {
        "core",
        "ultra",
        "sd3.5-large",
        "sd3.5-large-turbo",
        "sd3.5-medium",
        "sd3.5-flash",
    }

    only = limits_for_model("ultra", ["core"])  # the operator allows core; the default is always in
    assert only.models == ("ultra", "core")
    with pytest.raises(ValueError, match="sdxl"):
        limits_for_model("sdxl-v1")
    with pytest.raises(ValueError, match="unknown Stability model"):
        StabilityV2Backend("sk-x", model="sd4-mega")


def test_backend_satisfies_protocol_and_hides_key() -> None:
    backend = StabilityV2Backend("sk-super-secret-v2", organization="org-1", model="ultra")
    assert isinstance(backend, Backend)
    assert backend.name == "stability" and backend.model == "ultra" and isinstance(backend, ResumableBackend)
    assert "sk-super-secret-v2" not in repr(backend)
    assert "sk-super-secret-v2" not in repr(vars(backend))


# --- generate -----------------------------------------------------------------------------------


async def test_core_text_to_image_parameters(stability_server: FakeStabilityServer) -> None:
    updates: list[Progress] = []

    async def progress(update: Progress) -> None:
        updates.append(update)

    request = _imagine(
        prompts=(
            WeightedPrompt("a lighthouse on a cliff"),
            WeightedPrompt("storm clouds", 0.5),
            WeightedPrompt("fog", -1.0),
            WeightedPrompt("people", -1.0),
        ),
        aspect_ratio="16:9",
        samples=3,
        seed=41,
        style_preset="cinematic",
        steps=30,  # what commands fill in by default: not refused, not sent
        cfg_scale=7.0,
    )
    async with stability_v2_backend_for(
        stability_server, organization="org-7", client_id="easel-test", client_version="9.9.9"
    ) as backend:
        result = await backend.generate(request, progress)

    sent = stability_server.requests_for(GENERATE)
    assert len(sent) == 3  # one image per request
    assert all(r.path == "/v2beta/stable-image/generate/core" for r in sent)
    assert sorted(r.form["seed"] for r in sent) == ["41", "42", "43"]
    for r in sent:
        assert r.headers["Content-Type"].startswith("multipart/form-data")
        assert r.headers["Accept"] == "image/*"
        assert r.headers["Authorization"] == f"Bearer {stability_server.api_key}"
        assert r.headers["Stability-Client-ID"] == "easel-test"
        assert r.headers["Stability-Client-Version"] == "9.9.9"
        assert r.headers["Organization"] == "org-7"
        assert r.files == {}
        assert {k: v for k, v in r.form.items() if k != "seed"} == {
            "prompt": "a lighthouse on a cliff, (storm clouds:0.5)",
            "negative_prompt": "fog, people",
            "aspect_ratio": "16:9",
            "style_preset": "cinematic",
            "output_format": "png",
        }
    assert result.backend == "stability" and result.model == "core"
    assert [i.seed for i in result.images] == [41, 42, 43]
    assert all(i.finish_reason is FinishReason.SUCCESS for i in result.images)
    assert all((i.width, i.height) == (1344, 768) == _image(i.png).size for i in result.images)
    assert updates[0].fraction == 0.0 and updates[-1].fraction == 1.0
    assert [u.fraction for u in updates] == sorted(u.fraction for u in updates)


async def test_random_seed_comes_back_from_the_header(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    result = await stability_v2_backend.generate(_imagine())
    (sent,) = stability_server.requests_for(GENERATE)
    assert sent.form == {
        "prompt": "a lighthouse on a cliff",
        "aspect_ratio": "1:1",
        "output_format": "png",
    }
    assert result.images[0].seed > 0 and (result.images[0].width, result.images[0].height) == (1024, 1024)


async def test_unlisted_ratio_and_sizes_map_to_the_nearest_of_nine(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    await stability_v2_backend.generate(_imagine(aspect_ratio="16:10"))
    await stability_v2_backend.generate(_imagine(aspect_ratio="2:1"))
    await stability_v2_backend.generate(_imagine(width=832, height=1216))
    sent = [r.form["aspect_ratio"] for r in stability_server.requests_for(GENERATE)]
    assert sent == ["3:2", "16:9", "2:3"]


async def test_sd3_model_cfg_and_override(stability_server: FakeStabilityServer) -> None:
    async with stability_v2_backend_for(stability_server, model="sd3.5-large") as backend:
        await backend.generate(_imagine(cfg_scale=6.5))
        await backend.generate(_imagine(model="sd3.5-flash", cfg_scale=4.0))
        result = await backend.generate(_imagine(model="core", cfg_scale=4.0))
        with pytest.raises(InvalidRequest, match="sd4"):
            await backend.generate(_imagine(model="sd4"))
    large, flash, core = stability_server.requests_for(GENERATE)
    assert large.path.endswith("/generate/sd3") and large.form["model"] == "sd3.5-large"
    assert large.form["cfg_scale"] == "6.5"
    assert flash.path.endswith("/generate/sd3") and flash.form["model"] == "sd3.5-flash"
    assert "cfg_scale" not in flash.form  # 4 is what commands fill in: flash keeps its own default
    assert core.path.endswith("/generate/core") and "cfg_scale" not in core.form and "model" not in core.form
    assert result.model == "core"


async def test_model_override_from_core_omits_the_default_cfg(stability_server: FakeStabilityServer) -> None:
    async with stability_v2_backend_for(stability_server, model="core") as backend:
        limits = backend.limits
        await backend.generate(_imagine(model="sd3.5-medium", cfg_scale=limits.default_cfg_scale))
        with pytest.raises(InvalidRequest, match="between 1 and 10"):
            await backend.generate(_imagine(model="sd3.5-medium", cfg_scale=12.0))
    (sent,) = stability_server.requests_for(GENERATE)
    assert sent.form["model"] == "sd3.5-medium" and "cfg_scale" not in sent.form


async def test_remix_sends_one_minus_strength(stability_server: FakeStabilityServer) -> None:
    init = _input((640, 480), (0, 0, 255))
    remix_request = GenerationRequest(
        operation=Operation.REMIX,
        prompts=(WeightedPrompt("as a watercolour"), WeightedPrompt("blur", -1)),
        init_image=init,
        strength=0.25,  # easel: keep a quarter of the source
        seed=5,
    )
    async with stability_v2_backend_for(stability_server, model="sd3.5-large") as backend:
        result = await backend.generate(remix_request)
    async with stability_v2_backend_for(stability_server, model="ultra") as backend:
        await backend.generate(remix_request)
    sd3, ultra = stability_server.requests_for(GENERATE)
    assert sd3.form == {
        "prompt": "as a watercolour",
        "negative_prompt": "blur",
        "model": "sd3.5-large",
        "mode": "image-to-image",
        "strength": "0.75",  # Stability: change three quarters
        "output_format": "png",
        "seed": "5",
    }
    assert sd3.files["image"].data == init.png and "aspect_ratio" not in sd3.form
    assert ultra.path.endswith("/generate/ultra")
    assert ultra.form["strength"] == "0.75" and "mode" not in ultra.form and "model" not in ultra.form
    width, height = result.images[0].width, result.images[0].height
    assert abs(width / height - 640 / 480) < 0.1  # the source's shape


async def test_remix_on_core_is_refused_clearly(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    request = GenerationRequest(
        operation=Operation.REMIX, prompts=(WeightedPrompt("x"),), init_image=_input((256, 256))
    )
    with pytest.raises(UnsupportedOption, match="can't remix") as caught:
        await stability_v2_backend.generate(request)
    assert "ultra" in caught.value.user_message and "sd3.5-large" in caught.value.user_message
    with pytest.raises(OptionUnsupported, match="/remix isn't available"):
        await remix.build(
            Invocation(text="x", images={"image": _png((256, 256))}), stability_v2_backend.limits
        )
    assert stability_server.requests == []


async def test_flags_the_model_does_not_take_get_clear_messages(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    backend = stability_v2_backend
    cases = [
        (_imagine(sampler="K_EULER"), "--sampler"),
        (_imagine(scheduler="karras"), "--scheduler"),
        (_imagine(steps=45), "--steps"),
        (_imagine(cfg_scale=12.0), "--cfg"),
    ]
    for request, flag in cases:
        with pytest.raises(UnsupportedOption) as caught:
            await backend.generate(request)
        assert flag in caught.value.user_message and "core" in caught.value.user_message
    # and in commands, from the limits alone
    limits = backend.limits
    with pytest.raises(OptionUnsupported, match="--sampler isn't available"):
        await imagine.build(Invocation(text="a fox --sampler K_EULER"), limits)
    with pytest.raises(OptionUnsupported, match="--size isn't available"):
        await imagine.build(Invocation(text="a fox --size 1024x1024"), limits)
    built = await imagine.build(Invocation(text="a fox --ar 2:1 --no fog --style anime --n 2"), limits)
    assert (built.aspect_ratio, built.width, built.height, built.samples) == ("16:9", None, None, 2)
    assert stability_server.requests == []
    await backend.generate(built)  # what commands build, the backend takes
    assert len(stability_server.requests_for(GENERATE)) == 2


# --- edits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [MaskSource.WHITE, MaskSource.BLACK, MaskSource.ALPHA])
async def test_inpaint_mask_sources(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend, source: MaskSource
) -> None:
    alpha = source is MaskSource.ALPHA
    init = _input((320, 256), (0, 0, 255, 0) if alpha else (0, 0, 255), "RGBA" if alpha else "RGB")
    mask = None if alpha else _input((160, 128), (255,), "L")  # half size: resized to the image
    request = GenerationRequest(
        operation=Operation.INPAINT,
        prompts=(WeightedPrompt("a red balloon"), WeightedPrompt("text", -1)),
        init_image=init,
        mask_image=mask,
        mask_source=source,
        seed=9,
        extras=(("grow_mask", "12"),),
    )
    result = await stability_v2_backend.generate(request)
    (sent,) = stability_server.requests_for("/edit/inpaint")
    assert sent.form == {
        "prompt": "a red balloon",
        "negative_prompt": "text",
        "grow_mask": "12",
        "output_format": "png",
        "seed": "9",
    }
    assert set(sent.files) == ({"image"} if alpha else {"image", "mask"})
    assert sent.files["image"].data == init.png
    if not alpha:
        sent_mask = _image(sent.files["mask"].data)
        assert sent_mask.size == (320, 256)
        assert sent_mask.convert("L").getpixel((5, 5)) == (0 if source is MaskSource.BLACK else 255)
    out = _image(result.images[0].png).convert("RGB")
    assert out.size == (320, 256)
    repainted = out.getpixel((5, 5)) != (0, 0, 255)
    assert repainted is (source is not MaskSource.BLACK)


async def test_inpaint_refusals_before_sending(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    base = GenerationRequest(
        operation=Operation.INPAINT, prompts=(WeightedPrompt("a kite"),), init_image=_input((256, 256))
    )
    with pytest.raises(InvalidRequest, match="transparent"):
        await stability_v2_backend.generate(base)  # opaque image, no mask
    mask = _input((256, 256), (255,), "L")
    with pytest.raises(InvalidRequest, match="grow_mask must be a whole number between 0 and 100"):
        await stability_v2_backend.generate(
            GenerationRequest(
                operation=Operation.INPAINT,
                prompts=(WeightedPrompt("a kite"),),
                init_image=_input((256, 256)),
                mask_image=mask,
                extras=(("grow_mask", "101"),),
            )
        )
    with pytest.raises(UnsupportedOption, match="--model"):
        await stability_v2_backend.generate(
            GenerationRequest(
                operation=Operation.INPAINT,
                prompts=(WeightedPrompt("a kite"),),
                init_image=_input((256, 256)),
                mask_image=mask,
                model="ultra",
            )
        )
    assert stability_server.requests == []


async def test_outpaint_native_margins_and_original_pixels_kept(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    init = _input((200, 150), (10, 200, 30))
    request = GenerationRequest(
        operation=Operation.OUTPAINT,
        prompts=(WeightedPrompt("more meadow"),),
        init_image=init,
        outpaint=OutpaintMargins(left=64, right=0, up=0, down=40),
        seed=3,
        extras=(("creativity", "0.7"),),
    )
    result = await stability_v2_backend.generate(request)
    (sent,) = stability_server.requests_for("/edit/outpaint")
    assert sent.form == {
        "prompt": "more meadow",
        "left": "64",
        "down": "40",
        "creativity": "0.7",
        "output_format": "png",
        "seed": "3",
    }
    (image,) = result.images
    assert (image.width, image.height) == (264, 190) == _image(image.png).size
    out = _image(image.png).convert("RGB")
    # the fake re-renders the original area with a 10 % tint; easel pastes the exact pixels back
    assert out.getpixel((64 + 100, 75)) == (10, 200, 30)
    assert out.getpixel((10, 10)) != (10, 200, 30)  # the new area was painted
    with pytest.raises(UnsupportedOption, match="--no"):
        await stability_v2_backend.generate(
            GenerationRequest(
                operation=Operation.OUTPAINT,
                prompts=(WeightedPrompt("x"), WeightedPrompt("y", -1)),
                init_image=init,
                outpaint=OutpaintMargins(right=10),
            )
        )


async def test_outpaint_command_end_to_end(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    limits = stability_v2_backend.limits
    request = await outpaint.build(
        Invocation(text="a wider beach --ar 16:9", images={"image": _png((300, 300), (0, 90, 200))}), limits
    )
    result = await stability_v2_backend.generate(request)
    (sent,) = stability_server.requests_for("/edit/outpaint")
    assert sent.form == {"prompt": "a wider beach", "left": "116", "right": "117", "output_format": "png"}
    assert (result.images[0].width, result.images[0].height) == (533, 300)
    with pytest.raises(InvalidRequest, match="--right must be between 0 and 2000; you gave 2500"):
        await outpaint.build(Invocation(text="--right 2500", images={"image": _png((300, 300))}), limits)


async def test_replace_command_end_to_end(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    inv = Invocation(
        text="a golden retriever --grow-mask 6 --seed 11 --search the grey cat",
        images={"image": _png((400, 300), (90, 90, 90))},
    )
    request = await replace_command.build(inv, stability_v2_backend.limits)
    assert request.operation is Operation.REPLACE
    assert dict(request.extras) == {"search_prompt": "the grey cat", "grow_mask": "6"}
    result = await stability_v2_backend.generate(request)
    (sent,) = stability_server.requests_for("/edit/search-and-replace")
    assert sent.form == {
        "prompt": "a golden retriever",
        "search_prompt": "the grey cat",
        "grow_mask": "6",
        "output_format": "png",
        "seed": "11",
    }
    assert (result.images[0].width, result.images[0].height) == (400, 300)
    assert result.images[0].seed == 11

    with pytest.raises(OptionError, match="--search"):
        await replace_command.build(
            Invocation(text="a dog", images={"image": _png((64, 64))}), stability_v2_backend.limits
        )
    with pytest.raises(OptionError, match="grow-mask must be between 0 and 20"):
        await replace_command.build(
            Invocation(text="a dog --grow-mask 30 --search cat", images={"image": _png((64, 64))}),
            stability_v2_backend.limits,
        )
    with pytest.raises(InvalidRequest, match="--search"):
        await stability_v2_backend.generate(
            GenerationRequest(
                operation=Operation.REPLACE, prompts=(WeightedPrompt("a dog"),), init_image=_input((64, 64))
            )
        )


async def test_cutout_command_end_to_end(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    request = await cutout.build(
        Invocation(images={"image": _png((256, 192), (200, 100, 50))}), stability_v2_backend.limits
    )
    assert request.operation is Operation.CUTOUT
    result = await stability_v2_backend.generate(request)
    (sent,) = stability_server.requests_for("/edit/remove-background")
    assert sent.form == {"output_format": "png"} and set(sent.files) == {"image"}
    out = _image(result.images[0].png)
    assert out.mode == "RGBA" and out.size == (256, 192)
    assert out.getpixel((0, 0))[3] == 0 and out.getpixel((128, 96))[3] == 255  # type: ignore[index]
    with pytest.raises(OptionUnsupported):
        await cutout.build(
            Invocation(text="--seed 4", images={"image": _png((64, 64))}), stability_v2_backend.limits
        )


# --- upscale ------------------------------------------------------------------------------------


async def test_fast_upscale_is_four_times(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    result = await stability_v2_backend.generate(_upscale("fast", (300, 200)))
    (sent,) = stability_server.requests_for("/upscale/fast")
    assert sent.form == {"output_format": "png"}
    assert (result.images[0].width, result.images[0].height) == (1200, 800)
    assert result.model == "stable-image-upscale-fast"

    with pytest.raises(UnsupportedOption, match="4×"):
        await stability_v2_backend.generate(
            GenerationRequest(operation=Operation.UPSCALE, init_image=_input((300, 200)), upscale_factor=2)
        )
    with pytest.raises(InvalidRequest, match="1,048,576"):
        await stability_v2_backend.generate(_upscale("fast", (1100, 1000)))
    assert len(stability_server.requests_for("/upscale/")) == 1
    # the /upscale command offers the factor this backend has
    built = await upscale.build(Invocation(images={"image": _png((256, 128))}), stability_v2_backend.limits)
    assert built.upscale_factor == 4
    result = await stability_v2_backend.generate(built)
    assert (result.images[0].width, result.images[0].height) == (1024, 512)
    with pytest.raises(OptionError, match="too large to upscale"):
        await upscale.build(Invocation(images={"image": _png((1100, 1000))}), stability_v2_backend.limits)


async def test_conservative_upscale_fields(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    request = GenerationRequest(
        operation=Operation.UPSCALE,
        init_image=_input((512, 512)),
        upscale_factor=4,
        seed=8,
        prompts=(WeightedPrompt("crisp details"),),
        extras=(("upscale_mode", "conservative"), ("creativity", "0.3")),
    )
    result = await stability_v2_backend.generate(request)
    (sent,) = stability_server.requests_for("/upscale/conservative")
    assert sent.form == {
        "prompt": "crisp details",  # the user's words: the API requires them and they steer the result
        "creativity": "0.3",
        "seed": "8",
        "output_format": "png",
    }
    assert (result.images[0].width, result.images[0].height) == (2048, 2048)
    with pytest.raises(InvalidRequest, match=r"creativity must be a number between 0\.2 and 0\.5"):
        await stability_v2_backend.generate(
            GenerationRequest(
                operation=Operation.UPSCALE,
                init_image=_input((512, 512)),
                upscale_factor=4,
                prompts=(WeightedPrompt("crisp details"),),
                extras=(("upscale_mode", "conservative"), ("creativity", "0.9")),
            )
        )


async def test_creative_upscale_polls_until_done(stability_server: FakeStabilityServer) -> None:
    updates: list[Progress] = []
    tokens: list[str] = []

    async def progress(update: Progress) -> None:
        updates.append(update)

    async def save(token: str) -> None:
        tokens.append(token)

    request = _upscale("creative", prompts=(WeightedPrompt("crisp old photo"),), seed=4)
    async with stability_v2_backend_for(stability_server) as backend:
        result = await backend.generate_resumable(request, progress, resume_token=None, on_resume_token=save)
    (submit,) = stability_server.requests_for("/upscale/creative")
    assert submit.form == {"prompt": "crisp old photo", "seed": "4", "output_format": "png"}
    assert submit.headers["Accept"] == "application/json"
    polls = stability_server.requests_for("/v2beta/results/")
    assert [p.status for p in polls] == [202, 202, 202, 200]
    assert tokens == [polls[0].path.rsplit("/", 1)[1]]
    assert (result.images[0].width, result.images[0].height) == (2048, 2048)
    assert result.images[0].seed == 4
    assert any(u.message == "Upscaling (creative)…" and 0 < u.fraction < 1 for u in updates)
    assert updates[-1].fraction == 1.0


async def test_creative_upscale_survives_a_restart(stability_server: FakeStabilityServer) -> None:
    """Submit, get cut off while polling, then a new backend resumes from the saved id: paid once."""
    stability_server.result_polls = 10_000
    saved: list[str] = []

    async def save(token: str) -> None:
        saved.append(token)

    request = _upscale("creative", prompts=(WeightedPrompt("sharper"),))
    async with stability_v2_backend_for(stability_server) as first:
        task = asyncio.create_task(
            first.generate_resumable(request, None, resume_token=None, on_resume_token=save)
        )
        for _ in range(500):
            if len(stability_server.requests_for("/v2beta/results/")) >= 2:
                break
            await asyncio.sleep(0.01)
        task.cancel()  # the process stops
        with pytest.raises(asyncio.CancelledError):
            await task
    (token,) = saved
    stability_server.results[token].polls_left = 2
    async with stability_v2_backend_for(stability_server) as second:
        result = await second.generate_resumable(request, None, resume_token=token, on_resume_token=save)
    assert len(stability_server.requests_for("/upscale/creative")) == 1  # never paid twice
    assert saved == [token]
    assert [p.status for p in stability_server.requests_for("/v2beta/results/")][-3:] == [202, 202, 200]
    assert (result.images[0].width, result.images[0].height) == (2048, 2048)


async def test_expired_resume_token_submits_afresh(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    saved: list[str] = []

    async def save(token: str) -> None:
        saved.append(token)

    request = _upscale("creative", prompts=(WeightedPrompt("sharper"),))
    result = await stability_v2_backend.generate_resumable(
        request, None, resume_token="0" * 64, on_resume_token=save
    )
    assert stability_server.requests_for("/v2beta/results/")[0].status == 404
    assert len(stability_server.requests_for("/upscale/creative")) == 1 and len(saved) == 1
    assert result.images[0].width == 2048
    await stability_v2_backend.generate_resumable(
        request, None, resume_token="../../v1/user/balance", on_resume_token=None
    )  # not a token: ignored
    assert not any("balance" in r.path for r in stability_server.requests)


# --- errors -------------------------------------------------------------------------------------


async def test_content_moderation_and_filtered_images(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    with pytest.raises(ContentFiltered):
        await stability_v2_backend.generate(_imagine(prompts=(WeightedPrompt("a forbidden-fruit tree"),)))
    assert [r.status for r in stability_server.requests_for(GENERATE)] == [403]

    stability_server.inject(content_filtered=True, path=V2)  # one of three: finish-reason CONTENT_FILTERED
    result = await stability_v2_backend.generate(_imagine(samples=3, seed=100))
    reasons = sorted(i.finish_reason.value for i in result.images)
    assert reasons == ["CONTENT_FILTERED", "SUCCESS", "SUCCESS"]
    filtered = next(i for i in result.images if i.finish_reason is FinishReason.CONTENT_FILTERED)
    assert filtered.png == b"" and (filtered.width, filtered.height) == (1024, 1024)

    stability_server.inject(content_filtered=True, path=V2, times=2)
    with pytest.raises(ContentFiltered):
        await stability_v2_backend.generate(_imagine(samples=2))


@pytest.mark.parametrize(
    ("status", "name", "message", "expected"),
    [
        (
            400,
            None,
            "prompt: must not\nbe offensive",
            "Stability AI refused the request: prompt: must not be offensive",
        ),
        (
            422,
            "invalid_language",
            "English is the only supported language for this service.",
            "Stability AI couldn't use this request: English is the only supported language for this service.",
        ),
        (413, None, None, "too large"),
    ],
)
async def test_rejections_are_one_readable_line(
    stability_server: FakeStabilityServer,
    stability_v2_backend: StabilityV2Backend,
    status: int,
    name: str | None,
    message: str | None,
    expected: str,
) -> None:
    stability_server.inject(status=status, name=name, message=message, path=V2)
    with pytest.raises(BackendRejected) as caught:
        await stability_v2_backend.generate(_imagine())
    text = caught.value.user_message
    assert expected in text and "\n" not in text
    assert f"HTTP {status}" in caught.value.log_detail
    assert len(stability_server.requests_for(GENERATE)) == 1  # never retried


async def test_oversized_upload_is_compressed_not_sent_as_is(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    noise = Image.frombytes("RGB", (2000, 2000), os.urandom(2000 * 2000 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=1)
    big = InputImage(png=out.getvalue(), width=2000, height=2000)
    assert len(big.png) > 10 * 1024 * 1024
    request = GenerationRequest(
        operation=Operation.REPLACE,
        prompts=(WeightedPrompt("a kite"),),
        init_image=big,
        extras=(("search_prompt", "the bird"),),
    )
    result = await stability_v2_backend.generate(request)
    (sent,) = stability_server.requests_for("/search-and-replace")
    assert sent.status == 200 and sent.files["image"].size < 10 * 1024 * 1024
    assert sent.files["image"].content_type == "image/jpeg"
    assert (result.images[0].width, result.images[0].height) == (2000, 2000)


async def test_fake_refuses_bodies_over_10_mib(stability_server: FakeStabilityServer) -> None:
    form = aiohttp.FormData()
    big = io.BytesIO(b"\0" * (10 * 1024 * 1024 + 1))
    form.add_field("image", big, filename="x.png", content_type="image/png")
    form.add_field("output_format", "png")
    headers = {"Authorization": f"Bearer {stability_server.api_key}", "Accept": "image/*"}
    async with aiohttp.ClientSession() as session:
        url = f"{stability_server.url}/v2beta/stable-image/edit/remove-background"
        async with session.post(url, data=form, headers=headers) as resp:
            assert resp.status == 413
            body = await resp.json()
    assert body["name"] == "payload_too_large" and body["errors"]


async def test_429_pauses_everybody_then_succeeds(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    """A 429 (another process on the key?) holds back this job's retry *and* other jobs' requests."""
    stability_server.inject(status=429, retry_after=0.4, path=V2)
    first = asyncio.create_task(stability_v2_backend.generate(_imagine(seed=1)))
    for _ in range(300):
        if any(r.status == 429 for r in stability_server.requests):
            break
        await asyncio.sleep(0.01)
    second = await stability_v2_backend.generate(_imagine(seed=2))  # another job, after the 429
    assert len((await first).images) == 1 and len(second.images) == 1
    sent = stability_server.requests_for(GENERATE)
    assert [r.status for r in sent] == [429, 200, 200]
    assert all(r.time - sent[0].time >= 0.35 for r in sent[1:])
    assert {r.form["seed"] for r in sent[1:]} == {"1", "2"}


async def test_5xx_exhausts_bounded_attempts(stability_server: FakeStabilityServer) -> None:
    stability_server.inject(status=503, times=10, path=V2)
    async with stability_v2_backend_for(stability_server, max_attempts=3) as backend:
        with pytest.raises(BackendUnavailable) as caught:
            await backend.generate(_imagine())
    assert len(stability_server.requests_for(GENERATE)) == 3 and "3 attempt" in caught.value.log_detail


async def test_bad_key_is_misconfiguration_and_never_logged(
    stability_server: FakeStabilityServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bad_key = "sk-wrong-v2-key-0123456789"
    async with stability_v2_backend_for(stability_server, api_key=bad_key) as backend:
        with pytest.raises(BackendMisconfigured) as caught:
            await backend.generate(_imagine())
        results = await backend.check()
    for text in (str(caught.value), caught.value.log_detail, *(r.detail for r in results)):
        assert bad_key not in text
    assert "401" in caught.value.log_detail and "401" in results[0].detail
    assert not results[0].ok
    _assert_not_logged(caplog, bad_key)
    _assert_not_logged(caplog, stability_server.api_key)


# --- check and balance ----------------------------------------------------------------------------


async def test_check_and_balance(
    stability_server: FakeStabilityServer, stability_v2_backend: StabilityV2Backend
) -> None:
    stability_server.credits = 12.3
    assert await stability_v2_backend.balance() == 12.3
    api, model, credits = await stability_v2_backend.check()
    assert api.ok and model.ok and credits.ok
    assert credits.detail == "12.30 credits" and "core" in model.detail
    stability_server.credits = 0
    *_, empty = await stability_v2_backend.check()
    assert not empty.ok and "topped up" in empty.detail


async def test_check_with_a_dead_port() -> None:
    backend = StabilityV2Backend("sk-unused", host=f"http://127.0.0.1:{_dead_port()}")
    try:
        api, _model, credits = await backend.check()
    finally:
        await backend.close()
    assert not api.ok and "cannot reach" in api.detail and not credits.ok


async def test_given_session_is_left_open(stability_server: FakeStabilityServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with stability_v2_backend_for(stability_server, session=session) as backend:
            await backend.generate(_imagine(prompts=(WeightedPrompt("ein Leuchtturm, 灯台"),)))
        assert not session.closed
    (sent,) = stability_server.requests_for(GENERATE)
    assert sent.form["prompt"] == "ein Leuchtturm, 灯台"


# --- the fake validates like the real API -----------------------------------------------------------


async def test_fake_v2_validation(stability_server: FakeStabilityServer) -> None:
    auth = {"Authorization": f"Bearer {stability_server.api_key}", "Accept": "image/*"}
    url = stability_server.url + "/v2beta/stable-image"

    def form(**fields: str | bytes) -> aiohttp.FormData:
        data = aiohttp.FormData(default_to_multipart=True)
        for name, value in fields.items():
            if isinstance(value, bytes):
                data.add_field(name, value, filename=f"{name}.png", content_type="image/png")
            else:
                data.add_field(name, value)
        return data

    async def post(
        path: str, headers: dict[str, str] | None = None, **fields: str | bytes
    ) -> tuple[int, dict]:
        async with session.post(url + path, data=form(**fields), headers=headers or auth) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, {"finish-reason": resp.headers["finish-reason"], "seed": resp.headers["seed"]}

    async with aiohttp.ClientSession() as session:
        status, body = await post("/generate/core", headers={"Accept": "image/*"}, prompt="x")
        assert status == 401 and set(body) == {"id", "name", "errors"}
        assert (await post("/generate/core"))[1]["errors"] == ["prompt: is required"]
        assert (await post("/generate/core", prompt="x", steps="30"))[1]["errors"] == ["steps: unknown field"]
        assert (await post("/generate/core", prompt="x", aspect_ratio="4:3"))[0] == 400
        assert (await post("/generate/core", prompt="x", seed="4294967295"))[0] == 400
        assert (await post("/generate/sd3", prompt="x", mode="image-to-image", image=_png((64, 64))))[
            0
        ] == 400
        assert (await post("/generate/sd3", prompt="x", model="sd3-huge"))[0] == 400
        assert (await post("/generate/sd3", prompt="x", cfg_scale="11"))[0] == 400
        assert (await post("/generate/core", prompt="a castle, (fog:2)"))[1]["errors"] == [
            "prompt: the weight of (fog:2) must be between 0 and 1"
        ]
        assert (await post("/generate/core", prompt="a castle, (fog:0.5)"))[0] == 200
        assert (await post("/generate/sd3", prompt="x", model="sd3.5-flash"))[0] == 200
        status, body = await post("/generate/core", prompt="x", seed="17")
        assert status == 200 and body == {"finish-reason": "SUCCESS", "seed": "17"}
        status, body = await post("/upscale/fast", image=_png((2000, 600)))
        assert status == 400 and "image" in body["errors"][0]
        status, body = await post("/edit/outpaint", image=_png((64, 64)))
        assert status == 400 and "at least one" in body["errors"][0]
        async with session.post(
            url + "/generate/core", data=form(prompt="x"), headers={**auth, "Accept": "application/json"}
        ) as resp:
            body = await resp.json()
            assert set(body) == {"image", "finish_reason", "seed"} and body["finish_reason"] == "SUCCESS"
        status, body = await post("/upscale/creative", prompt="x", image=_png((128, 128)))
        assert status == 200 and set(body) == {"id"}
        result_url = f"{stability_server.url}/v2beta/results/{body['id']}"
        async with session.get(result_url, headers={"Authorization": "Bearer sk-someone-else"}) as resp:
            assert resp.status in (401, 404)  # another key never sees it
        async with session.get(result_url, headers=auth) as resp:  # Accept: image/* is not in the OpenAPI
            assert resp.status == 400 and "accept" in (await resp.json())["errors"][0]
        async with session.get(result_url, headers={**auth, "Accept": "*/*"}) as resp:
            assert resp.status == 202 and (await resp.json())["status"] == "in-progress"
