"""Fitting images to what a v2beta endpoint takes, and request bodies under the API's 10 MiB.

Images are checked against each endpoint's :class:`~services.backends.stability.v2_wire.ImageRule`
before sending (too small or too elongated: a clear :class:`InvalidRequest`; more pixels than
an edit takes: scaled down), and bodies over 10 MiB are re-encoded (JPEG, or WebP when there is
transparency) or scaled down: nothing known to be too big is ever sent. Pillow work runs
through :func:`services.offload.run_cpu`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from services.backends.stability.v2_call import FormFile, V2Call
from services.backends.stability.v2_wire import MAX_REQUEST_BYTES, ImageRule
from services.errors import InvalidRequest
from services.imaging import resize_png, smaller_encoding, transparency_and_size
from services.offload import run_cpu
from services.types import InputImage

__all__ = ["BODY_MARGIN_BYTES", "check_image", "fit_image", "within_body_limit"]

log = logging.getLogger(__name__)

BODY_MARGIN_BYTES = 64 * 1024  # multipart headers and text fields, with room to spare
_QUALITIES = (95, 90, 85, 75)  # re-encodings tried, best first, before any scaling
_SCALED_QUALITY = 90
_MAX_SCALINGS = 6


def check_image(image: InputImage, rule: ImageRule, command: str) -> None:
    """Refuse what no scaling can fix: too small, or too long and thin."""
    w, h = image.width, image.height
    if min(w, h) < rule.min_side or w * h < rule.min_pixels:
        raise InvalidRequest(
            f"That image is {w}×{h}; Stability AI needs at least {rule.min_side} pixels per side "
            f"and {rule.min_pixels:,} pixels in all for /{command}."
        )
    if rule.max_aspect is not None and max(w, h) / min(w, h) > rule.max_aspect:
        raise InvalidRequest(
            f"That image is {w}×{h}, too long and thin for /{command}: Stability AI takes shapes "
            f"between 1:{rule.max_aspect:g} and {rule.max_aspect:g}:1. Crop it and try again."
        )


async def fit_image(image: InputImage, rule: ImageRule, command: str) -> InputImage:
    """``image`` within the endpoint's pixel limits (scaled down, never up)."""
    check_image(image, rule, command)
    scale = min(1.0, math.sqrt(rule.max_pixels / image.pixels))
    if rule.max_side is not None:
        scale = min(scale, rule.max_side / max(image.width, image.height))
    if scale >= 1.0:
        return image
    size = (max(1, math.floor(image.width * scale)), max(1, math.floor(image.height * scale)))
    png = await run_cpu(resize_png, image.png, size)
    log.info(
        "stability.image_resized",
        extra={"command": command, "from": f"{image.width}x{image.height}", "to": f"{size[0]}x{size[1]}"},
    )
    return InputImage(png=png, width=size[0], height=size[1], has_alpha=image.has_alpha)


async def within_body_limit(
    call: V2Call, *, may_resize: bool = True, budget_bytes: int = MAX_REQUEST_BYTES - BODY_MARGIN_BYTES
) -> V2Call:
    """Re-encode (and if allowed, scale down) the main image until the body fits in 10 MiB.

    ``budget_bytes`` is what files and fields may take together (the API's limit less room
    for the multipart headers); the mask, if any, is scaled along with the image.
    """
    budget = budget_bytes
    if call.body_bytes <= budget:
        return call
    image = next(f for f in call.files if f.field == "image")
    rest = call.body_bytes - len(image.data)
    has_alpha, size = await run_cpu(transparency_and_size, image.data)
    data = image.data
    for quality in _QUALITIES:
        data, ctype = await run_cpu(smaller_encoding, image.data, has_alpha=has_alpha, quality=quality)
        if rest + len(data) <= budget:
            log.info("stability.image_compressed", extra={"operation": call.operation, "bytes": len(data)})
            return call.with_image(FormFile("image", data, ctype))
    if may_resize:
        png = image.data
        for _ in range(_MAX_SCALINGS):
            scale = 0.9 * math.sqrt(budget / max(rest + len(data), 1))
            size = (max(64, math.floor(size[0] * scale)), max(64, math.floor(size[1] * scale)))
            png = await run_cpu(resize_png, png, size)
            data, ctype = await run_cpu(smaller_encoding, png, has_alpha=has_alpha, quality=_SCALED_QUALITY)
            if rest + len(data) <= budget:
                log.info(
                    "stability.image_shrunk",
                    extra={"operation": call.operation, "to": f"{size[0]}x{size[1]}"},
                )
                files = []
                for f in call.files:
                    if f.field == "mask":
                        f = FormFile("mask", await run_cpu(resize_png, f.data, size, nearest=True))
                    files.append(f)
                shrunk = replace(call, files=tuple(files)).with_image(FormFile("image", data, ctype))
                return replace(shrunk, expected_size=size)
    raise InvalidRequest(
        "That image is too large to send to Stability AI (over 10 MiB even after compressing it). "
        "Please use a smaller image."
    )
