"""``/imagine``: text to image.

::

    await build(Invocation(text="a red fox in snow --ar 3:2 --n 2 --no blur"), limits)
"""

from __future__ import annotations

from commands.building import output_size, sampling_fields
from commands.flags import resolve
from commands.invocation import Invocation
from commands.options import (
    ASPECT_RATIO,
    CFG_SCALE,
    MODEL,
    NEGATIVE,
    PROMPT,
    SAMPLER,
    SAMPLES,
    SCHEDULER,
    SEED,
    SIZE,
    STEPS,
    STYLE,
)
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.types import GenerationRequest, Operation

__all__ = ["SPEC", "build"]


async def build(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    SPEC.check_available(limits)
    parsed = resolve(inv, SPEC, limits)
    width, height, ratio = output_size(parsed, limits)
    return GenerationRequest(
        operation=Operation.IMAGINE,
        prompts=parsed.prompts,
        width=width,
        height=height,
        aspect_ratio=ratio,
        source=inv.source,
        **sampling_fields(parsed, limits),
    )


SPEC = CommandSpec(
    name="imagine",
    description="Make images from a text prompt",
    options=(
        PROMPT,
        ASPECT_RATIO,
        SAMPLES,
        NEGATIVE,
        STYLE,
        SEED,
        SIZE,
        STEPS,
        CFG_SCALE,
        SAMPLER,
        SCHEDULER,
        MODEL,
    ),
    build=build,
    operation=Operation.IMAGINE,
)
