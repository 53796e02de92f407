"""The pictures the fake answers with: deterministic, cheap, of the requested size (run in a thread)."""

from __future__ import annotations

import functools
import hashlib
import io
import math

from PIL import Image, ImageOps, UnidentifiedImageError

from tests.fakes.stability.rules import _bad

# --- image work (run in a thread) --------------------------------------------------------------


def _encode(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _colour(key: str, seed: int, index: int) -> tuple[int, int, int]:
    digest = hashlib.sha256(f"{key}\x00{seed}\x00{index}".encode()).digest()
    return digest[0], digest[1], digest[2]


def _open(data: bytes, name: str) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise _bad(f"invalid_mime_type: {name} is not a decodable image ({exc})") from None
    return img


def _image_size(data: bytes, name: str) -> tuple[int, int]:
    with _open(data, name) as img:
        return img.size


@functools.lru_cache(maxsize=64)  # bursts of identical requests (rate tests) stay cheap
def _render_solid(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    return _encode(Image.new("RGB", size, colour))


def _render_blend(init: bytes, colour: tuple[int, int, int], keep: float) -> bytes:
    with _open(init, "init_image") as img:
        base = img.convert("RGB")
    return _encode(Image.blend(Image.new("RGB", base.size, colour), base, keep))


def _render_masked(init: bytes, mask: bytes | None, source: str, colour: tuple[int, int, int]) -> bytes:
    with _open(init, "init_image") as img:
        base = img.convert("RGB")
        alpha = img.convert("RGBA").getchannel("A")
    if source == "INIT_IMAGE_ALPHA" or mask is None:
        repaint = ImageOps.invert(alpha)  # transparent pixels are repainted
    else:
        with _open(mask, "mask_image") as m:
            grey = m.convert("L")
        repaint = grey if source == "MASK_IMAGE_WHITE" else ImageOps.invert(grey)
    return _encode(Image.composite(Image.new("RGB", base.size, colour), base, repaint))


def _render_upscale(data: bytes, size: tuple[int, int]) -> bytes:
    with _open(data, "image") as img:
        return _encode(img.convert("RGB").resize(size, Image.Resampling.NEAREST))


def _image_info(data: bytes, name: str) -> tuple[tuple[int, int], bool]:
    """Size and whether the image has an alpha channel."""
    with _open(data, name) as img:
        alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
        return img.size, alpha


def _save(img: Image.Image, output_format: str) -> tuple[bytes, str]:
    out = io.BytesIO()
    if output_format == "jpeg":
        img.convert("RGB").save(out, "JPEG", quality=90)
    elif output_format == "webp":
        img.save(out, "WEBP", quality=90)
    else:
        img.save(out, "PNG", compress_level=1)
    return out.getvalue(), f"image/{output_format}"


def _v2_solid(size: tuple[int, int], colour: tuple[int, int, int], fmt: str) -> tuple[bytes, str]:
    if fmt == "png":
        return _render_solid(size, colour), "image/png"
    return _save(Image.new("RGB", size, colour), fmt)


def _v2_blend(init: bytes, colour: tuple[int, int, int], keep: float, fmt: str) -> tuple[bytes, str]:
    """image-to-image: the input's shape at about 1 megapixel, ``keep`` of the input blended in."""
    with _open(init, "image") as img:
        base = img.convert("RGB")
    scale = math.sqrt(1024 * 1024 / (base.width * base.height))
    size = (max(64, round(base.width * scale / 64) * 64), max(64, round(base.height * scale / 64) * 64))
    base = base.resize(size, Image.Resampling.BILINEAR)
    return _save(Image.blend(Image.new("RGB", size, colour), base, keep), fmt)


def _v2_inpaint(init: bytes, mask: bytes | None, colour: tuple[int, int, int], fmt: str) -> tuple[bytes, str]:
    """Paint ``colour`` where the mask is white (or the image transparent); the mask is resized to fit."""
    with _open(init, "image") as img:
        base = img.convert("RGB")
        alpha = img.convert("RGBA").getchannel("A")
    if mask is None:
        repaint = ImageOps.invert(alpha)
    else:
        with _open(mask, "mask") as m:
            repaint = m.convert("L").resize(base.size, Image.Resampling.NEAREST)
    return _save(Image.composite(Image.new("RGB", base.size, colour), base, repaint), fmt)


def _v2_outpaint(
    init: bytes, sides: tuple[int, int, int, int], colour: tuple[int, int, int], fmt: str
) -> tuple[bytes, str]:
    """New canvas in ``colour`` with the original pasted in, slightly re-rendered (10 % tint)."""
    left, right, up, down = sides
    with _open(init, "image") as img:
        base = img.convert("RGB")
    canvas = Image.new("RGB", (base.width + left + right, base.height + up + down), colour)
    canvas.paste(Image.blend(base, Image.new("RGB", base.size, colour), 0.1), (left, up))
    return _save(canvas, fmt)


def _v2_replace(init: bytes, colour: tuple[int, int, int], fmt: str) -> tuple[bytes, str]:
    """The "found" object is the middle of the picture: paint it in ``colour``."""
    with _open(init, "image") as img:
        base = img.convert("RGB")
    w, h = base.size
    base.paste(colour, (w // 4, h // 4, w - w // 4, h - h // 4))
    return _save(base, fmt)


def _v2_cutout(init: bytes, fmt: str) -> tuple[bytes, str]:
    """The "background" is a border of an eighth of each side: made transparent."""
    with _open(init, "image") as img:
        rgba = img.convert("RGBA")
    w, h = rgba.size
    alpha = Image.new("L", rgba.size, 0)
    alpha.paste(255, (w // 8, h // 8, w - w // 8, h - h // 8))
    rgba.putalpha(alpha)
    return _save(rgba, fmt)


def _v2_upscale(init: bytes, size: tuple[int, int], fmt: str) -> tuple[bytes, str]:
    with _open(init, "image") as img:
        return _save(img.convert("RGB").resize(size, Image.Resampling.NEAREST), fmt)
