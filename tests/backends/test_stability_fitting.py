"""Stability v2beta's fitting on its own: images within an endpoint's rules, bodies within budget.

The end-to-end case (a 2000² upload compressed under the fake's 10 MiB) lives in
test_stability_v2.py; here a small budget drives every step of the ladder quickly.
"""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from services.backends.stability.fitting import BODY_MARGIN_BYTES, check_image, fit_image, within_body_limit
from services.backends.stability.v2_call import FormFile, V2Call
from services.backends.stability.v2_wire import IMAGE_RULES, MAX_REQUEST_BYTES
from services.errors import InvalidRequest
from services.types import InputImage
from tests.helpers.images import colours, decode, input_image, png


def _noise_png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    """Incompressible pixels (seeded, so every run sends the same bytes)."""
    channels = len(mode)
    img = Image.frombytes(mode, size, random.Random(7).randbytes(size[0] * size[1] * channels))
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _call(image: bytes, *, mask: bytes | None = None, size: tuple[int, int] = (256, 256)) -> V2Call:
    files = [FormFile("image", image)]
    if mask is not None:
        files.append(FormFile("mask", mask))
    return V2Call(
        "inpaint",
        "/v2beta/stable-image/edit/inpaint",
        "stable-image-inpaint",
        size,
        (("prompt", "a kite"), ("output_format", "png")),
        tuple(files),
    )


async def test_a_body_within_budget_is_left_alone() -> None:
    call = _call(png((256, 256)))
    assert await within_body_limit(call) is call
    assert call.body_bytes < MAX_REQUEST_BYTES - BODY_MARGIN_BYTES


async def test_an_opaque_image_is_reencoded_as_jpeg_before_anything_is_scaled() -> None:
    call = _call(_noise_png((256, 256)))
    budget = call.body_bytes // 2
    fitted = await within_body_limit(call, budget_bytes=budget)
    image = fitted.files[0]
    assert fitted.body_bytes <= budget
    assert (image.field, image.content_type, image.filename) == ("image", "image/jpeg", "image.jpg")
    assert decode(image.data).size == (256, 256) and fitted.expected_size == (256, 256)
    assert fitted.fields == call.fields and fitted.path == call.path


async def test_transparency_survives_as_webp() -> None:
    call = _call(_noise_png((256, 256), "RGBA"))
    fitted = await within_body_limit(call, budget_bytes=call.body_bytes // 2)
    image = fitted.files[0]
    assert (image.content_type, image.filename) == ("image/webp", "image.webp")
    assert decode(image.data).mode == "RGBA"


async def test_scaling_down_takes_the_mask_along() -> None:
    mask_img = Image.new("L", (256, 256), 0)
    mask_img.paste(255, (0, 0, 128, 256))
    out = io.BytesIO()
    mask_img.save(out, "PNG")
    call = _call(_noise_png((256, 256)), mask=out.getvalue())
    budget = 20_000  # below the smallest JPEG of these 256² of noise: only scaling helps
    fitted = await within_body_limit(call, budget_bytes=budget)
    image, mask = fitted.files
    w, h = fitted.expected_size
    assert fitted.body_bytes <= budget and 64 <= w < 256 and w == h
    assert decode(image.data).size == (w, h) and image.content_type == "image/jpeg"
    scaled_mask = decode(mask.data)
    assert mask.field == "mask" and scaled_mask.size == (w, h)
    assert colours(scaled_mask) <= {0, 255}  # nearest neighbour: the edge stays hard


async def test_what_may_not_be_scaled_is_refused_when_compression_is_not_enough() -> None:
    call = _call(_noise_png((256, 256)))
    with pytest.raises(InvalidRequest, match="over 10 MiB even after compressing"):
        await within_body_limit(call, may_resize=False, budget_bytes=20_000)


def test_images_no_scaling_can_fix_are_refused_with_their_size() -> None:
    with pytest.raises(InvalidRequest, match=r"32×32; Stability AI needs at least 64 pixels per side"):
        check_image(input_image((32, 32)), IMAGE_RULES["inpaint"], "inpaint")
    with pytest.raises(InvalidRequest, match=r"1000×100, too long and thin for /replace.*1:2.5 and 2.5:1"):
        check_image(input_image((1000, 100)), IMAGE_RULES["replace"], "replace")
    check_image(input_image((1000, 100)), IMAGE_RULES["generate"], "remix")  # generate has no shape rule


async def test_fit_image_scales_down_to_the_endpoint_never_up() -> None:
    small = input_image((300, 200))
    assert await fit_image(small, IMAGE_RULES["upscale-fast"], "upscale") is small

    wide = input_image((2048, 1024), (0, 128, 255))
    fitted = await fit_image(wide, IMAGE_RULES["upscale-fast"], "upscale")  # at most 1536 per side, 1 Mpx
    assert (
        fitted.pixels <= IMAGE_RULES["upscale-fast"].max_pixels and max(fitted.width, fitted.height) <= 1536
    )
    assert abs(fitted.width / fitted.height - 2) < 0.01
    assert decode(fitted.png).size == (fitted.width, fitted.height)
    assert isinstance(fitted, InputImage) and fitted.has_alpha is False
