"""``/inpaint``: repaint part of an image.

::

    await build(Invocation(text="a red door", images={"image": photo, "mask": mask}), limits)
    await build(Invocation(text="a red door", images={"image": photo_with_hole}), limits)  # alpha

With a mask, white areas are repainted (``--mask-source black`` flips it). Without one, the
transparent areas of the image are repainted (``--mask-source alpha``, the default then).
"""

from __future__ import annotations

from dataclasses import replace

from commands.building import generation_request, input_image, model_limits, parse_invocation, required_image
from commands.errors import OptionError
from commands.invocation import Invocation
from commands.options import COMMON_OPTIONS, IMAGE, MASK, MASK_SOURCE, PROMPT, TUNING_OPTIONS
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.images import fit_to_backend_async
from services.masks import prepare_mask_async
from services.types import GenerationRequest, MaskSource, Operation

__all__ = ["NO_MASK_MESSAGE", "SPEC", "build"]

NO_MASK_MESSAGE = "Upload a mask, or an image with transparent areas to repaint."


async def build(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    limits = model_limits(inv, SPEC, limits)  # --model may pick an engine with other limits
    parsed = parse_invocation(inv, SPEC, limits)
    chosen = parsed.get("mask_source")
    has_mask_upload = bool(inv.images.get("mask"))
    if has_mask_upload and chosen == MaskSource.ALPHA:
        raise OptionError(
            "--mask-source alpha repaints the transparent areas of the image, so it can't use the mask "
            "you uploaded. Leave out the mask, or use --mask-source white or black.",
            option="mask_source",
        )
    if not has_mask_upload and chosen in (MaskSource.WHITE, MaskSource.BLACK):
        raise OptionError(
            f"--mask-source {chosen} needs a mask image. {NO_MASK_MESSAGE}", option="mask_source"
        )

    image = await required_image(inv, limits, SPEC.name)
    if not has_mask_upload and not image.has_alpha:
        raise OptionError(NO_MASK_MESSAGE, option="mask")
    init = await fit_to_backend_async(image, limits)
    mask_image = None
    if has_mask_upload:
        mask = await input_image(inv, limits, name="mask")
        assert mask is not None
        source = MaskSource(str(chosen)) if chosen else MaskSource.WHITE
        mask_image = await prepare_mask_async(mask, image, init, repaint_white=source is MaskSource.WHITE)
    else:
        source = MaskSource.ALPHA
    return generation_request(
        Operation.INPAINT,
        inv,
        parsed,
        limits,
        width=init.width,
        height=init.height,
        mask_source=source,
        init_image=init,
        mask_image=mask_image,
    )


SPEC = CommandSpec(
    name="inpaint",
    description="Repaint part of an image: the masked or transparent areas",
    options=(
        PROMPT,
        replace(IMAGE, help="The picture to repaint; transparent areas are repainted if there is no mask"),
        MASK,
        MASK_SOURCE,
        *COMMON_OPTIONS,
        *TUNING_OPTIONS,
    ),
    build=build,
    operation=Operation.INPAINT,
    needs_images=("image", "mask"),
)
