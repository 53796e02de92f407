"""``/remix``: image to image, guided by a prompt.

::

    await build(Invocation(text="as a watercolour --strength 0.5", images={"image": png}), limits)

The source is an upload (``images["image"]``) or a stored original (``source_image``, from a
button); it is fitted to a size the backend accepts, so the output has the source's shape.
"""

from __future__ import annotations

from dataclasses import replace

from commands.building import input_image, missing_image, sampling_fields
from commands.flags import resolve
from commands.invocation import Invocation
from commands.options import (
    CFG_SCALE,
    IMAGE,
    MODEL,
    NEGATIVE,
    PROMPT,
    SAMPLER,
    SAMPLES,
    SCHEDULER,
    SEED,
    STEPS,
    STRENGTH,
    STYLE,
)
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.images import fit_to_backend_async
from services.types import GenerationRequest, Operation

__all__ = ["SPEC", "VARY_STRENGTH", "build"]

#: How much of the source a V (variation) button keeps: enough to stay recognisably the same
#: picture, loose enough to differ. Shared by every front end.
VARY_STRENGTH = 0.65


async def build(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    SPEC.check_available(limits)
    parsed = resolve(inv, SPEC, limits)  # cheap checks first: no image work for a bad flag
    image = await input_image(inv, limits)
    if image is None:
        raise missing_image(SPEC.name)
    init = await fit_to_backend_async(image, limits)
    strength = parsed.get_float("strength", limits.default_strength)
    return GenerationRequest(
        operation=Operation.REMIX,
        prompts=parsed.prompts,
        width=init.width,
        height=init.height,
        strength=strength,
        init_image=init,
        source=inv.source,
        **sampling_fields(parsed, limits),
    )


SPEC = CommandSpec(
    name="remix",
    description="Make new images from one of yours, guided by a prompt",
    options=(
        PROMPT,
        replace(IMAGE, help="The picture to remix (PNG, JPEG or WebP)"),
        STRENGTH,
        SAMPLES,
        NEGATIVE,
        STYLE,
        SEED,
        STEPS,
        CFG_SCALE,
        SAMPLER,
        SCHEDULER,
        MODEL,
    ),
    build=build,
    operation=Operation.REMIX,
    needs_images=("image",),
)
