"""Request bodies for an AUTOMATIC1111-compatible host: one :class:`GenerationRequest` → one call's JSON.

=========  ===========================================================================
imagine    ``POST /sdapi/v1/txt2img``
remix      ``POST /sdapi/v1/img2img``; ``denoising_strength = 1 - strength`` (easel's
           ``strength`` is how much of the source to *keep*)
inpaint    img2img with ``mask`` (mask source black → ``inpainting_mask_invert=1``;
           alpha → the mask is the init image's transparency)
outpaint   img2img on an edge-stretched canvas with a mask over the new area
           (:mod:`services.outpaint`); the original is pasted back afterwards
upscale    ``POST /sdapi/v1/extra-single-image`` (``upscaling_resize`` 2 or 4)
describe   ``POST /sdapi/v1/interrogate`` (CLIP) → a caption
=========  ===========================================================================

Image work (base64, mask flattening) runs off the event loop through :func:`run_cpu`.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from PIL import Image

import services.backends.a1111.wire as wire
from services.backends.base import BackendLimits
from services.errors import InvalidRequest
from services.offload import run_cpu
from services.outpaint import OutpaintPlan, plan_outpaint, prepare_outpaint
from services.types import GenerationRequest, InputImage, MaskSource

__all__ = [
    "b64encode",
    "extras_payload",
    "fit_size",
    "img2img_payload",
    "inpaint_payload",
    "interrogate_payload",
    "outpaint_payload",
    "txt2img_payload",
]

INPAINT_MASK_BLUR = 4
INPAINT_PADDING = 32
DEFAULT_INPAINT_KEEP = 0.25  # → denoising 0.75: repaint the masked area, its colours a hint
DEFAULT_OUTPAINT_KEEP = 0.1  # → denoising 0.9: the stretched edge is only a colour hint


def fit_size(width: float, height: float, limits: BackendLimits) -> tuple[int, int]:
    """Scale down into the host's limits (keeping the shape), then snap to the size multiple."""
    scale = min(1.0, limits.max_side / max(width, height), math.sqrt(limits.max_pixels / (width * height)))
    m = limits.size_multiple

    def snap(x: float) -> int:
        return int(min(max(limits.min_side, round(x * scale / m) * m), limits.max_side // m * m))

    return snap(width), snap(height)


def _txt2img_size(request: GenerationRequest, limits: BackendLimits) -> tuple[int, int]:
    if request.width and request.height:
        return fit_size(request.width, request.height, limits)
    side = limits.default_size[0]
    ratio = _parse_ratio(request.aspect_ratio) if request.aspect_ratio else None
    if ratio:  # same pixel count as the default square, in the asked shape
        return fit_size(side * math.sqrt(ratio), side / math.sqrt(ratio), limits)
    return limits.default_size


def _img2img_size(request: GenerationRequest, init: InputImage, limits: BackendLimits) -> tuple[int, int]:
    if request.width and request.height:
        return fit_size(request.width, request.height, limits)
    return fit_size(init.width, init.height, limits)


def _common(request: GenerationRequest, limits: BackendLimits, size: tuple[int, int]) -> dict[str, Any]:
    payload = wire.common_payload(
        request,
        width=size[0],
        height=size[1],
        steps=request.steps or limits.default_steps,
        cfg_scale=request.cfg_scale if request.cfg_scale is not None else limits.default_cfg_scale,
    )
    return dict(payload)


def txt2img_payload(request: GenerationRequest, limits: BackendLimits) -> dict[str, Any]:
    return _common(request, limits, _txt2img_size(request, limits))


async def img2img_payload(request: GenerationRequest, limits: BackendLimits) -> dict[str, Any]:
    """/remix: ``denoising_strength = 1 - strength`` (strength: how much of the source to keep)."""
    init = _need_image(request.init_image, "/remix needs a source image.")
    payload = _common(request, limits, _img2img_size(request, init, limits))
    keep = request.strength if request.strength is not None else limits.default_strength
    payload |= {
        "init_images": [await b64encode(init.png)],
        "denoising_strength": wire.denoising_strength(keep),
        "resize_mode": 0,
    }
    return payload


async def inpaint_payload(request: GenerationRequest, limits: BackendLimits) -> dict[str, Any]:
    """/inpaint: img2img with a grayscale mask (white = repaint, unless inverted)."""
    init = _need_image(request.init_image, "/inpaint needs an image.")
    source = request.mask_source or MaskSource.WHITE
    if source is MaskSource.ALPHA:
        if not init.has_alpha:
            raise InvalidRequest("This image has no transparent pixels to repaint; upload a mask instead.")
        init_png, mask_png = await run_cpu(_split_alpha, init.png)
        invert = 0
    else:
        mask = _need_image(
            request.mask_image, "/inpaint needs a mask (white = repaint) or a transparent image."
        )
        init_png = init.png
        mask_png = await run_cpu(_gray_mask, mask.png, (init.width, init.height))
        invert = 1 if source is MaskSource.BLACK else 0
    payload = _common(request, limits, _img2img_size(request, init, limits))
    keep = request.strength if request.strength is not None else DEFAULT_INPAINT_KEEP
    payload |= {
        "init_images": [await b64encode(init_png)],
        "mask": await b64encode(mask_png),
        "denoising_strength": wire.denoising_strength(keep),
        "resize_mode": 0,
        "mask_blur": INPAINT_MASK_BLUR,
        "inpainting_fill": 1,  # "original": start from the image's own colours
        "inpaint_full_res": False,  # the whole picture as context, so the patch fits in
        "inpaint_full_res_padding": INPAINT_PADDING,
        "inpainting_mask_invert": invert,
    }
    return payload


async def outpaint_payload(
    request: GenerationRequest, limits: BackendLimits
) -> tuple[dict[str, Any], OutpaintPlan]:
    """/outpaint: inpaint the padding of an edge-stretched canvas. Paste the original back afterwards."""
    init = _need_image(request.init_image, "/outpaint needs an image.")
    if request.outpaint is None:
        raise InvalidRequest("Tell me where to extend the image: --left, --right, --up, --down or --ar.")
    plan = plan_outpaint(
        init.width,
        init.height,
        request.outpaint,
        size_multiple=limits.size_multiple,
        max_side=limits.max_side,
        max_pixels=limits.max_pixels,
    )
    canvas_png, mask_png = await prepare_outpaint(init.png, plan)
    payload = _common(request, limits, plan.canvas_size)
    keep = request.strength if request.strength is not None else DEFAULT_OUTPAINT_KEEP
    payload |= {
        "init_images": [await b64encode(canvas_png)],
        "mask": await b64encode(mask_png),
        "denoising_strength": wire.denoising_strength(keep),
        "resize_mode": 0,
        "mask_blur": INPAINT_MASK_BLUR,
        "inpainting_fill": 1,  # "original": the stretched edge seeds the new area
        "inpaint_full_res": False,
        "inpainting_mask_invert": 0,
    }
    return payload, plan


async def extras_payload(request: GenerationRequest, upscaler: str) -> dict[str, Any]:
    init = _need_image(request.init_image, "/upscale needs an image.")
    return dict(
        wire.extras_payload(await b64encode(init.png), factor=request.upscale_factor, upscaler=upscaler)
    )


async def interrogate_payload(request: GenerationRequest, model: str) -> dict[str, Any]:
    init = _need_image(request.init_image, "/describe needs an image.")
    return {"image": await b64encode(init.png), "model": model}


def _need_image(image: InputImage | None, message: str) -> InputImage:
    if image is None:
        raise InvalidRequest(message)
    return image


def _parse_ratio(text: str) -> float | None:
    try:
        a, b = (float(x) for x in text.replace("x", ":").split(":"))
    except ValueError:
        return None
    return a / b if a > 0 and b > 0 else None


async def b64encode(data: bytes) -> str:
    if len(data) < 256 * 1024:
        return base64.b64encode(data).decode("ascii")
    return await run_cpu(lambda: base64.b64encode(data).decode("ascii"))


# ---- Pillow work (through run_cpu) ----


def _gray_mask(mask_png: bytes, size: tuple[int, int]) -> bytes:
    """The mask as plain grayscale at the init image's size.

    Sent as RGBA, A1111 would take the mask from its alpha channel; flattening onto black
    keeps what the user painted (white = repaint) whatever the mode.
    """
    with Image.open(io.BytesIO(mask_png)) as image:
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            gray = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("L")
        else:
            gray = image.convert("L")
    if gray.size != size:
        gray = gray.resize(size, Image.Resampling.NEAREST)
    out = io.BytesIO()
    gray.save(out, format="PNG")
    return out.getvalue()


def _split_alpha(png: bytes) -> tuple[bytes, bytes]:
    """Image with transparency → (RGB image, mask: white where it was transparent)."""
    with Image.open(io.BytesIO(png)) as image:
        rgba = image.convert("RGBA")
    mask = rgba.getchannel("A").point(lambda a: 255 - a)
    rgb_out, mask_out = io.BytesIO(), io.BytesIO()
    rgba.convert("RGB").save(rgb_out, format="PNG")
    mask.save(mask_out, format="PNG")
    return rgb_out.getvalue(), mask_out.getvalue()
