"""The /describe and /outpaint commands: options, validation, the request they build."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from commands import describe, outpaint
from commands.errors import OptionError
from commands.invocation import Invocation
from services.backends.a1111 import A1111Backend
from services.backends.base import BackendLimits
from services.errors import UnsupportedOption
from services.types import InputImage, Operation, OutpaintMargins, SourceRef, WeightedPrompt
from tests.fakes.a1111 import FakeA1111
from tests.helpers.images import png

FREE = BackendLimits(
    operations=frozenset(Operation), size_multiple=8, min_side=64, max_side=2048, max_pixels=2048 * 2048
)
NO_EXTRAS = BackendLimits(operations=frozenset({Operation.IMAGINE, Operation.REMIX}))


# ---- /describe -----------------------------------------------------------------------------------


async def test_describe_builds_from_an_upload_and_round_trips(
    gpu_backend: A1111Backend, a1111_server: FakeA1111
) -> None:
    request = await describe.build(Invocation(images={"image": png((96, 64))}), gpu_backend.limits)
    assert request.operation is Operation.DESCRIBE
    assert request.init_image is not None and (request.init_image.width, request.init_image.height) == (
        96,
        64,
    )
    assert request.images_requested == 1
    result = await gpu_backend.generate(request)
    assert result.text == "a painting of a 96x64 test pattern, trending on artstation"
    assert a1111_server.last("/sdapi/v1/interrogate").json["model"] == "clip"


async def test_describe_from_a_stored_original() -> None:
    stored = InputImage(png((64, 64)), 64, 64)
    source = SourceRef("job1", 0)
    request = await describe.build(Invocation(source_image=stored, source=source), FREE)
    assert request.init_image is stored and request.source == source


async def test_describe_elsewhere_is_clearly_unavailable() -> None:
    with pytest.raises(UnsupportedOption, match=r"/describe isn't available on this backend"):
        await describe.build(Invocation(images={"image": png((64, 64))}), NO_EXTRAS)
    assert not describe.SPEC.available_on(NO_EXTRAS)


async def test_describe_needs_an_image_and_takes_no_flags() -> None:
    with pytest.raises(OptionError, match="needs an image"):
        await describe.build(Invocation(), FREE)
    with pytest.raises(OptionError, match="--seed"):
        await describe.build(Invocation(text="--seed 4", images={"image": png((64, 64))}), FREE)


# ---- /outpaint -----------------------------------------------------------------------------------


async def test_outpaint_with_pixels_per_side() -> None:
    inv = Invocation(
        text="more sand --right 256 --up 64 --seed 3 --no people",
        images={"image": png((512, 384))},
    )
    request = await outpaint.build(inv, FREE)
    assert request.operation is Operation.OUTPAINT
    assert request.outpaint == OutpaintMargins(right=256, up=64)
    assert (request.width, request.height) == (768, 448)
    assert request.prompts == (WeightedPrompt("more sand"), WeightedPrompt("people", -1.0))
    assert request.seed == 3 and request.aspect_ratio is None


async def test_outpaint_to_an_aspect_ratio_with_typed_options() -> None:
    inv = Invocation(options={"aspect_ratio": "16:9", "samples": 2}, images={"image": png((512, 512))})
    request = await outpaint.build(inv, FREE)
    assert request.outpaint == OutpaintMargins(left=199, right=199)
    assert (request.width, request.height) == (910, 512)
    assert request.samples == 2 and request.prompts == ()  # the prompt is optional here


async def test_outpaint_shrinks_a_big_photo_to_fit(a1111_server: FakeA1111) -> None:
    small = BackendLimits(
        operations=frozenset(Operation), size_multiple=8, min_side=64, max_side=1024, max_pixels=1024**2
    )
    request = await outpaint.build(Invocation(text="--ar 2:1", images={"image": png((1600, 1200))}), small)
    assert request.init_image is not None and request.outpaint is not None
    assert request.width is not None and request.width <= 1024
    assert request.width / (request.height or 1) == pytest.approx(2.0, rel=0.01)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--ar 16:9 --left 10", "either --ar or --left"),
        ("just a prompt", "where to extend"),
        ("--left 5000", "between 0 and 4096"),
        ("--right 64 --style anime", "--style isn't available on this backend"),
        ("--right 64 --strength 0.5", "--strength doesn't work with /outpaint"),
    ],
)
async def test_outpaint_refusals(text: str, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        await outpaint.build(Invocation(text=text, images={"image": png((64, 64))}), FREE)


async def test_outpaint_refused_on_a_backend_without_it() -> None:
    with pytest.raises(UnsupportedOption, match="/outpaint isn't available"):
        await outpaint.build(Invocation(text="--right 64", images={"image": png((64, 64))}), NO_EXTRAS)


async def test_outpaint_command_to_gpu_host_end_to_end(gpu_backend: A1111Backend) -> None:
    inv = Invocation(
        text="a wider view --left 40 --right 40", images={"image": png((128, 96), (20, 90, 200))}
    )
    request = await outpaint.build(inv, gpu_backend.limits)
    result = await gpu_backend.generate(request)
    final = Image.open(io.BytesIO(result.images[0].png))
    assert final.size == (208, 96)
    assert final.convert("RGB").crop((40, 0, 168, 96)).getcolors() == [(128 * 96, (20, 90, 200))]
