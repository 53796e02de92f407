"""Outpainting: canvas planning and padding (services.outpaint) and the GPU host round trip."""

from __future__ import annotations

import base64
import io
import random

import pytest
from PIL import Image, ImageChops

from services.backends.a1111 import A1111Backend
from services.errors import InvalidRequest
from services.outpaint import (
    fit_outpaint,
    margins_for_aspect_ratio,
    pad_canvas,
    paste_original,
    plan_outpaint,
)
from services.types import GenerationRequest, InputImage, Operation, OutpaintMargins, WeightedPrompt
from tests.fakes.a1111 import FakeA1111


def noisy_png(width: int, height: int, mode: str = "RGB", seed: int = 3) -> bytes:
    """Every pixel different, so an exact comparison means something."""
    rng = random.Random(seed)
    channels = len(mode)
    image = Image.frombytes(
        mode, (width, height), bytes(rng.randrange(256) for _ in range(width * height * channels))
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def open_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.mode == b.mode and a.size == b.size and ImageChops.difference(a, b).getbbox() is None


# ---- planning ------------------------------------------------------------------------------------


def test_canvas_is_rounded_up_and_the_extra_is_cropped_off() -> None:
    plan = plan_outpaint(100, 60, OutpaintMargins(left=20), size_multiple=8, max_side=2048)
    assert plan.canvas_size == (120, 64)  # 60 rounds up to 64: 2 px above, 2 below
    assert plan.original_box == (20, 2, 120, 62)
    assert plan.output_size == (120, 60)
    assert plan.crop_box == (0, 2, 120, 62)

    plan = plan_outpaint(100, 60, OutpaintMargins(right=13, up=5), size_multiple=8, max_side=2048)
    assert plan.canvas_size == (120, 72)  # extra goes to the sides being extended
    assert (plan.canvas_left, plan.canvas_right, plan.canvas_up, plan.canvas_down) == (0, 20, 12, 0)
    assert plan.output_size == (113, 65)


def test_plan_refuses_nothing_negative_and_too_big() -> None:
    with pytest.raises(InvalidRequest, match="where to extend"):
        plan_outpaint(100, 100, OutpaintMargins())
    with pytest.raises(InvalidRequest, match="negative"):
        plan_outpaint(100, 100, OutpaintMargins(left=-1))
    with pytest.raises(InvalidRequest, match=r"2100×1000.*2048 px per side"):
        plan_outpaint(1000, 1000, OutpaintMargins(right=1100), max_side=2048)


def test_margins_for_aspect_ratio() -> None:
    assert margins_for_aspect_ratio(100, 100, "16:9") == OutpaintMargins(left=39, right=39)
    assert margins_for_aspect_ratio(200, 100, "1:1") == OutpaintMargins(up=50, down=50)
    assert margins_for_aspect_ratio(100, 100, "3:1") == OutpaintMargins(left=100, right=100)
    with pytest.raises(InvalidRequest, match="already"):
        margins_for_aspect_ratio(160, 90, "16:9")
    with pytest.raises(InvalidRequest, match="aspect ratio"):
        margins_for_aspect_ratio(100, 100, "wide")


async def test_fit_outpaint_shrinks_a_photo_that_would_not_fit() -> None:
    photo = InputImage(noisy_png(400, 300), 400, 300)
    small, margins = await fit_outpaint(photo, OutpaintMargins(right=400), size_multiple=8, max_side=512)
    assert (small.width, small.height) == (252, 189)  # 800 px wide → 504 (512 minus rounding room)
    assert margins == OutpaintMargins(right=252)
    assert open_png(small.png).size == (252, 189)
    same, untouched = await fit_outpaint(photo, "16:9", size_multiple=8, max_side=2048)
    assert same is photo and untouched == OutpaintMargins(left=66, right=67)


def test_padding_stretches_the_edges_and_masks_the_new_area() -> None:
    original = noisy_png(40, 30)
    plan = plan_outpaint(40, 30, OutpaintMargins(left=8, down=10), size_multiple=8)
    canvas_png, mask_png = pad_canvas(original, plan)
    canvas, mask, src = open_png(canvas_png), open_png(mask_png), open_png(original)
    assert canvas.size == mask.size == plan.canvas_size == (48, 40)
    left, top, _right, bottom = plan.original_box
    assert same_pixels(canvas.crop(plan.original_box), src)
    for y in (0, 15, 29):  # left padding repeats the first column of its row
        assert canvas.getpixel((0, top + y)) == src.getpixel((0, y)) == canvas.getpixel((left - 1, top + y))
    assert canvas.getpixel((20, 39)) == canvas.getpixel((20, bottom - 1))  # bottom repeats the last row
    assert mask.mode == "L"
    assert mask.crop(plan.original_box).getextrema() == (0, 0)
    assert mask.getpixel((0, 0)) == 255 and mask.getpixel((30, 39)) == 255


def test_paste_back_restores_the_original_even_if_the_result_changed_it() -> None:
    original = noisy_png(40, 30, mode="RGBA")
    plan = plan_outpaint(40, 30, OutpaintMargins(up=6), size_multiple=8)
    repainted = Image.new("RGB", plan.canvas_size, (1, 2, 3))
    out = io.BytesIO()
    repainted.save(out, format="PNG")
    final = open_png(paste_original(out.getvalue(), original, plan))
    assert final.size == (40, 36) and final.mode == "RGBA"
    top = plan.margins.up
    assert same_pixels(final.crop((0, top, 40, top + 30)), open_png(original))  # alpha included
    assert final.getpixel((5, 0)) == (1, 2, 3, 255)


# ---- through the GPU host ------------------------------------------------------------------------


async def test_outpaint_keeps_the_original_pixels_exactly(
    gpu_backend: A1111Backend, a1111_server: FakeA1111
) -> None:
    original = noisy_png(100, 60)
    request = GenerationRequest(
        operation=Operation.OUTPAINT,
        prompts=(WeightedPrompt("more beach"),),
        init_image=InputImage(original, 100, 60),
        outpaint=OutpaintMargins(left=20, down=16),
        samples=2,
        seed=11,
    )
    result = await gpu_backend.generate(request)

    body = a1111_server.last("/sdapi/v1/img2img").json
    assert (body["width"], body["height"]) == (120, 80)  # 100+20 and 60+16 → 80 (multiple of 8)
    assert (body["inpainting_fill"], body["inpainting_mask_invert"], body["inpaint_full_res"]) == (
        1,
        0,
        False,
    )
    assert body["denoising_strength"] == pytest.approx(0.9)
    assert (body["batch_size"], body["seed"], body["prompt"]) == (2, 11, "more beach")
    mask = open_png(base64.b64decode(body["mask"]))
    assert mask.getpixel((5, 5)) == 255 and mask.getpixel((60, 30)) == 0

    assert [(i.width, i.height, i.seed) for i in result.images] == [(120, 76, 11), (120, 76, 12)]
    src = open_png(original)
    for image in result.images:
        final = open_png(image.png)
        assert final.size == (120, 76)
        assert same_pixels(final.crop((20, 0, 120, 60)), src)  # the original region, exactly
        # ...while the host's answer changed those pixels (as a real VAE round trip does).
        assert final.getpixel((5, 70)) != final.getpixel((25, 58))
    assert result.images[0].png != result.images[1].png


async def test_outpaint_needs_margins(gpu_backend: A1111Backend, a1111_server: FakeA1111) -> None:
    request = GenerationRequest(
        operation=Operation.OUTPAINT, init_image=InputImage(noisy_png(64, 64), 64, 64)
    )
    with pytest.raises(InvalidRequest, match="where to extend"):
        await gpu_backend.generate(request)
    assert not a1111_server.calls("/sdapi/v1/img2img")
