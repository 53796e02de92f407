"""``/remix``: image to image, guided by a prompt.

::

    await build(Invocation(text="as a watercolour --strength 0.5", images={"image": png}), limits)

The source is an upload (``images["image"]``) or a stored original (``source_image``, from a
button); it is fitted to a size the backend accepts, so the output has the source's shape.
"""

from __future__ import annotations

from dataclasses import replace

from commands.building import generation_request, model_limits, parse_invocation, required_image
from commands.invocation import Invocation
from commands.options import COMMON_OPTIONS, IMAGE, PROMPT, STRENGTH, TUNING_OPTIONS
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.images import fit_to_backend_async
from services.types import GenerationRequest, Operation

__all__ = ["SPEC", "VARY_STRENGTH", "build"]

#: How much of the source a V (variation) button keeps: enough to stay recognisably the same
#: picture, loose enough to differ. Shared by every front end.
VARY_STRENGTH = 0.65


async def build(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    limits = model_limits(inv, SPEC, limits)  # --model may pick an engine with other limits
    parsed = parse_invocation(inv, SPEC, limits)  # cheap checks first: no image work for a bad flag
    init = await fit_to_backend_async(await required_image(inv, limits, SPEC.name), limits)
    return generation_request(
        Operation.REMIX,
        inv,
        parsed,
        limits,
        width=init.width,
        height=init.height,
        strength=parsed.get_float("strength", limits.default_strength),
        init_image=init,
    )


SPEC = CommandSpec(
    name="remix",
    description="Make new images from one of yours, guided by a prompt",
    options=(
        PROMPT,
        replace(IMAGE, help="The picture to remix (PNG, JPEG or WebP)"),
        STRENGTH,
        *COMMON_OPTIONS,
        *TUNING_OPTIONS,
    ),
    build=build,
    operation=Operation.REMIX,
    needs_images=("image",),
)
