"""``/cutout``: remove an image's background, leaving the subject on transparency.

::

    await build(Invocation(images={"image": png}), limits)

No prompt and no flags; the result is a PNG of the same size with a transparent background.
"""

from __future__ import annotations

from dataclasses import replace

from commands.building import configured_model, model_limits, parse_invocation, required_image
from commands.invocation import Invocation
from commands.options import IMAGE
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.types import GenerationRequest, Operation

__all__ = ["SPEC", "build"]


async def build(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    limits = model_limits(inv, SPEC, limits)  # the model this command runs on (EASEL_DEFAULT_MODELS)
    parse_invocation(inv, SPEC, limits)  # a flag that doesn't belong here gets its clear message
    image = await required_image(inv, limits, SPEC.name)
    return GenerationRequest(
        operation=Operation.CUTOUT,
        model=configured_model(Operation.CUTOUT, limits),
        width=image.width,
        height=image.height,
        init_image=image,
        source=inv.source,
    )


SPEC = CommandSpec(
    name="cutout",
    description="Remove the background of a picture, keeping the subject on transparency",
    options=(replace(IMAGE, help="The picture to cut out (PNG, JPEG or WebP)"),),
    build=build,
    operation=Operation.CUTOUT,
    needs_images=("image",),
)
