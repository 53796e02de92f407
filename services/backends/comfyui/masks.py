"""easel's masks as ComfyUI's ``LoadImageMask`` (channel ``red``) reads them: white = repaint.

Uploaded masks are already grayscale and the init image's size (:mod:`services.images`); black
masks are inverted, and ``--mask-source alpha`` becomes white wherever the image is transparent.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from services.errors import InvalidRequest
from services.offload import run_cpu
from services.types import InputImage, MaskSource

__all__ = ["comfy_mask"]


async def comfy_mask(init: InputImage, mask: InputImage | None, source: MaskSource) -> bytes:
    return await run_cpu(_comfy_mask, init, mask, source)


def _comfy_mask(init: InputImage, mask: InputImage | None, source: MaskSource) -> bytes:
    if source is MaskSource.ALPHA or mask is None:
        with Image.open(io.BytesIO(init.png)) as img:
            gray = img.convert("RGBA").getchannel("A").point(lambda a: 255 if a < 255 else 0)
    else:
        with Image.open(io.BytesIO(mask.png)) as img:
            gray = img.convert("L").point(lambda v: 255 if v >= 128 else 0)
        if source is MaskSource.BLACK:
            gray = ImageOps.invert(gray)
    if gray.getextrema()[1] == 0:
        raise InvalidRequest("The mask marks nothing to repaint; paint the area to change white.")
    out = io.BytesIO()
    gray.save(out, format="PNG")
    return out.getvalue()
