"""The marks stamped on every published image: the visible corner plate, then the invisible mark.

::

    marker = Watermarker("AI generated", logo_path=settings.watermark_image, instance_id="3fa2c01b")
    published = await marker.publish(original_png, job_id=job_id)   # new bytes; the original is untouched

With an ``instance_id``, the published copy also carries the invisible mark
(:mod:`services.provenance`: instance id + job id), added after the visible plate and before
upload fitting, in the same decode/encode pass, so it survives what
:mod:`services.encoding` does to fit an upload (WebP/JPEG re-encode, downscale).

The mark sits in the bottom-right corner: light text (and the operator's optional logo, scaled
to the text height, on its left) on a translucent dark rounded plate, so it reads on white,
black and busy images alike. Its size follows the image's *short* side (3 %, at least 12 px),
so a 1536×640 banner and a 1024×1024 square carry marks of comparable visual weight.

Speed matters because a finished batch is stamped while other jobs are being acknowledged on a
2-core box. The plate (text + logo, already rendered and split into colour and alpha) is cached
per font size, and only the corner region is composited, so stamping costs about as much as
the decode and encode it cannot avoid (``bench/watermark.py``).

PNG level: published PNGs use zlib level 1 (:data:`services.images.PNG_COMPRESS_LEVEL`).
``bench/png_levels.py`` on a 1024×1024 photo-like image, ratios against Pillow's default 6 in
the same run (three runs on the shared 2-core box; times vary with its load)::

    level   time/L6      size/L6
      0     0.24–0.36    1.76    stored, 3.0 MB: too big for chat upload limits
      1     0.49–0.73    1.13    ← chosen: half the CPU, ~2.0 MB instead of ~1.75 MB
      2     0.53–0.78    1.13
      3     0.46–0.81    1.13
      4–9   0.85–1.38    1.00    no smaller than 6 on noisy pictures, and no faster

Levels 2–3 buy nothing over 1 on such images; 4–9 save 12 % of bytes for twice the CPU. When a
batch does not fit a platform's upload limit, :mod:`services.encoding` re-encodes it anyway,
so the extra bytes rarely cost anything.

``bench/watermark.py`` (1024×1024, median of 9): decode + encode at level 1 = 188 ms,
decode + stamp + encode = 192 ms, ratio 1.03 (the stamp itself: 2.6 ms); at level 6 the
same pair is 262 / 266 ms.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFont

from services.errors import BackendError
from services.fonts import WATERMARK_FONT
from services.images import PNG_COMPRESS_LEVEL
from services.offload import run_cpu
from services.provenance import MarkPayload, embed_mark
from services.provenance.credentials import ContentSigner
from services.types import Recredential

__all__ = ["MIN_FONT_PX", "TEXT_FRACTION", "Watermarker"]

log = logging.getLogger(__name__)

#: Text height as a fraction of the image's short side, and the smallest legible size.
TEXT_FRACTION: Final = 0.03
MIN_FONT_PX: Final = 12
_MARGIN_FRACTION: Final = 0.02
_PLATE_RGBA: Final = (0, 0, 0, 170)  # 2/3 black: white text on it has ≥ 6.5:1 contrast on any background
_TEXT_RGBA: Final = (255, 255, 255, 240)


@dataclass(frozen=True, slots=True)
class _Plate:
    """A rendered watermark: RGBA for alpha-compositing, colour + alpha for masked pastes."""

    rgba: Image.Image
    rgb: Image.Image
    luma: Image.Image
    alpha: Image.Image


@functools.lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The shipped font (:data:`services.fonts.WATERMARK_FONT`): the same mark on every install.

    Pillow's built-in font remains only as a last resort for a broken install (file deleted).
    """
    try:
        return ImageFont.truetype(WATERMARK_FONT, px)
    except OSError:
        log.warning("watermark.font_missing", extra={"path": str(WATERMARK_FONT)})
        return ImageFont.load_default(size=px)


def _load_logo(path: Path) -> Image.Image:
    try:
        with Image.open(path) as logo:
            logo.load()
            return logo.convert("RGBA")
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"The watermark image {path} could not be read as an image: {exc}") from exc


class Watermarker:
    """Stamps published copies; one instance is shared by every job (thread-safe)."""

    def __init__(
        self,
        text: str,
        logo_path: Path | None = None,
        *,
        png_compress_level: int = PNG_COMPRESS_LEVEL,
        instance_id: str | None = None,
        signer: ContentSigner | None = None,
    ) -> None:
        self.text = text.strip()
        self.instance_id = instance_id
        self.signer = signer
        self.png_compress_level = png_compress_level
        self._logo = _load_logo(logo_path) if logo_path is not None else None
        # FreeType faces are not safe to use from two threads at once; rendering is rare (cached).
        self._render_lock = threading.Lock()
        self._plates: Callable[[int], _Plate] = functools.lru_cache(maxsize=32)(self._render)

    @property
    def enabled(self) -> bool:
        """False when there is neither text nor logo (the operator turned the mark off)."""
        return bool(self.text) or self._logo is not None

    @staticmethod
    def font_px(width: int, height: int) -> int:
        """Text height in pixels for an image of this size."""
        return max(MIN_FONT_PX, round(min(width, height) * TEXT_FRACTION))

    def _render(self, font_px: int) -> _Plate:
        font = _font(font_px)
        pad_x, pad_y = round(font_px * 0.5), round(font_px * 0.3)
        if self.text:
            left, top, right, bottom = font.getbbox(self.text)
            text_w, text_h = int(right - left), int(bottom - top)
        else:
            left = top = text_w = text_h = 0
        content_h = max(text_h, font_px if self._logo is not None else 0)
        logo: Image.Image | None = None
        if self._logo is not None:
            lw, lh = self._logo.size
            logo_h = content_h
            logo = self._logo.resize((max(1, round(lw * logo_h / lh)), logo_h), Image.Resampling.LANCZOS)
        logo_w = logo.width if logo is not None else 0
        gap = round(font_px * 0.4) if logo is not None and self.text else 0
        w, h = 2 * pad_x + logo_w + gap + text_w, 2 * pad_y + content_h

        plate = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        ImageDraw.Draw(plate).rounded_rectangle((0, 0, w - 1, h - 1), radius=h // 4, fill=_PLATE_RGBA)
        ink = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        if logo is not None:
            ink.paste(logo, (pad_x, pad_y + (content_h - logo.height) // 2))
        if self.text:
            x = pad_x + logo_w + gap - left
            y = pad_y + (content_h - text_h) // 2 - top
            ImageDraw.Draw(ink).text((x, y), self.text, font=font, fill=_TEXT_RGBA)
        plate.alpha_composite(ink)
        # alpha_composite yields straight (not premultiplied) colour, which is what a masked paste wants.
        return _Plate(
            rgba=plate, rgb=plate.convert("RGB"), luma=plate.convert("L"), alpha=plate.getchannel("A")
        )

    def _plate_for(self, width: int, height: int) -> tuple[_Plate, int]:
        with self._render_lock:
            plate = self._plates(self.font_px(width, height))
        margin = max(2, round(min(width, height) * _MARGIN_FRACTION))
        room_w, room_h = width - 2 * margin, height - 2 * margin
        if plate.rgba.width > room_w or plate.rgba.height > room_h:
            # Long text on a small image: shrink the plate to fit (rare, so not cached).
            scale = max(1e-3, min(room_w / plate.rgba.width, room_h / plate.rgba.height))
            size = (max(1, int(plate.rgba.width * scale)), max(1, int(plate.rgba.height * scale)))
            rgba = plate.rgba.resize(size, Image.Resampling.LANCZOS)
            plate = _Plate(
                rgba=rgba, rgb=rgba.convert("RGB"), luma=rgba.convert("L"), alpha=rgba.getchannel("A")
            )
        return plate, margin

    def stamp(self, img: Image.Image) -> Image.Image:
        """Stamp a decoded image; returns a new image (the argument is not modified)."""
        return self._stamp(img, copy=True)

    def _stamp(self, img: Image.Image, *, copy: bool) -> Image.Image:
        if img.mode == "P" or img.mode.startswith("I") or img.mode in ("1", "F", "CMYK", "YCbCr"):
            # Modes a region cannot round-trip through RGBA (palettes would be re-quantised).
            has_alpha = img.mode == "P" and "transparency" in img.info
            img = img.convert("RGBA" if has_alpha else "RGB")
        elif copy:
            img = img.copy()
        if not self.enabled or img.width < 8 or img.height < 8:
            return img
        plate, margin = self._plate_for(img.width, img.height)
        box = (
            img.width - margin - plate.rgba.width,
            img.height - margin - plate.rgba.height,
            img.width - margin,
            img.height - margin,
        )
        if img.mode == "RGB":
            img.paste(plate.rgb, box, plate.alpha)  # masked paste == "over" onto opaque pixels
        elif img.mode == "L":
            img.paste(plate.luma, box, plate.alpha)
        else:  # RGBA, LA, …: composite properly so transparent corners get the plate's alpha
            region = img.crop(box).convert("RGBA")
            region.alpha_composite(plate.rgba)
            img.paste(region.convert(img.mode), box)
        return img

    def stamp_png(self, png: bytes, job_id: str | None = None) -> bytes:
        """Decode ``png``, stamp it (and mark it for ``job_id``), encode the result as PNG (same size)."""
        buf = io.BytesIO()
        try:
            with Image.open(io.BytesIO(png)) as src:
                src.load()
                stamped = self._stamp(src, copy=False)  # a throwaway decode: stamp it in place
                if self.instance_id is not None and job_id is not None:
                    stamped = embed_mark(stamped, MarkPayload.for_job(self.instance_id, job_id))
                stamped.save(buf, format="PNG", compress_level=self.png_compress_level)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise BackendError(log_detail=f"watermark: backend image could not be decoded: {exc}") from exc
        return buf.getvalue()

    def _signed(self, png: bytes, model: str, prompt: str) -> bytes:
        return self._signed_as(png, "image/png", model=model, prompt=prompt)

    def _signed_as(self, data: bytes, mime: str, *, model: str, prompt: str) -> bytes:
        if self.signer is None:
            return data
        try:
            return self.signer.sign(data, mime, model=model, prompt=prompt)
        except Exception as exc:  # c2pa's native errors: never lose the picture over its credentials
            log.warning("c2pa.sign_failed", extra={"error_kind": type(exc).__name__, "mime": mime})
            return data

    def recredential(self, *, model: str, prompt: str) -> Recredential | None:
        """Signs a copy that upload fitting re-encoded (PNG/JPEG/WebP), as :meth:`publish` signed
        the PNG; ``None`` without a signer. Call it from a worker thread (it is CPU work)."""
        if self.signer is None:
            return None
        return functools.partial(self._signed_as, model=model, prompt=prompt)

    def _publish_sync(self, png: bytes, job_id: str | None, model: str, prompt: str) -> bytes:
        return self._signed(self.stamp_png(png, job_id), model, prompt)

    async def publish(
        self, png: bytes, *, job_id: str | None = None, model: str = "", prompt: str = ""
    ) -> bytes:
        """The stamped (and, with a signer, C2PA-signed) copy of ``png`` to post, off the event loop."""
        return await run_cpu(self._publish_sync, png, job_id, model, prompt)

    async def credit_original(self, png: bytes, *, model: str, prompt: str) -> bytes:
        """The clean original with content credentials (unchanged without a signer); no marks."""
        if self.signer is None:
            return png
        return await run_cpu(self._signed, png, model, prompt)
