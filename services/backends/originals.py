"""An image a service sent back, as easel's clean original: PNG kept byte for byte, any other
format Pillow reads (JPEG, WebP from compatible servers, previews) re-encoded as PNG.

::

    image = await run_cpu(original_from, data, seed, backend="openai")   # GeneratedImage

CPU work: call it through :func:`services.offload.run_cpu`.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from services.errors import BackendError
from services.imaging import png_bytes
from services.types import GeneratedImage

__all__ = ["as_png", "original_from"]


def as_png(data: bytes, *, backend: str) -> tuple[bytes, int, int]:
    """``(png, width, height)``; ``BackendError`` when the bytes are no image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if img.format != "PNG":
                img.load()
                data = png_bytes(img.convert("RGBA") if "A" in img.getbands() else img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise BackendError(log_detail=f"{backend}: unreadable image ({type(exc).__name__})") from None
    return data, width, height


def original_from(data: bytes, seed: int, *, backend: str) -> GeneratedImage:
    png, width, height = as_png(data, backend=backend)
    return GeneratedImage(png=png, seed=seed, width=width, height=height)
