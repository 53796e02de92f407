"""Stability v1's request builders: one :class:`V1Call` per easel operation, checked before sending.

==============  ==========================================================================
imagine         ``POST /v1/generation/{engine}/text-to-image`` (JSON)
remix           ``…/image-to-image`` (multipart; ``IMAGE_STRENGTH`` or ``STEP_SCHEDULE``)
inpaint         ``…/image-to-image/masking`` (mask image, or the init image's alpha)
upscale         ``/v1/generation/esrgan-v1-x2plus/image-to-image/upscale``
==============  ==========================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from services.backends.base import BackendLimits
from services.backends.stability.request_parts import NEED_PROMPT, parse_ratio, require_image
from services.backends.stability.v1_wire import UPSCALE_ENGINE, MaskSourceWire, TextPrompt, TextToImageBody
from services.errors import InvalidRequest
from services.images import fit_to_backend_async, target_size
from services.masks import ensure_transparency_async, prepare_mask_async
from services.types import GenerationRequest, InputImage, MaskSource

__all__ = ["EngineChoice", "FormFile", "V1Call", "image_to_image", "masking", "text_to_image", "upscale"]

log = logging.getLogger(__name__)

_MASK_SOURCES: dict[MaskSource, MaskSourceWire] = {
    MaskSource.WHITE: "MASK_IMAGE_WHITE",
    MaskSource.BLACK: "MASK_IMAGE_BLACK",
    MaskSource.ALPHA: "INIT_IMAGE_ALPHA",
}


@dataclass(frozen=True, slots=True)
class EngineChoice:
    """The engine a request runs on, the user's model choice (when it differs) and its limits."""

    engine: str
    user_model: str | None
    limits: BackendLimits


@dataclass(frozen=True, slots=True)
class FormFile:
    field: str
    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class V1Call:
    """One generation call, ready to send (and to re-send on retries)."""

    operation: str  # "text-to-image", "image-to-image", "masking", "upscale"
    engine: str
    path: str
    expected_size: tuple[int, int]
    user_model: str | None = None  # the model the user chose, when it differs from the default
    json_body: TextToImageBody | None = None
    fields: tuple[tuple[str, str], ...] = ()
    files: tuple[FormFile, ...] = ()

    def form(self) -> aiohttp.FormData:
        form = aiohttp.FormData()
        for file in self.files:
            form.add_field(file.field, file.data, filename=file.filename, content_type="image/png")
        for name, value in self.fields:
            form.add_field(name, value)
        return form


# --- the calls ---------------------------------------------------------------------------------


def text_to_image(request: GenerationRequest, choice: EngineChoice) -> V1Call:
    """``…/text-to-image``: a JSON body; the size is one the engine allows."""
    width, height = _size_for(request, choice.limits)
    body: TextToImageBody = {
        "text_prompts": _text_prompts(request),
        "width": width,
        "height": height,
        "samples": request.samples,
    }
    if request.seed:
        body["seed"] = request.seed
    if request.steps is not None:
        body["steps"] = request.steps
    if request.cfg_scale is not None:
        body["cfg_scale"] = request.cfg_scale
    if request.sampler:
        body["sampler"] = request.sampler
    if request.style_preset:
        body["style_preset"] = request.style_preset
    return V1Call(
        operation="text-to-image",
        engine=choice.engine,
        path=f"/v1/generation/{choice.engine}/text-to-image",
        expected_size=(width, height),
        user_model=choice.user_model,
        json_body=body,
    )


async def image_to_image(request: GenerationRequest, choice: EngineChoice) -> V1Call:
    """``…/image-to-image``: the init image fitted to the engine, strength or step schedule."""
    init = require_image(request.init_image, "remix")
    fields = _multipart_prompts(request) + _init_mode_fields(request, choice.limits)
    fields += _optional_fields(request)
    fitted = await _fitted(init, choice.limits)
    return V1Call(
        operation="image-to-image",
        engine=choice.engine,
        path=f"/v1/generation/{choice.engine}/image-to-image",
        expected_size=(fitted.width, fitted.height),
        user_model=choice.user_model,
        fields=tuple(fields),
        files=(FormFile("init_image", "init_image.png", fitted.png),),
    )


async def masking(request: GenerationRequest, choice: EngineChoice) -> V1Call:
    """``…/image-to-image/masking``: a mask image (fitted like the init image) or the alpha channel."""
    init = require_image(request.init_image, "inpaint")
    mask = request.mask_image
    source = request.mask_source or (MaskSource.WHITE if mask is not None else MaskSource.ALPHA)
    if source is not MaskSource.ALPHA and mask is None:
        raise InvalidRequest("Inpainting needs a mask image (white = repaint, or use mask source black).")
    fields = [("mask_source", _MASK_SOURCES[source]), *_multipart_prompts(request)]
    fields += _optional_fields(request)
    if source is MaskSource.ALPHA:
        await ensure_transparency_async(init)
    fitted = await _fitted(init, choice.limits)
    files = [FormFile("init_image", "init_image.png", fitted.png)]
    if source is not MaskSource.ALPHA and mask is not None:
        if (mask.width, mask.height) != (fitted.width, fitted.height):
            repaint_white = source is MaskSource.WHITE  # same shape rule, same crop, same "selects some area"
            mask = await prepare_mask_async(mask, init, fitted, repaint_white=repaint_white)
        files.append(FormFile("mask_image", "mask_image.png", mask.png))
    return V1Call(
        operation="masking",
        engine=choice.engine,
        path=f"/v1/generation/{choice.engine}/image-to-image/masking",
        expected_size=(fitted.width, fitted.height),
        user_model=choice.user_model,
        fields=tuple(fields),
        files=tuple(files),
    )


def upscale(request: GenerationRequest, max_output_pixels: int) -> V1Call:
    """ESRGAN 2× (or to ``width`` for other factors), within the upscaler's output pixel limit."""
    image = require_image(request.init_image, "upscale")
    factor = request.upscale_factor
    if factor < 1:
        raise InvalidRequest("The upscale factor must be at least 1.")
    out_w, out_h = image.width * factor, image.height * factor
    limit = max_output_pixels
    if out_w * out_h > limit:
        raise InvalidRequest(
            f"Upscaling this {image.width}x{image.height} image {factor}x would make it "
            f"{out_w}x{out_h} ({out_w * out_h:,} pixels), but Stability AI upscales to at most "
            f"{limit:,} pixels (e.g. 2048x2048). Use an image of at most {limit // factor**2:,} pixels."
        )
    fields = () if factor == 2 else (("width", str(out_w)),)
    return V1Call(
        operation="upscale",
        engine=UPSCALE_ENGINE,
        path=f"/v1/generation/{UPSCALE_ENGINE}/image-to-image/upscale",
        expected_size=(out_w, out_h),
        fields=fields,
        files=(FormFile("image", "image.png", image.png),),
    )


# --- their parts -------------------------------------------------------------------------------


def _form_number(value: float) -> str:
    """Numbers in multipart fields: ``7``, ``0.35``, ``-1`` (what the API's examples send)."""
    return f"{value:g}"


def _sizes_text(sizes: Sequence[tuple[int, int]]) -> str:
    return ", ".join(f"{w}x{h}" for w, h in sizes)


def _text_prompts(request: GenerationRequest) -> list[TextPrompt]:
    prompts = [TextPrompt(text=p.text, weight=float(p.weight)) for p in request.prompts if p.text.strip()]
    if not prompts:
        raise InvalidRequest(NEED_PROMPT)
    return prompts


def _size_for(request: GenerationRequest, limits: BackendLimits) -> tuple[int, int]:
    ratio = parse_ratio(request.aspect_ratio)
    if request.width is None and request.height is None and ratio is not None:
        width, height = target_size(round(ratio * 1024), 1024, limits)
    else:
        width = request.width or limits.default_size[0]
        height = request.height or limits.default_size[1]
    if limits.allowed_sizes is not None and (width, height) not in limits.allowed_sizes:
        raise InvalidRequest(
            f"{width}x{height} is not a size this model can make. "
            f"Choose one of: {_sizes_text(limits.allowed_sizes)}."
        )
    return width, height


def _multipart_prompts(request: GenerationRequest) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for i, prompt in enumerate(_text_prompts(request)):
        fields.append((f"text_prompts[{i}][text]", prompt["text"]))
        fields.append((f"text_prompts[{i}][weight]", _form_number(prompt["weight"])))
    return fields


def _optional_fields(request: GenerationRequest) -> list[tuple[str, str]]:
    fields = [("samples", str(request.samples))]
    if request.seed:
        fields.append(("seed", str(request.seed)))
    if request.steps is not None:
        fields.append(("steps", str(request.steps)))
    if request.cfg_scale is not None:
        fields.append(("cfg_scale", _form_number(request.cfg_scale)))
    if request.sampler:
        fields.append(("sampler", request.sampler))
    if request.style_preset:
        fields.append(("style_preset", request.style_preset))
    return fields


async def _fitted(image: InputImage, limits: BackendLimits) -> InputImage:
    """The init image as this engine takes it (SDXL: one of its sizes); usually itself.

    Commands normally fit images already; this keeps the backend safe when they did not.
    """
    fitted = await fit_to_backend_async(image, limits)
    if fitted is not image:
        log.info(
            "stability.image_refit",
            extra={"from": f"{image.width}x{image.height}", "to": f"{fitted.width}x{fitted.height}"},
        )
    return fitted


def _init_mode_fields(request: GenerationRequest, limits: BackendLimits) -> list[tuple[str, str]]:
    extras = dict(request.extras)
    mode = extras.get("init_image_mode", "IMAGE_STRENGTH").strip().upper()
    if mode == "IMAGE_STRENGTH":
        strength = request.strength if request.strength is not None else limits.default_strength
        return [("init_image_mode", "IMAGE_STRENGTH"), ("image_strength", _form_number(float(strength)))]
    if mode != "STEP_SCHEDULE":
        raise InvalidRequest("init_image_mode must be IMAGE_STRENGTH or STEP_SCHEDULE.")
    fields = [("init_image_mode", "STEP_SCHEDULE")]
    start = _extra_fraction(extras, "step_schedule_start")
    if start is None and request.strength is not None:
        start = 1.0 - request.strength  # the API's own relation between the two modes
    if start is not None:
        fields.append(("step_schedule_start", _form_number(start)))
    end = _extra_fraction(extras, "step_schedule_end")
    if end is not None:
        fields.append(("step_schedule_end", _form_number(end)))
    return fields


def _extra_fraction(extras: dict[str, str], key: str) -> float | None:
    raw = extras.get(key)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidRequest(f"{key} must be a number between 0 and 1.") from None
    if not 0.0 <= value <= 1.0:
        raise InvalidRequest(f"{key} must be between 0 and 1.")
    return value
