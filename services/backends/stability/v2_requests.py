"""v2beta's requests for a job: one :class:`V2Call` per image, checked before anything is sent.

:func:`prepare` picks the builder for the operation (the endpoints are listed in
:mod:`~services.backends.stability.v2`) and gives each sample its own seed; text-to-image and
remix are built here, the edits in :mod:`~services.backends.stability.v2_edits`.

Strength: easel's ``strength`` is how much of the source to *keep* (Stability v1's
``image_strength``); v2's ``strength`` is how much to *change*, so ``1 - strength`` is sent.
"""

from __future__ import annotations

import math

from services.backends.stability.fitting import fit_image, within_body_limit
from services.backends.stability.models import MODELS
from services.backends.stability.request_parts import require_image
from services.backends.stability.v2_call import FormFile, V2Call
from services.backends.stability.v2_edits import (
    cutout_call,
    inpaint_call,
    outpaint_call,
    replace_call,
    upscale_call,
)
from services.backends.stability.v2_options import (
    ModelOptions,
    aspect_ratio,
    form_number,
    prompt_fields,
    require_single,
    style_fields,
    upscale_mode,
)
from services.backends.stability.v2_wire import ASPECT_RATIO_SIZES, IMAGE_RULES, SEED_MAX
from services.errors import InvalidRequest, UnsupportedOption
from services.types import GenerationRequest, Operation

__all__ = ["generate_call", "prepare"]


async def prepare(request: GenerationRequest, options: ModelOptions) -> list[V2Call]:
    """One call per sample (each with its own seed), checked before anything is sent."""
    match request.operation:
        case Operation.IMAGINE | Operation.REMIX:
            call = await generate_call(request, options)
        case Operation.INPAINT:
            call = await inpaint_call(request, options)
        case Operation.OUTPAINT:
            call = await outpaint_call(request, options)
        case Operation.REPLACE:
            call = await replace_call(request, options)
        case Operation.CUTOUT:
            require_single(request, "/cutout")
            return [await cutout_call(request, options)]
        case Operation.UPSCALE:
            require_single(request, "/upscale")
            return [await upscale_call(request, upscale_mode(request), options)]
        case _:
            raise UnsupportedOption(f"Stability AI cannot {request.operation.value} images.")
    lo, hi = options.limits.samples
    if not lo <= request.samples <= hi:
        raise InvalidRequest(f"Ask for between {lo} and {hi} images.")
    return [call.with_seed(_sample_seed(request.seed, i)) for i in range(request.samples)]


def _sample_seed(seed: int | None, index: int) -> int | None:
    """``--seed 7 --n 3`` → 7, 8, 9 (reproducible); no seed → Stability picks each one."""
    if not seed:
        return None
    return (seed - 1 + index) % SEED_MAX + 1  # stays in 1..SEED_MAX; 0 would mean random


async def generate_call(request: GenerationRequest, options: ModelOptions) -> V2Call:
    """``/generate/{core,ultra,sd3}``: text-to-image, or image-to-image for remix."""
    spec = options.model_spec(request)
    where = f"with Stability's {spec.name} model"
    options.check_common(request, where)
    fields = prompt_fields(request, required=True)
    if spec.wire_model is not None:
        fields.append(("model", spec.wire_model))
    cfg = options.cfg_scale(request, spec)
    if cfg is not None:
        fields.append(("cfg_scale", form_number(cfg)))
    fields += style_fields(request, spec.style_presets, where)
    files: list[FormFile] = []
    if request.operation is Operation.REMIX:
        if not spec.image_to_image:
            able = ", ".join(n for n, s in MODELS.items() if s.image_to_image and n in options.limits.models)
            raise UnsupportedOption(
                f"Stability's {spec.name} model can't remix images; use --model with one of: {able}."
            )
        init = require_image(request.init_image, "remix")
        keep = request.strength if request.strength is not None else options.limits.default_strength
        if not 0.0 <= keep <= 1.0:
            raise InvalidRequest("--strength must be between 0 and 1.")
        image = await fit_image(init, IMAGE_RULES["generate"], "remix")
        if spec.wire_model is not None:
            fields.append(("mode", "image-to-image"))
        fields.append(
            ("strength", form_number(1.0 - keep))
        )  # v2: how much to change; easel: how much to keep
        files.append(FormFile("image", image.png))
        w, h = image.width, image.height
        scale = math.sqrt(1024 * 1024 / (w * h))
        expected = (round(w * scale), round(h * scale))
    else:
        ratio = aspect_ratio(request)
        fields.append(("aspect_ratio", ratio))
        expected = ASPECT_RATIO_SIZES[ratio]
    fields.append(("output_format", "png"))
    call = V2Call(
        operation=f"generate {spec.name}",
        path=spec.path,
        model=spec.name,
        expected_size=expected,
        fields=tuple(fields),
        files=tuple(files),
    )
    return await within_body_limit(call)
