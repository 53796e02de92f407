"""Safe loading of user-supplied images, and shaping them for a backend.

Every upload (init image, mask) passes through :func:`load_input_image` before anything else
looks at it, because uploads are hostile by default: text files named ``.png``, 20 000 × 20 000
PNG bombs, truncated JPEGs, CMYK or 16-bit files, phone photos lying on their side.

::

    img = await load_input_image(raw, backend.limits, what="image")   # InvalidRequest if unusable
    init = await fit_to_backend_async(img, backend.limits)            # a size the engine allows
    mask = await prepare_mask_async(await load_input_image(raw_mask, limits, what="mask"), img, init)

The order of checks is deliberate, cheapest and safest first: byte count, magic bytes, the
size written in the header (read without decoding, see :func:`image_size`), then decoding.
Pillow's own decompression-bomb check is never reached with a size we have not already
approved: files are opened through the format's plugin class (which reads the header only and
does not run the global check, so no ``DecompressionBombWarning`` is ever emitted — pytest runs
with warnings as errors, and toggling warning filters from worker threads is not thread-safe),
and our pixel limit is capped at ``Image.MAX_IMAGE_PIXELS`` anyway.

All CPU work runs in :func:`services.offload.run_cpu` via the ``async`` functions; the ``*_sync``
variants exist for the job runner's own worker code and for tests.
"""

from __future__ import annotations

import io
import logging
import math
import struct
from collections.abc import Callable
from typing import Final

from PIL import Image, ImageCms, ImageOps, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from services.backends.base import BackendLimits
from services.errors import InvalidRequest
from services.offload import run_cpu
from services.over_limit import over_and_limit
from services.types import InputImage

__all__ = [
    "PNG_COMPRESS_LEVEL",
    "encode_png",
    "fit_to_backend",
    "fit_to_backend_async",
    "image_size",
    "load_input_image",
    "load_input_image_sync",
    "open_trusted",
    "sniff_format",
]

log = logging.getLogger(__name__)

#: zlib level for the PNGs made here. Level 1 encodes a 1024² photo-like image in about half
#: the time of Pillow's default 6 for ~13 % more bytes (``bench/png_levels.py``); these PNGs
#: are intermediate (sent to a backend, stored), so speed wins.
PNG_COMPRESS_LEVEL: Final = 1

_UNREADABLE = "That {what} isn't an image I can read. Please upload a PNG, JPEG or WebP."
_DAMAGED = (
    "That {what} looks damaged or incomplete, so I can't read it. Please export it again and re-upload."
)

_PLUGINS: Final[dict[str, Callable[..., Image.Image]]] = {
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
}
# JPEG start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF: Final = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_ALPHA_MODES: Final = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


# ---------------------------------------------------------------------------- sniffing, header


def sniff_format(data: bytes) -> str | None:
    """``"PNG"``, ``"JPEG"`` or ``"WEBP"`` from the magic bytes, else ``None`` (names are ignored)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        w = 1 + int.from_bytes(data[24:27], "little")
        h = 1 + int.from_bytes(data[27:30], "little")
        return w, h
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # standalone markers
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF:
            if pos + 9 > end:
                return None
            h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return w, h
        pos += 2 + length
    return None


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header alone (PNG, JPEG, WebP); nothing is decoded.

    Raises :class:`InvalidRequest` when the bytes are not one of those formats or the header
    is cut short.
    """
    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidRequest(_UNREADABLE.format(what="image"), log_detail="image_size: unknown format")
    size = {"PNG": _png_size, "JPEG": _jpeg_size, "WEBP": _webp_size}[fmt](data)
    if size is None:
        raise InvalidRequest(_DAMAGED.format(what="image"), log_detail=f"image_size: bad {fmt} header")
    return size


# ---------------------------------------------------------------------------- loading


def encode_png(img: Image.Image, level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """PNG bytes without metadata (no EXIF, text chunks or ICC: pixels are already sRGB)."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=level, icc_profile=None)  # None: don't copy img.info's
    return buf.getvalue()


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (phone photos); a broken EXIF block is ignored, not fatal."""
    try:
        return ImageOps.exif_transpose(img)
    # UserWarning: Pillow warns on corrupt EXIF; where warnings are errors (tests) it arrives here.
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, struct.error, UserWarning) as exc:
        log.info("images.exif_ignored", extra={"error": str(exc)})
        return img


def _to_srgb(img: Image.Image) -> Image.Image:
    """Apply an embedded ICC profile (CMYK, Display P3, Adobe RGB) so colours survive stripping it."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return img
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        log.info("images.icc_ignored", extra={"mode": img.mode, "error": str(exc)})
        return img
    return converted if converted is not None else img


def _normalise_mode(img: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has any transparency; 16-bit and float scaled to 8 bits."""
    if img.mode.startswith("I"):
        # 16-bit samples (PNG opens them as I;16 or I): scale to 8 bits instead of clipping at 255.
        sixteen_bit = img.mode.startswith("I;16")
        img = img.convert("I")
        _lo, hi = img.getextrema()
        if sixteen_bit or (isinstance(hi, int) and hi > 255):
            img = img.point(lambda v: v * (1 / 257))
        img = img.convert("L")
    elif img.mode == "F":
        img = img.convert("L")

    transparent = img.mode in _ALPHA_MODES or "transparency" in img.info
    if img.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    if transparent:
        rgba = img.convert("RGBA")
        lo_a, _hi_a = rgba.getchannel("A").getextrema()
        if isinstance(lo_a, int) and lo_a < 255:
            return rgba
        return rgba.convert("RGB")  # an alpha channel that is opaque everywhere is no alpha at all
    return img if img.mode == "RGB" else img.convert("RGB")


def load_input_image_sync(data: bytes, limits: BackendLimits, *, what: str = "image") -> InputImage:
    """Validate and normalise one upload; see the module docstring for the order of checks.

    Returns an upright 8-bit RGB or RGBA :class:`InputImage` re-encoded as PNG; ``has_alpha``
    is true only when some pixel is actually transparent.
    """
    if not data:
        raise InvalidRequest(f"That {what} is empty. Please upload a PNG, JPEG or WebP.")
    if len(data) > limits.max_input_bytes:
        yours, most = over_and_limit(len(data), limits.max_input_bytes, scale=1_048_576)
        raise InvalidRequest(
            f"That {what} is {yours} MB; the largest I accept is {most} MB. Please upload a smaller file.",
            log_detail=f"input bytes={len(data)} limit={limits.max_input_bytes}",
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidRequest(_UNREADABLE.format(what=what), log_detail=f"unknown magic {data[:8]!r}")
    size = {"PNG": _png_size, "JPEG": _jpeg_size, "WEBP": _webp_size}[fmt](data)
    if size is None:
        raise InvalidRequest(_DAMAGED.format(what=what), log_detail=f"no {fmt} size in header")
    _check_pixels(size, limits, what)

    try:
        img = _PLUGINS[fmt](io.BytesIO(data))
        _check_pixels(img.size, limits, what)  # the decoder's own reading of the header
        img.load()
        img = _upright(img)
        img = _to_srgb(img)
        img = _normalise_mode(img)
    except InvalidRequest:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError) as exc:
        raise InvalidRequest(_DAMAGED.format(what=what), log_detail=f"decode {fmt}: {exc}") from exc
    except MemoryError as exc:
        raise InvalidRequest(
            f"That {what} is too large for me to open. Please upload a smaller one.",
            log_detail="MemoryError while decoding",
        ) from exc
    return InputImage(png=encode_png(img), width=img.width, height=img.height, has_alpha=img.mode == "RGBA")


def _check_pixels(size: tuple[int, int], limits: BackendLimits, what: str) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise InvalidRequest(_DAMAGED.format(what=what), log_detail=f"header size {w}x{h}")
    limit = limits.max_input_pixels
    if Image.MAX_IMAGE_PIXELS is not None:
        limit = min(limit, int(Image.MAX_IMAGE_PIXELS))
    if w * h > limit:
        side = math.isqrt(limit)
        yours, most = over_and_limit(w * h, limit, scale=1e6)
        raise InvalidRequest(
            f"That {what} is {w}×{h} pixels ({yours} megapixels); the most I accept is "
            f"{most} megapixels (about {side}×{side}). Please upload a smaller one.",
            log_detail=f"input pixels={w * h} limit={limit}",
        )


async def load_input_image(data: bytes, limits: BackendLimits, *, what: str = "image") -> InputImage:
    """:func:`load_input_image_sync` off the event loop."""
    return await run_cpu(load_input_image_sync, data, limits, what=what)


def open_trusted(img: InputImage) -> Image.Image:
    """Decode a PNG we produced ourselves (already checked, so Image.open is fine)."""
    pil = Image.open(io.BytesIO(img.png))
    pil.load()
    return pil


# ---------------------------------------------------------------------------- fitting


def _size_allowed(w: int, h: int, limits: BackendLimits) -> bool:
    if limits.allowed_sizes is not None:
        return (w, h) in limits.allowed_sizes
    m = limits.size_multiple
    return (
        w % m == 0
        and h % m == 0
        and limits.min_side <= min(w, h)
        and max(w, h) <= limits.max_side
        and w * h <= limits.max_pixels
    )


def target_size(width: int, height: int, limits: BackendLimits) -> tuple[int, int]:
    """The size :func:`fit_to_backend` gives an image of ``width``×``height``."""
    if _size_allowed(width, height, limits):
        return width, height
    ratio = width / height
    if limits.allowed_sizes:
        # Nearest aspect ratio on a log scale (2:1 and 1:2 are equally far from 1:1);
        # ties go to the larger size, which keeps more detail.
        return min(limits.allowed_sizes, key=lambda s: (abs(math.log((s[0] / s[1]) / ratio)), -s[0] * s[1]))

    m = limits.size_multiple
    lo = max(m, math.ceil(limits.min_side / m) * m)
    hi = max(lo, limits.max_side // m * m)
    scale = min(1.0, math.sqrt(limits.max_pixels / (width * height)), limits.max_side / max(width, height))
    scale = max(scale, limits.min_side / min(width, height))

    def snap(v: float) -> int:
        return min(hi, max(lo, int(v) // m * m))

    w, h = snap(width * scale), snap(height * scale)
    while w * h > limits.max_pixels and max(w, h) > lo:
        if w >= h:
            w -= m
        else:
            h -= m
    return w, h


def fit_to_backend(img: InputImage, limits: BackendLimits) -> InputImage:
    """Give an init image a size the engine accepts, keeping its content undistorted.

    With a closed list of sizes (SDXL) the allowed size of nearest aspect ratio is chosen;
    otherwise the image is scaled to fit ``max_pixels``/``max_side`` (and up to ``min_side``)
    and rounded down to ``size_multiple``. Either way the image is scaled to cover the target
    and centre-cropped, so nothing is stretched. An image already of an allowed size is
    returned unchanged (the same object).
    """
    tw, th = target_size(img.width, img.height, limits)
    if (tw, th) == (img.width, img.height):
        return img
    pil = open_trusted(img)
    fitted = ImageOps.fit(pil, (tw, th), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    return InputImage(png=encode_png(fitted), width=tw, height=th, has_alpha=img.has_alpha)


async def fit_to_backend_async(img: InputImage, limits: BackendLimits) -> InputImage:
    return await run_cpu(fit_to_backend, img, limits)
