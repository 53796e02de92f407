"""``/describe``: turn an image into a prompt (the backend's interrogator, e.g. CLIP).

::

    request = await build(Invocation(images={"image": png}), limits)
    result = await backend.generate(request)   # GenerationResult(images=(), text="a painting of …")

No prompt is taken. Backends without :attr:`Operation.DESCRIBE` (``limits.operations``)
get a clear "not available on this backend" before anything is uploaded or charged.
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
    parse_invocation(inv, SPEC, limits)  # refuses stray flags; there is no prompt to keep
    image = await required_image(inv, limits, SPEC.name)
    return GenerationRequest(
        operation=Operation.DESCRIBE,
        init_image=image,
        source=inv.source,
        model=configured_model(Operation.DESCRIBE, limits),
    )


SPEC = CommandSpec(
    name="describe",
    description="Describe an image as a prompt you can reuse with /imagine",
    options=(replace(IMAGE, help="The picture to describe (PNG, JPEG or WebP)"),),
    build=build,
    operation=Operation.DESCRIBE,
    needs_images=("image",),
)
