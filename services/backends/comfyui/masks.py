"""easel's masks as ComfyUI's ``LoadImageMask`` (channel ``red``) reads them: white = repaint.

Uploaded masks are already grayscale and the init image's size (:mod:`services.images`); black
masks are inverted, and ``--mask-source alpha`` becomes white wherever the image is transparent.
"""

from __future__ import annotations

import io

from services.masks import repaint_selection
from services.offload import run_cpu
from services.types import InputImage, MaskSource

__all__ = ["comfy_mask"]


async def comfy_mask(init: InputImage, mask: InputImage | None, source: MaskSource) -> bytes:
    return await run_cpu(_comfy_mask, init, mask, source)


def _comfy_mask(init: InputImage, mask: InputImage | None, source: MaskSource) -> bytes:
    out = io.BytesIO()
    repaint_selection(init, mask, source).save(out, format="PNG")
    return out.getvalue()
