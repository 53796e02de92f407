"""Pillow primitives on encoded images (bytes in, bytes out) that several modules share.

::

    small = await run_cpu(resize_png, png, (512, 512))                  # LANCZOS; nearest=True for masks
    flipped = await run_cpu(invert_png, mask_png)                       # black-means-repaint → white
    data, content_type = await run_cpu(smaller_encoding, png, has_alpha=False, quality=90)

Every function here is CPU work on images we made or already checked (uploads pass through
:func:`services.images.load_input_image` first): call them through
:func:`services.offload.run_cpu`, never on the event loop.

The PNGs made here keep what Pillow carries in ``img.info`` (unlike
:func:`services.images.encode_png`, which strips metadata from uploads) and use zlib level 4.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image, ImageOps

__all__ = [
    "EDIT_PNG_COMPRESS_LEVEL",
    "invert_png",
    "jpeg_bytes",
    "png_bytes",
    "resize_png",
    "smaller_encoding",
    "to_png",
    "transparency_and_size",
    "webp_bytes",
]

#: zlib level of the PNGs made while editing (resized inputs, inverted masks, pasted-back results).
EDIT_PNG_COMPRESS_LEVEL: Final = 4


def png_bytes(img: Image.Image, level: int = EDIT_PNG_COMPRESS_LEVEL) -> bytes:
    """``img`` encoded as PNG."""
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=level)
    return out.getvalue()


def jpeg_bytes(img: Image.Image, quality: int, *, progressive: bool = False) -> bytes:
    """``img`` encoded as JPEG; JPEG has no alpha, so anything but RGB is flattened onto white
    (the background chat clients mostly show)."""
    if img.mode != "RGB":
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality, optimize=True, progressive=progressive)
    return out.getvalue()


def webp_bytes(img: Image.Image, quality: int) -> bytes:
    """``img`` encoded as lossy WebP (keeps transparency)."""
    out = io.BytesIO()
    img.save(out, format="WEBP", quality=quality, method=4)
    return out.getvalue()


def to_png(data: bytes) -> bytes:
    """Any image Pillow reads (JPEG, WebP, …) re-encoded as PNG."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return png_bytes(img)


def resize_png(png: bytes, size: tuple[int, int], *, nearest: bool = False) -> bytes:
    """``png`` scaled to ``size`` (LANCZOS; ``nearest`` keeps a mask's hard edges hard)."""
    with Image.open(io.BytesIO(png)) as img:
        img.load()
        method = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
        return png_bytes(img.resize(size, method))


def invert_png(png: bytes) -> bytes:
    """The greyscale negative of ``png`` (a mask whose black meant "repaint" now says it in white)."""
    with Image.open(io.BytesIO(png)) as img:
        grey = img.convert("L")
    return png_bytes(ImageOps.invert(grey))


def transparency_and_size(data: bytes) -> tuple[bool, tuple[int, int]]:
    """Whether an image may have transparency (by mode or a transparency entry), and its size."""
    with Image.open(io.BytesIO(data)) as img:
        return img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info, img.size


def smaller_encoding(png: bytes, *, has_alpha: bool, quality: int) -> tuple[bytes, str]:
    """A smaller encoding of ``png`` and its content type: JPEG, or WebP when transparency must survive."""
    with Image.open(io.BytesIO(png)) as img:
        img.load()
        if has_alpha:
            return webp_bytes(img.convert("RGBA"), quality), "image/webp"
        return jpeg_bytes(img.convert("RGB"), quality), "image/jpeg"
