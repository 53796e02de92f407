"""``/outpaint``: extend an image beyond its borders.

::

    await build(Invocation(text="more beach --right 256", images={"image": png}), limits)
    await build(Invocation(text="--ar 16:9", images={"image": png}), limits)   # widen, centred

Give pixels per side (``--left --right --up --down``) or a target ``--ar``, not both. The
original pixels are kept exactly; only the new area is painted (the prompt, optional,
says what to paint there). When the extended picture would be larger than the backend
allows, image and margins are scaled down together (see :func:`services.outpaint.fit_outpaint`).
"""

from __future__ import annotations

from dataclasses import replace

from commands.building import generation_request, model_limits, parse_invocation, required_image
from commands.errors import OptionError
from commands.invocation import Invocation
from commands.options import ASPECT_RATIO, COMMON_OPTIONS, IMAGE, PROMPT, TUNING_OPTIONS, OptionSpec
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.outpaint import fit_outpaint
from services.types import GenerationRequest, Operation, OutpaintMargins

__all__ = ["DOWN", "LEFT", "RIGHT", "SIDES", "SPEC", "UP", "build"]


def _side(name: str, where: str) -> OptionSpec:
    return OptionSpec(
        name=name,
        kind="int",
        help=f"Pixels to add {where}",
        default=0,
        limit="outpaint_margin",  # the backend's own cap, so every front end offers the same range
        flag=name,
        metavar="PX",
        example="256",
    )


LEFT = _side("left", "on the left")
RIGHT = _side("right", "on the right")
UP = _side("up", "at the top")
DOWN = _side("down", "at the bottom")
SIDES = (LEFT, RIGHT, UP, DOWN)

NOWHERE_MESSAGE = "Tell me where to extend the image, e.g. --right 256 or --ar 16:9."


async def build(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    limits = model_limits(inv, SPEC, limits)  # --model may pick an engine with other limits
    parsed = parse_invocation(inv, SPEC, limits)
    sides = OutpaintMargins(*(parsed.get_int(o.name, 0) or 0 for o in SIDES))
    ratio = parsed.get_str("aspect_ratio")
    extend_sides = any((sides.left, sides.right, sides.up, sides.down))
    if ratio and extend_sides:
        raise OptionError("Use either --ar or --left/--right/--up/--down, not both.", option="aspect_ratio")
    if not ratio and not extend_sides:
        raise OptionError(NOWHERE_MESSAGE, option="right")
    image = await required_image(inv, limits, SPEC.name)
    fitted, margins = await fit_outpaint(
        image,
        ratio or sides,
        size_multiple=limits.size_multiple,
        max_side=limits.max_side,
        max_pixels=limits.max_pixels,
    )
    return generation_request(
        Operation.OUTPAINT,
        inv,
        parsed,
        limits,
        width=fitted.width + margins.left + margins.right,
        height=fitted.height + margins.up + margins.down,
        aspect_ratio=ratio,
        init_image=fitted,
        outpaint=margins,
    )


SPEC = CommandSpec(
    name="outpaint",
    description="Extend an image beyond its borders, keeping the original as it is",
    options=(
        replace(IMAGE, help="The picture to extend (PNG, JPEG or WebP)"),
        replace(
            PROMPT,
            required=False,
            help="What to paint in the new area. Flags work here too: --right 256 --seed 7",
        ),
        *SIDES,
        replace(ASPECT_RATIO, help="Extend to this aspect ratio, e.g. 16:9 (instead of pixels per side)"),
        *COMMON_OPTIONS,
        *TUNING_OPTIONS,
    ),
    build=build,
    operation=Operation.OUTPAINT,
    needs_images=("image",),
)
