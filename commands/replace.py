"""``/replace``: swap one thing in a picture for another (Stability AI's search-and-replace).

::

    await build(Invocation(text="a golden retriever --search the cat", images={"image": png}), limits)

``--search`` says what to find (the words up to the next flag), the prompt what to put in
its place; nobody has to draw a mask. ``--grow-mask N`` widens the found area by N pixels
(0–20) so the new object blends in. The picture keeps its size.
"""

from __future__ import annotations

from dataclasses import replace

from commands.building import configured_model, model_limits, parse_invocation, required_image
from commands.errors import OptionError
from commands.invocation import Invocation
from commands.options import COMMON_OPTIONS, IMAGE, PROMPT, OptionSpec
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.types import GenerationRequest, Operation

__all__ = ["GROW_MASK", "SEARCH", "SPEC", "build"]

SEARCH = OptionSpec(
    name="search",
    kind="str",
    help="What to find and replace in the picture, e.g. the red car",
    required=True,
    flag="search",
    aliases=("find",),
    format="text",
    metavar="TEXT",
    example="the cat",
)
GROW_MASK = OptionSpec(
    name="grow_mask",
    kind="int",
    help="Widen the found area by this many pixels so the new object blends in",
    min=0,
    max=20,
    typed=False,
    flag="grow-mask",
    metavar="PX",
    example="5",
)

NO_SEARCH_MESSAGE = (
    "Tell me what to replace with --search, e.g. /replace a golden retriever --search the cat."
)


async def build(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    limits = model_limits(inv, SPEC, limits)  # the model this command runs on (EASEL_DEFAULT_MODELS)
    parsed = parse_invocation(inv, SPEC, limits)
    search = parsed.get_str("search")
    if not search:
        raise OptionError(NO_SEARCH_MESSAGE, option="search")
    image = await required_image(inv, limits, SPEC.name)
    extras = [("search_prompt", search)]
    grow = parsed.get_int("grow_mask")
    if grow is not None:
        extras.append(("grow_mask", str(grow)))
    return GenerationRequest(
        operation=Operation.REPLACE,
        model=configured_model(Operation.REPLACE, limits),
        prompts=parsed.prompts,
        width=image.width,
        height=image.height,
        samples=parsed.get_int("samples", 1) or 1,
        seed=parsed.get_int("seed"),
        style_preset=parsed.get_str("style"),
        init_image=image,
        source=inv.source,
        extras=tuple(extras),
    )


SPEC = CommandSpec(
    name="replace",
    description="Replace something in a picture: say what to find and what to put there",
    options=(
        replace(PROMPT, help="What to put in its place. Flags work here too: --search the cat"),
        replace(IMAGE, help="The picture to change (PNG, JPEG or WebP)"),
        SEARCH,
        *COMMON_OPTIONS,
        GROW_MASK,
    ),
    build=build,
    operation=Operation.REPLACE,
    needs_images=("image",),
)
