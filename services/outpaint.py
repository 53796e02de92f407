"""Outpainting as "pad the canvas, inpaint the new area, paste the original back".

Backend-neutral, so any backend that can inpaint can outpaint (the GPU host via
img2img with a mask; Stability v1 via masking; v2beta has a native endpoint but can
still use :func:`margins_for_aspect_ratio` and :func:`plan_outpaint`)::

    plan = plan_outpaint(img.width, img.height, request.outpaint, size_multiple=8, max_side=2048)
    canvas_png, mask_png = await prepare_outpaint(img.png, plan)   # edge-stretched canvas, white = new area
    result_png = ...inpaint(canvas_png, mask_png)...               # any size; resized to the canvas
    final_png = await restore_original(result_png, img.png, plan)  # original pixels exactly, cropped to ask

The canvas may be a few pixels larger than asked so that its sides are multiples of
``size_multiple`` (diffusion models work in 8-pixel latents); those extra pixels are
cropped off at the end, so the final image is exactly ``original + margins``.

Pillow work runs through :func:`services.offload.run_cpu`.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

from PIL import Image

from services.errors import InvalidRequest
from services.imaging import png_bytes, resize_png
from services.offload import run_cpu
from services.types import InputImage, OutpaintMargins

__all__ = [
    "OutpaintPlan",
    "fit_outpaint",
    "margins_for_aspect_ratio",
    "pad_canvas",
    "paste_original",
    "plan_outpaint",
    "prepare_outpaint",
    "restore_original",
]

_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class OutpaintPlan:
    """Where the original sits on the canvas, and which part of the canvas the user gets back."""

    src_width: int
    src_height: int
    margins: OutpaintMargins  # what the user asked for
    canvas_left: int  # margins actually used on the canvas (>= asked, for size_multiple)
    canvas_right: int
    canvas_up: int
    canvas_down: int

    @property
    def canvas_size(self) -> tuple[int, int]:
        return (
            self.canvas_left + self.src_width + self.canvas_right,
            self.canvas_up + self.src_height + self.canvas_down,
        )

    @property
    def output_size(self) -> tuple[int, int]:
        m = self.margins
        return m.left + self.src_width + m.right, m.up + self.src_height + m.down

    @property
    def original_box(self) -> tuple[int, int, int, int]:
        """The original's place on the canvas (left, top, right, bottom)."""
        return (
            self.canvas_left,
            self.canvas_up,
            self.canvas_left + self.src_width,
            self.canvas_up + self.src_height,
        )

    @property
    def crop_box(self) -> tuple[int, int, int, int]:
        """The part of the canvas that is returned: original plus the margins asked for."""
        left = self.canvas_left - self.margins.left
        top = self.canvas_up - self.margins.up
        width, height = self.output_size
        return left, top, left + width, top + height


def margins_for_aspect_ratio(width: int, height: int, ratio: str) -> OutpaintMargins:
    """Margins that extend a ``width``×``height`` image to ``ratio`` ("16:9"), centred.

    Only ever adds pixels: a wider ratio extends left and right, a taller one up and down.
    """
    match = _RATIO.match(ratio)
    if not match:
        raise InvalidRequest(f"I can't read the aspect ratio {ratio!r}; write it like 16:9.")
    a, b = float(match.group(1)), float(match.group(2))
    if a <= 0 or b <= 0 or not 0.1 <= a / b <= 10:
        raise InvalidRequest(
            f"The aspect ratio {ratio} is out of range; use something between 1:10 and 10:1."
        )
    target = a / b
    current = width / height
    if current < target:
        extra = round(height * target) - width
        if extra <= 0:
            raise InvalidRequest(f"The image is already {ratio}; there is nothing to extend.")
        return OutpaintMargins(left=extra // 2, right=extra - extra // 2)
    extra = round(width / target) - height
    if extra <= 0:
        raise InvalidRequest(f"The image is already {ratio}; there is nothing to extend.")
    return OutpaintMargins(up=extra // 2, down=extra - extra // 2)


def plan_outpaint(
    width: int,
    height: int,
    margins: OutpaintMargins,
    *,
    size_multiple: int = 8,
    max_side: int = 2048,
    max_pixels: int | None = None,
) -> OutpaintPlan:
    """Check the margins against the backend's limits and round the canvas up to ``size_multiple``.

    Raises :class:`InvalidRequest` with a message the user can act on.
    """
    sides = (margins.left, margins.right, margins.up, margins.down)
    if any(m < 0 for m in sides):
        raise InvalidRequest("Outpaint margins can't be negative.")
    if not any(sides):
        raise InvalidRequest("Tell me where to extend the image: --left, --right, --up, --down or --ar.")
    left, right = _round_axis(width, margins.left, margins.right, size_multiple)
    up, down = _round_axis(height, margins.up, margins.down, size_multiple)
    plan = OutpaintPlan(width, height, margins, left, right, up, down)
    out_w, out_h = plan.output_size
    canvas_w, canvas_h = plan.canvas_size
    too_big = max(canvas_w, canvas_h) > max_side or (
        max_pixels is not None and canvas_w * canvas_h > max_pixels
    )
    if too_big:
        limit = f"{max_side} px per side" + (f" and {max_pixels:,} pixels" if max_pixels else "")
        raise InvalidRequest(
            f"Extending this {width}×{height} image that far would make it {out_w}×{out_h}, "
            f"but the limit here is {limit}. Ask for smaller margins."
        )
    return plan


MIN_FIT_SCALE = 0.25  # shrinking the picture more than 4x to fit is no longer what was asked


async def fit_outpaint(
    image: InputImage,
    margins: OutpaintMargins | str,
    *,
    size_multiple: int = 8,
    max_side: int = 2048,
    max_pixels: int | None = None,
) -> tuple[InputImage, OutpaintMargins]:
    """Shrink ``image`` (and its margins) so the extended picture fits the backend's limits.

    ``margins`` are pixels, or an aspect ratio ("16:9") to extend to. A phone photo plus
    margins is usually beyond a GPU's limit; scaling both keeps what the user asked for
    (the proportions) at a size that can be made. The result passes :func:`plan_outpaint`.
    """
    first = (
        margins_for_aspect_ratio(image.width, image.height, margins) if isinstance(margins, str) else margins
    )
    out_w = image.width + first.left + first.right
    out_h = image.height + first.up + first.down
    room = max_side - size_multiple  # the canvas may grow by up to size_multiple - 1 when rounded
    scale = min(1.0, room / max(out_w, out_h))
    if max_pixels is not None:
        scale = min(scale, math.sqrt(max_pixels / ((out_w + size_multiple) * (out_h + size_multiple))))
    if scale >= 1.0:
        plan_outpaint(
            image.width,
            image.height,
            first,
            size_multiple=size_multiple,
            max_side=max_side,
            max_pixels=max_pixels,
        )
        return image, first
    if scale < MIN_FIT_SCALE:
        raise InvalidRequest(
            f"Extending this {image.width}×{image.height} image that far would make it {out_w}×{out_h}, "
            f"far beyond the limit of {max_side} px per side here. Ask for smaller margins."
        )
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    png = await run_cpu(resize_png, image.png, (width, height))
    small = InputImage(png=png, width=width, height=height, has_alpha=image.has_alpha)
    if isinstance(margins, str):
        fitted = margins_for_aspect_ratio(width, height, margins)
    else:
        fitted = OutpaintMargins(
            *(round(m * scale) for m in (margins.left, margins.right, margins.up, margins.down))
        )
    plan_outpaint(
        width, height, fitted, size_multiple=size_multiple, max_side=max_side, max_pixels=max_pixels
    )
    return small, fitted


def _round_axis(length: int, before: int, after: int, multiple: int) -> tuple[int, int]:
    total = length + before + after
    extra = math.ceil(total / multiple) * multiple - total
    if not extra:
        return before, after
    if before and not after:
        return before + extra, after
    if after and not before:
        return before, after + extra
    # Both sides (or neither) extended: share the rounding.
    return before + extra // 2, after + extra - extra // 2


# ---- Pillow work (call through run_cpu) -------------------------------------------------------------


def pad_canvas(png: bytes, plan: OutpaintPlan) -> tuple[bytes, bytes]:
    """Edge-stretched canvas (RGB) and its mask (L: white = new area to paint, black = original)."""
    with Image.open(io.BytesIO(png)) as opened:
        src = _flatten(opened)
    w, h = src.size
    if (w, h) != (plan.src_width, plan.src_height):
        raise InvalidRequest("The image changed size while it was being prepared; please try again.")
    canvas = Image.new("RGB", plan.canvas_size)
    cl, cu, _, _ = plan.original_box
    canvas.paste(src, (cl, cu))
    nearest = Image.Resampling.NEAREST
    if plan.canvas_left:
        canvas.paste(src.crop((0, 0, 1, h)).resize((plan.canvas_left, h), nearest), (0, cu))
    if plan.canvas_right:
        canvas.paste(src.crop((w - 1, 0, w, h)).resize((plan.canvas_right, h), nearest), (cl + w, cu))
    full_w = canvas.width
    if plan.canvas_up:
        row = canvas.crop((0, cu, full_w, cu + 1)).resize((full_w, plan.canvas_up), nearest)
        canvas.paste(row, (0, 0))
    if plan.canvas_down:
        row = canvas.crop((0, cu + h - 1, full_w, cu + h)).resize((full_w, plan.canvas_down), nearest)
        canvas.paste(row, (0, cu + h))
    mask = Image.new("L", plan.canvas_size, 255)
    mask.paste(0, plan.original_box)
    return png_bytes(canvas), png_bytes(mask)


def paste_original(result_png: bytes, original_png: bytes, plan: OutpaintPlan) -> bytes:
    """The generated canvas with the original's exact pixels pasted back, cropped to what was asked."""
    with Image.open(io.BytesIO(result_png)) as opened:
        result = opened.convert("RGB")
    with Image.open(io.BytesIO(original_png)) as opened:
        original = opened.copy()
    if result.size != plan.canvas_size:
        result = result.resize(plan.canvas_size, Image.Resampling.LANCZOS)
    if _has_alpha(original):
        original = original.convert("RGBA")
        result = result.convert("RGBA")
    elif original.mode != "RGB":
        original = original.convert("RGB")
    result.paste(original, plan.original_box[:2])
    return png_bytes(result.crop(plan.crop_box))


async def prepare_outpaint(png: bytes, plan: OutpaintPlan) -> tuple[bytes, bytes]:
    """:func:`pad_canvas` off the event loop."""
    return await run_cpu(pad_canvas, png, plan)


async def restore_original(result_png: bytes, original_png: bytes, plan: OutpaintPlan) -> bytes:
    """:func:`paste_original` off the event loop."""
    return await run_cpu(paste_original, result_png, original_png, plan)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for the model: transparent pixels over white (what A1111 does with its background colour)."""
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")
