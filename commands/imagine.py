"""``/imagine``: text to image.

::

    await build(Invocation(text="a red fox in snow --ar 3:2 --n 2 --no blur"), limits)
"""

from __future__ import annotations

from commands.building import generation_request, model_limits, output_size, parse_invocation
from commands.invocation import Invocation
from commands.options import ASPECT_RATIO, COMMON_OPTIONS, PROMPT, SIZE, TUNING_OPTIONS
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.types import GenerationRequest, Operation

__all__ = ["SPEC", "build"]


async def build(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    limits = model_limits(inv, SPEC, limits)  # --model may pick an engine with other limits
    parsed = parse_invocation(inv, SPEC, limits)
    width, height, ratio = output_size(parsed, limits)
    return generation_request(
        Operation.IMAGINE, inv, parsed, limits, width=width, height=height, aspect_ratio=ratio
    )


SPEC = CommandSpec(
    name="imagine",
    description="Make images from a text prompt",
    options=(PROMPT, ASPECT_RATIO, *COMMON_OPTIONS, SIZE, *TUNING_OPTIONS),
    build=build,
    operation=Operation.IMAGINE,
)
