"""``build()`` of each command: GenerationRequests from text, typed options and real image bytes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from commands import COMMANDS, Invocation, build_request
from commands.inpaint import NO_MASK_MESSAGE
from services.backends.base import BackendLimits
from services.errors import InvalidRequest, UnsupportedOption
from services.images import load_input_image_sync
from services.types import GenerationRequest, InputImage, MaskSource, Operation, SourceRef, WeightedPrompt
from tests.helpers.limits import ALL_OPS, FREE, SDXL


def png(width: int, height: int, *, transparent_box: bool = False, colour: str = "steelblue") -> bytes:
    """A real PNG; with ``transparent_box`` the centre quarter is fully transparent."""
    mode = "RGBA" if transparent_box else "RGB"
    img = Image.new(mode, (width, height), colour)
    if transparent_box:
        img.paste((0, 0, 0, 0), (width // 4, height // 4, 3 * width // 4, 3 * height // 4))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def mask_png(width: int, height: int) -> bytes:
    img = Image.new("L", (width, height), 0)
    img.paste(255, (0, 0, width // 2, height))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


@pytest.fixture(scope="module")
def photo() -> bytes:
    return png(1000, 700)


@pytest.fixture(scope="module")
def photo_with_hole() -> bytes:
    return png(800, 800, transparent_box=True)


async def build(
    command: str, text: str = "", limits: BackendLimits = SDXL, **kw: object
) -> GenerationRequest:
    return await COMMANDS[command].build(Invocation(text=text, **kw), limits)  # type: ignore[arg-type]


async def refused(command: str, text: str = "", limits: BackendLimits = SDXL, **kw: object) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        await build(command, text, limits, **kw)
    return info.value


# ---- /imagine ---------------------------------------------------------------------------------


async def test_imagine_full_request() -> None:
    request = await build(
        "imagine",
        "a castle::2 fog::-0.5 --ar 16:9 --n 2 --seed 7 --steps 40 --cfg 8 --style anime "
        "--sampler K_DPMPP_2M --model stable-diffusion-v1-6 --no blurry, text",
    )
    assert request == GenerationRequest(
        operation=Operation.IMAGINE,
        prompts=(
            WeightedPrompt("a castle", 2.0),
            WeightedPrompt("fog", -0.5),
            WeightedPrompt("blurry, text", -1.0),
        ),
        width=1344,
        height=768,
        aspect_ratio="16:9",
        samples=2,
        seed=7,
        steps=40,
        cfg_scale=8.0,
        style_preset="anime",
        sampler="K_DPMPP_2M",
        model="stable-diffusion-v1-6",
    )
    assert request.images_requested == 2


async def test_imagine_defaults_come_from_limits() -> None:
    request = await build("imagine", "a fox")
    assert (request.width, request.height) == SDXL.default_size
    assert request.samples == 1 and request.seed is None and request.aspect_ratio is None
    assert request.steps == SDXL.default_steps and request.cfg_scale == SDXL.default_cfg_scale
    assert request.style_preset is None and request.model is None
    assert request.init_image is None and request.strength is None


@pytest.mark.parametrize(
    ("ratio", "size"),
    [("3:2", (1216, 832)), ("1:1", (1024, 1024)), ("2:3", (832, 1216)), ("9:16", (768, 1344))],
)
async def test_imagine_ar_maps_to_sdxl_sizes(ratio: str, size: tuple[int, int]) -> None:
    request = await build("imagine", f"a fox --ar {ratio}")
    assert (request.width, request.height) == size
    assert request.aspect_ratio == ratio


async def test_imagine_free_size_and_exact_size() -> None:
    request = await build("imagine", "a fox --ar 1:1", FREE)
    assert (request.width, request.height) == (512, 512)
    request = await build("imagine", "a fox --size 768x512", FREE)
    assert (request.width, request.height, request.aspect_ratio) == (768, 512, None)


async def test_imagine_ar_and_size_together_refused() -> None:
    assert (
        str(await refused("imagine", "a fox --ar 16:9 --size 1024x1024"))
        == "Use either --ar or --size, not both."
    )


async def test_imagine_on_a_backend_that_takes_ratios() -> None:
    ratios = BackendLimits(operations=ALL_OPS, aspect_ratios=("1:1", "16:9", "9:16", "3:2", "2:3"))
    request = await build("imagine", "a fox --ar 1.8:1", ratios)
    assert request.aspect_ratio == "16:9" and request.width is None and request.height is None


async def test_imagine_typed_options_merge() -> None:
    request = await build(
        "imagine", "a fox --no fog", options={"samples": 3, "negative": "rain", "seed": "12"}
    )
    assert request.samples == 3 and request.seed == 12
    assert request.negative_prompt == "rain, fog"
    message = str(await refused("imagine", "a fox --n 2", options={"samples": 3}))
    assert "--n is set twice with different values" in message


async def test_imagine_empty_prompt() -> None:
    assert str(await refused("imagine", "--ar 16:9")) == "Please describe the image you want."


@pytest.mark.parametrize("command", ["imagine", "remix", "inpaint", "upscale"])
async def test_command_unavailable_on_backend(command: str) -> None:
    nothing = BackendLimits(operations=frozenset())
    with pytest.raises(UnsupportedOption) as info:
        await build(command, "a fox", nothing)
    assert str(info.value) == f"/{command} isn't available on this backend."


async def test_build_request_helper() -> None:
    request = await build_request("/imagine", Invocation(text="a fox"), SDXL)
    assert request.operation is Operation.IMAGINE


# ---- /remix -----------------------------------------------------------------------------------


async def test_remix_fits_upload_to_backend_and_keeps_strength_default(photo: bytes) -> None:
    request = await build("remix", "as a watercolour", images={"image": photo})
    assert request.operation is Operation.REMIX
    assert request.init_image is not None
    assert (request.init_image.width, request.init_image.height) == (1216, 832)  # nearest SDXL ratio
    assert size_of(request.init_image.png) == (1216, 832)
    assert (request.width, request.height) == (1216, 832)
    assert request.strength == SDXL.default_strength
    assert request.prompts == (WeightedPrompt("as a watercolour", 1.0),)


async def test_remix_flags(photo: bytes) -> None:
    request = await build(
        "remix", "as ink --strength 0.6 --n 2 --seed 5 --no colour", images={"image": photo}
    )
    assert request.strength == 0.6 and request.samples == 2 and request.seed == 5
    assert request.negative_prompt == "colour"


async def test_remix_from_a_stored_original_for_buttons(photo: bytes) -> None:
    original = load_input_image_sync(png(1024, 1024), SDXL)
    ref = SourceRef(job_id="job1", index=0)
    request = await build("remix", "at night", source_image=original, source=ref)
    assert request.init_image == original  # already an allowed size: unchanged
    assert request.source == ref


async def test_remix_needs_an_image_and_a_prompt(photo: bytes) -> None:
    assert str(await refused("remix", "at night")) == "/remix needs an image: please attach one."
    assert str(await refused("remix", "--strength 0.5", images={"image": photo})) == (
        "Please describe the image you want."
    )


async def test_remix_flag_errors_come_before_image_work() -> None:
    # Not an image at all, but the bad flag is reported first.
    message = str(await refused("remix", "a fox --strength 2", images={"image": b"not an image"}))
    assert message == "--strength must be between 0 and 1; you gave 2."


async def test_remix_rejects_a_text_file_posing_as_png() -> None:
    message = str(await refused("remix", "a fox", images={"image": b"hello, I am text\n" * 10}))
    assert "isn't an image I can read" in message


# ---- /inpaint ---------------------------------------------------------------------------------


async def test_inpaint_with_mask_defaults_to_white(photo: bytes) -> None:
    request = await build("inpaint", "a red door", images={"image": photo, "mask": mask_png(1000, 700)})
    assert request.operation is Operation.INPAINT
    assert request.mask_source is MaskSource.WHITE
    assert request.init_image is not None and request.mask_image is not None
    assert (request.mask_image.width, request.mask_image.height) == (
        request.init_image.width,
        request.init_image.height,
    )
    assert size_of(request.mask_image.png) == (1216, 832)


async def test_inpaint_mask_source_black(photo: bytes) -> None:
    request = await build(
        "inpaint", "a red door --mask-source black", images={"image": photo, "mask": mask_png(1000, 700)}
    )
    assert request.mask_source is MaskSource.BLACK


async def test_inpaint_alpha_without_mask(photo_with_hole: bytes) -> None:
    request = await build("inpaint", "a window", images={"image": photo_with_hole})
    assert request.mask_source is MaskSource.ALPHA
    assert request.mask_image is None
    assert request.init_image is not None and request.init_image.has_alpha
    assert (request.width, request.height) == (1024, 1024)


async def test_inpaint_opaque_image_without_mask(photo: bytes) -> None:
    assert str(await refused("inpaint", "a window", images={"image": photo})) == NO_MASK_MESSAGE
    assert NO_MASK_MESSAGE == "Upload a mask, or an image with transparent areas to repaint."


async def test_inpaint_mask_source_contradictions(photo: bytes, photo_with_hole: bytes) -> None:
    message = str(await refused("inpaint", "a window --mask-source white", images={"image": photo_with_hole}))
    assert message.startswith("--mask-source white needs a mask image.")
    message = str(
        await refused(
            "inpaint", "a window --mask-source alpha", images={"image": photo, "mask": mask_png(1000, 700)}
        )
    )
    assert "--mask-source alpha" in message and "mask you uploaded" in message


async def test_inpaint_mask_of_another_shape(photo: bytes) -> None:
    message = str(await refused("inpaint", "a window", images={"image": photo, "mask": mask_png(500, 500)}))
    assert "same shape" in message


async def test_inpaint_needs_prompt_and_image(photo_with_hole: bytes) -> None:
    assert str(await refused("inpaint", "", images={"image": photo_with_hole})) == (
        "Please describe the image you want."
    )
    assert str(await refused("inpaint", "a window")) == "/inpaint needs an image: please attach one."


# ---- /upscale ---------------------------------------------------------------------------------


async def test_upscale_default_factor() -> None:
    request = await build("upscale", "", images={"image": png(640, 512)})
    assert request.operation is Operation.UPSCALE
    assert request.upscale_factor == 2
    assert (request.width, request.height) == (1280, 1024)
    assert request.init_image is not None and (request.init_image.width, request.init_image.height) == (
        640,
        512,
    )
    assert request.prompts == ()


async def test_upscale_scale_flag_and_typed_option() -> None:
    request = await build("upscale", "--scale 4", FREE, images={"image": png(256, 256)})
    assert request.upscale_factor == 4 and (request.width, request.height) == (1024, 1024)
    request = await build("upscale", "", FREE, images={"image": png(256, 256)}, options={"scale": "4"})
    assert request.upscale_factor == 4


async def test_upscale_from_stored_original() -> None:
    original = InputImage(png=png(512, 512), width=512, height=512)
    ref = SourceRef(job_id="j", index=1)
    request = await build("upscale", "", source_image=original, source=ref)
    assert request.init_image == original and request.source == ref


async def test_upscale_refuses_oversized_result_before_any_backend_call() -> None:
    message = str(await refused("upscale", "", images={"image": png(2048, 2048)}))
    assert message == (
        "That image is too large to upscale 2×: the result would be 4096×4096 (16.8 MP); the limit is 4.2 MP."
    )


async def test_upscale_suggests_a_smaller_factor() -> None:
    message = str(await refused("upscale", "--scale 4", FREE, images={"image": png(1024, 1024)}))
    assert message.startswith(
        "That image is too large to upscale 4×: the result would be 4096×4096 (16.8 MP)"
    )
    assert message.endswith("Try --scale 2.")


async def test_upscale_refuses_other_flags_and_ignores_text() -> None:
    assert "--seed doesn't work with /upscale" in str(
        await refused("upscale", "--seed 4", images={"image": png(64, 64)})
    )
    request = await build("upscale", "bigger please", images={"image": png(64, 64)})
    assert request.prompts == ()
    assert str(await refused("upscale", "")) == "/upscale needs an image: please attach one."


async def test_legacy_engine_minimum_pixels_are_checked_before_calling() -> None:
    """Stability's 512-class engines need at least 512×512 pixels in all: refused here, with a suggestion."""
    from services.backends.stability import limits_for_engine

    limits = limits_for_engine("stable-diffusion-v1-6")
    with pytest.raises(InvalidRequest, match=r"at least 0\.26 MP.*Did you mean"):
        await COMMANDS["imagine"].build(Invocation(text="a fox --size 320x320"), limits)
    request = await COMMANDS["imagine"].build(Invocation(text="a fox --ar 21:9"), limits)
    assert request.width is not None and request.height is not None
    assert request.width * request.height >= 512 * 512
