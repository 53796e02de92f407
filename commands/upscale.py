"""``/upscale``: enlarge an image 2× (or another factor the backend offers).

::

    await build(Invocation(text="--scale 4", images={"image": png}), limits)

The guided modes (``--mode conservative|creative``, on backends that list them in
``BackendLimits.guided_upscale_modes``) need a prompt: the API requires it and it steers what the
upscaler invents, so the user's text is sent and a guided mode without text is refused with a clear
message. The prompt field exists only where a guided mode can be chosen; elsewhere (and with the
fast mode) text besides the flags is ignored. Oversized results are refused here, before any
backend call, with the numbers in the message.
"""

from __future__ import annotations

from dataclasses import replace

from commands.building import configured_model, model_limits, parse_invocation, required_image
from commands.errors import OptionError
from commands.invocation import Invocation
from commands.options import IMAGE, SCALE, UPSCALE_MODE, UPSCALE_PROMPT
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.types import GenerationRequest, Operation

__all__ = ["SPEC", "build", "guide_prompt_message", "too_large_message"]


def guide_prompt_message(mode: str) -> str:
    """What a guided upscale without a prompt is told."""
    return (
        f"--mode {mode} needs a prompt saying what the picture shows, e.g. "
        f'"{UPSCALE_PROMPT.example} --mode {mode}"; or use --mode fast, which takes none.'
    )


def _mp(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} MP"


def too_large_message(width: int, height: int, factor: int, limits: BackendLimits) -> str | None:
    """Why ``width``×``height`` can't be upscaled ``factor``× here, or None if it can."""
    out_w, out_h = width * factor, height * factor
    if out_w * out_h <= limits.max_upscale_output_pixels:
        return None
    message = (
        f"That image is too large to upscale {factor}×: the result would be {out_w}×{out_h} "
        f"({_mp(out_w * out_h)}); the limit is {_mp(limits.max_upscale_output_pixels)}."
    )
    smaller = [
        f
        for f in limits.upscale_factors
        if f < factor and too_large_message(width, height, f, limits) is None
    ]
    if smaller:
        message += f" Try --scale {max(smaller)}."
    return message


async def build(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    limits = model_limits(inv, SPEC, limits)  # the model this command runs on (EASEL_DEFAULT_MODELS)
    parsed = parse_invocation(inv, SPEC, limits)
    factor = parsed.get_int("scale") or int(str(SCALE.default_for(limits)))
    mode = parsed.get_str("upscale_mode")
    guided = mode is not None and mode in limits.guided_upscale_modes
    prompts = parsed.prompts if guided else ()
    if guided and not any(p.weight > 0 for p in prompts):
        raise OptionError(guide_prompt_message(str(mode)), option="prompt")
    image = await required_image(inv, limits, SPEC.name)
    problem = too_large_message(image.width, image.height, factor, limits)
    if problem:
        raise OptionError(problem, option="image")
    return GenerationRequest(
        operation=Operation.UPSCALE,
        model=configured_model(Operation.UPSCALE, limits),
        prompts=prompts,
        width=image.width * factor,
        height=image.height * factor,
        init_image=image,
        upscale_factor=factor,
        source=inv.source,
        extras=(("upscale_mode", mode),) if mode else (),
    )


SPEC = CommandSpec(
    name="upscale",
    description="Enlarge an image with an AI upscaler",
    options=(
        replace(IMAGE, help="The picture to enlarge (PNG, JPEG or WebP)"),
        SCALE,
        UPSCALE_MODE,
        UPSCALE_PROMPT,
    ),
    build=build,
    operation=Operation.UPSCALE,
    needs_images=("image",),
)
