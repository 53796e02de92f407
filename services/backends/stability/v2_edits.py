"""v2beta's edit requests: inpaint, outpaint, search-and-replace, remove-background and upscale.

Each builder checks the request against the endpoint's rules and returns one
:class:`~services.backends.stability.v2_call.V2Call`, its body already under 10 MiB.
Outpaint sends the original as it is (the backend pastes its pixels back afterwards);
creative upscales are sent by :mod:`~services.backends.stability.v2_upscale`.
"""

from __future__ import annotations

import math
from dataclasses import replace

from services.backends.stability.fitting import check_image, fit_image, within_body_limit
from services.backends.stability.request_parts import require_image
from services.backends.stability.v2_call import FormFile, V2Call
from services.backends.stability.v2_options import (
    ModelOptions,
    extra,
    extra_number,
    form_number,
    prompt_fields,
    style_fields,
)
from services.backends.stability.v2_wire import (
    CREATIVE_OUTPUT_PIXELS,
    CREATIVITY_RANGE,
    ENDPOINTS,
    FAST_UPSCALE_FACTOR,
    GROW_MASK_RANGE,
    IMAGE_RULES,
    MAX_OUTPAINT_MARGIN,
    MAX_PROMPT_CHARS,
)
from services.errors import InvalidRequest, UnsupportedOption
from services.imaging import invert_png, resize_png
from services.masks import ensure_transparency_async
from services.offload import run_cpu
from services.types import GenerationRequest, InputImage, MaskSource

__all__ = ["cutout_call", "inpaint_call", "outpaint_call", "replace_call", "upscale_call"]


async def inpaint_call(request: GenerationRequest, options: ModelOptions) -> V2Call:
    """``/edit/inpaint``: repaint the mask's white (or the image's transparent) pixels."""
    where = "for /inpaint on Stability AI"
    options.check_common(request, where)
    options.no_edit_extras(request, where)
    init = require_image(request.init_image, "inpaint")
    fields = prompt_fields(request, required=True)
    fields += style_fields(request, True, where)
    grow = extra_number(request, "grow_mask", GROW_MASK_RANGE["inpaint"], what="grow_mask", integer=True)
    if grow is not None:
        fields.append(("grow_mask", str(int(grow))))
    source = request.mask_source or (MaskSource.WHITE if request.mask_image is not None else MaskSource.ALPHA)
    mask = request.mask_image
    if source is MaskSource.ALPHA:
        if mask is not None:
            raise InvalidRequest(
                "With mask source alpha the image's transparent areas are repainted; leave out the mask."
            )
        await ensure_transparency_async(init)
    elif mask is None:
        raise InvalidRequest(
            "Inpainting needs a mask image (white = repaint), or an image with transparent areas."
        )
    image = await fit_image(init, IMAGE_RULES["inpaint"], "inpaint")
    files = [FormFile("image", image.png)]
    if mask is not None:
        if source is MaskSource.BLACK:  # v2 repaints white: flip a black-means-repaint mask
            mask = replace(mask, png=await run_cpu(invert_png, mask.png))
        if (mask.width, mask.height) != (image.width, image.height):
            mask = InputImage(
                png=await run_cpu(resize_png, mask.png, (image.width, image.height), nearest=True),
                width=image.width,
                height=image.height,
            )
        files.append(FormFile("mask", mask.png))
    fields.append(("output_format", "png"))
    call = V2Call(
        "inpaint",
        ENDPOINTS["inpaint"],
        "stable-image-inpaint",
        (image.width, image.height),
        tuple(fields),
        tuple(files),
    )
    return await within_body_limit(call)


async def outpaint_call(request: GenerationRequest, options: ModelOptions) -> V2Call:
    """``/edit/outpaint``: extend the image by ``left/right/up/down`` (sent unscaled)."""
    where = "for /outpaint on Stability AI"
    options.check_common(request, where)
    options.no_edit_extras(request, where)
    style_fields(request, False, where)
    init = require_image(request.init_image, "outpaint")
    margins = request.outpaint
    sides = (margins.left, margins.right, margins.up, margins.down) if margins else (0, 0, 0, 0)
    if not any(sides) or margins is None:
        raise InvalidRequest("Tell me where to extend the image, e.g. --right 256 or --ar 16:9.")
    if any(not 0 <= s <= MAX_OUTPAINT_MARGIN for s in sides):
        raise InvalidRequest(
            f"Stability AI extends an image by at most {MAX_OUTPAINT_MARGIN} pixels per side."
        )
    rule = IMAGE_RULES["outpaint"]
    check_image(init, rule, "outpaint")
    if init.pixels > rule.max_pixels:
        raise InvalidRequest(
            f"That image has {init.pixels:,} pixels; Stability AI extends images of at most {rule.max_pixels:,}."
        )
    fields = prompt_fields(request, required=False, negative=False)
    fields += [
        (name, str(value))
        for name, value in zip(("left", "right", "up", "down"), sides, strict=True)
        if value
    ]
    creativity = extra_number(request, "creativity", CREATIVITY_RANGE["outpaint"], what="creativity")
    if creativity is not None:
        fields.append(("creativity", form_number(creativity)))
    fields.append(("output_format", "png"))
    expected = (init.width + margins.left + margins.right, init.height + margins.up + margins.down)
    call = V2Call(
        "outpaint",
        ENDPOINTS["outpaint"],
        "stable-image-outpaint",
        expected,
        tuple(fields),
        (FormFile("image", init.png),),
    )
    return await within_body_limit(call, may_resize=False)


async def replace_call(request: GenerationRequest, options: ModelOptions) -> V2Call:
    """``/edit/search-and-replace``: what ``search_prompt`` names becomes the prompt."""
    where = "for /replace on Stability AI"
    options.check_common(request, where)
    options.no_edit_extras(request, where)
    init = require_image(request.init_image, "replace")
    search = extra(request, "search_prompt")
    if search is None:
        raise InvalidRequest("Say what to replace, e.g. --search the red car.")
    if len(search) > MAX_PROMPT_CHARS:
        raise InvalidRequest(f"The search text may be at most {MAX_PROMPT_CHARS:,} characters long.")
    fields = prompt_fields(request, required=True)
    fields.append(("search_prompt", search))
    fields += style_fields(request, True, where)
    grow = extra_number(request, "grow_mask", GROW_MASK_RANGE["replace"], what="grow_mask", integer=True)
    if grow is not None:
        fields.append(("grow_mask", str(int(grow))))
    fields.append(("output_format", "png"))
    image = await fit_image(init, IMAGE_RULES["replace"], "replace")
    call = V2Call(
        "replace",
        ENDPOINTS["replace"],
        "stable-image-search-and-replace",
        (image.width, image.height),
        tuple(fields),
        (FormFile("image", image.png),),
    )
    return await within_body_limit(call)


async def cutout_call(request: GenerationRequest, options: ModelOptions) -> V2Call:
    """``/edit/remove-background``."""
    where = "for /cutout on Stability AI"
    options.check_common(request, where)
    options.no_edit_extras(request, where)
    init = require_image(request.init_image, "cutout")
    image = await fit_image(init, IMAGE_RULES["cutout"], "cutout")
    call = V2Call(
        "cutout",
        ENDPOINTS["cutout"],
        "stable-image-remove-background",
        (image.width, image.height),
        (("output_format", "png"),),
        (FormFile("image", image.png),),
    )
    return await within_body_limit(call)


async def upscale_call(request: GenerationRequest, mode: str, options: ModelOptions) -> V2Call:
    """``/upscale/{mode}``: fast (4×, no prompt), conservative or creative (to ~4 megapixels)."""
    where = "for /upscale on Stability AI"
    options.check_common(request, where)
    options.no_edit_extras(request, where)
    image = require_image(request.init_image, "upscale")
    endpoint = f"upscale-{mode}"
    rule = IMAGE_RULES[endpoint]
    check_image(image, rule, "upscale")
    if image.pixels > rule.max_pixels or (rule.max_side and max(image.width, image.height) > rule.max_side):
        side = f" and at most {rule.max_side} pixels per side" if rule.max_side else ""
        raise InvalidRequest(
            f"That image is {image.width}×{image.height}; Stability AI's {mode} upscaler takes images of at "
            f"most {rule.max_pixels:,} pixels{side}."
        )
    fields: list[tuple[str, str]] = []
    if mode == "fast":
        if request.upscale_factor != FAST_UPSCALE_FACTOR:
            raise UnsupportedOption(
                f"Stability AI's fast upscaler always enlarges {FAST_UPSCALE_FACTOR}×; use --scale {FAST_UPSCALE_FACTOR}."
            )
        if request.prompts:
            raise UnsupportedOption(
                "The fast upscaler takes no prompt; use the creative or conservative mode."
            )
        expected = (image.width * FAST_UPSCALE_FACTOR, image.height * FAST_UPSCALE_FACTOR)
    else:
        fields = prompt_fields(request, required=True)  # the API requires it: it steers the result
        if mode == "creative":
            fields += style_fields(request, True, where)
        else:
            style_fields(request, False, f"for the {mode} upscaler")
        creativity = extra_number(request, "creativity", CREATIVITY_RANGE[endpoint], what="creativity")
        if creativity is not None:
            fields.append(("creativity", form_number(creativity)))
        if request.seed:
            fields.append(("seed", str(request.seed)))
        scale = max(1.0, math.sqrt(CREATIVE_OUTPUT_PIXELS / image.pixels))
        expected = (round(image.width * scale), round(image.height * scale))
    fields.append(("output_format", "png"))
    call = V2Call(
        f"upscale-{mode}",
        ENDPOINTS[endpoint],
        f"stable-image-upscale-{mode}",
        expected,
        tuple(fields),
        (FormFile("image", image.png),),
    )
    return await within_body_limit(call, may_resize=False)
