"""easel's masks in OpenAI's convention: a PNG whose fully transparent pixels are the ones to edit.

easel users give a white-means-repaint mask (``--mask-source white``), a black one, or an image
with transparent holes (``alpha``); :mod:`services.images` has already made uploaded masks
grayscale and exactly the init image's size. OpenAI wants an RGBA PNG of the first image's size
with alpha 0 where it may paint and alpha 255 elsewhere::

    png = await openai_mask(request.init_image, request.mask_image, MaskSource.WHITE)
"""

from __future__ import annotations

import io

from PIL import Image

from services.masks import repaint_selection
from services.offload import run_cpu
from services.types import InputImage, MaskSource

__all__ = ["openai_mask"]


async def openai_mask(init: InputImage, mask: InputImage | None, source: MaskSource) -> bytes:
    """The mask OpenAI's ``/v1/images/edits`` takes, built off the event loop."""
    return await run_cpu(_openai_mask, init, mask, source)


def _openai_mask(init: InputImage, mask: InputImage | None, source: MaskSource) -> bytes:
    edit = repaint_selection(init, mask, source)
    out = Image.new("RGBA", edit.size, (0, 0, 0, 255))
    out.putalpha(edit.point(lambda v: 0 if v else 255))
    buffer = io.BytesIO()
    out.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
