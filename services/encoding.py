"""Fitting a finished batch into a chat platform's upload limit.

::

    files = await fit_upload(pngs, max_total_bytes=interaction.filesize_limit)
    for group in split_batches(files, max_total_bytes=limit, max_files=10):
        await channel.send(files=[discord.File(io.BytesIO(f.data), f"easel.{f.extension}") for f in group])

Lossless PNG is kept whenever the whole batch fits. Otherwise each image gets a fair share of
the budget (smallest first, so what a small image does not use goes to the larger ones) and
walks down a ladder until it fits: PNG, WebP at quality 90 (visually lossless, several times
smaller), then JPEG at decreasing quality, then JPEG down-scaled step by step. It never fails
for size: a result is always returned, at worst a small JPEG thumbnail.

Content credentials: a re-encode changes every byte a C2PA manifest's hash covers (and WebP or
JPEG carry none of the PNG's chunks), so each image may come with a ``recredential`` function
(:attr:`services.types.PublishedImage.recredential`) that signs the *final* encoding. The
manifest's own size (the certificate chain, ~5–20 kB) counts against the budget: when the signed
file does not fit, the ladder runs again for the budget minus that overhead. A PNG that fits
as it is keeps the credential it was published with. Should even the smallest signed file not
fit, the unsigned one is posted (the picture matters more than its credentials) and logged.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from PIL import Image

from services.images import sniff_format
from services.imaging import jpeg_bytes, webp_bytes
from services.offload import run_cpu
from services.types import Recredential

__all__ = ["EncodedFile", "fit_upload", "fit_upload_sync", "split_batches"]

log = logging.getLogger(__name__)

_WEBP_QUALITY: Final = 90
_JPEG_QUALITIES: Final = (88, 80, 70, 60, 50)
_DOWNSCALE_JPEG_QUALITY: Final = 75
_DOWNSCALE_STEP: Final = 0.75
_MIN_SIDE: Final = 16
_CONTENT_TYPES: Final = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_EXTENSIONS: Final = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}


@dataclass(frozen=True, slots=True)
class EncodedFile:
    """One file ready to upload. Unpacks like a tuple: ``data, content_type, extension = f``."""

    data: bytes
    content_type: str  # "image/png"
    extension: str  # "png", without the dot

    def __iter__(self) -> Iterator[bytes | str]:
        return iter((self.data, self.content_type, self.extension))

    @property
    def size(self) -> int:
        return len(self.data)


def _as_is(data: bytes) -> EncodedFile:
    fmt = sniff_format(data) or "PNG"
    return EncodedFile(data, _CONTENT_TYPES[fmt], _EXTENSIONS[fmt])


def _encode(img: Image.Image, fmt: str, quality: int) -> EncodedFile:
    data = webp_bytes(img, quality) if fmt == "WEBP" else jpeg_bytes(img, quality, progressive=True)
    return EncodedFile(data, _CONTENT_TYPES[fmt], _EXTENSIONS[fmt])


def _decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as src:
        src.load()
        return src.convert("RGBA") if src.mode in ("RGBA", "LA", "PA", "P") else src.convert("RGB")


def _fit_one(data: bytes, budget: int, recredential: Recredential | None = None) -> EncodedFile:
    """The best-quality encoding of ``data`` no larger than ``budget``, signed when it was re-encoded."""
    original = _as_is(data)
    if original.size <= budget:
        return original
    img = _decoded(data)
    fitted = _ladder(img, budget)
    if recredential is None:
        return fitted
    signed = _signed(fitted, recredential)
    if signed.size <= budget:
        return signed
    refitted = _ladder(img, max(1, budget - (signed.size - fitted.size)))
    signed = _signed(refitted, recredential)
    if signed.size <= budget or refitted.size > budget:
        return signed
    log.warning("c2pa.dropped_for_size", extra={"bytes": signed.size, "budget_bytes": budget})
    return refitted


def _signed(file: EncodedFile, recredential: Recredential) -> EncodedFile:
    return EncodedFile(recredential(file.data, file.content_type), file.content_type, file.extension)


def _ladder(img: Image.Image, budget: int) -> EncodedFile:
    """WebP 90, JPEG at falling quality, then down-scaled JPEG: the first that fits ``budget``."""
    candidate = _encode(img, "WEBP", _WEBP_QUALITY)
    if candidate.size <= budget:
        return candidate
    for quality in _JPEG_QUALITIES:
        candidate = _encode(img, "JPEG", quality)
        if candidate.size <= budget:
            return candidate
    w, h = img.size
    while min(w, h) > _MIN_SIDE:
        # Estimate the scale from the last size (bytes ~ pixels), but move at least one step.
        ratio = min(_DOWNSCALE_STEP, (budget / candidate.size) ** 0.5 * 0.95)
        w, h = max(_MIN_SIDE, int(w * ratio)), max(_MIN_SIDE, int(h * ratio))
        small = img.resize((w, h), Image.Resampling.LANCZOS)
        candidate = _encode(small, "JPEG", _DOWNSCALE_JPEG_QUALITY)
        if candidate.size <= budget:
            log.info("encoding.downscaled", extra={"width": w, "height": h, "budget_bytes": budget})
            return candidate
    log.warning("encoding.over_budget", extra={"bytes": candidate.size, "budget_bytes": budget})
    return candidate


def fit_upload_sync(
    images: Sequence[bytes],
    max_total_bytes: int,
    *,
    max_file_bytes: int | None = None,
    recredentials: Sequence[Recredential | None] = (),
) -> list[EncodedFile]:
    """:func:`fit_upload` in the calling thread (for worker code and tests)."""
    per_file = max_file_bytes if max_file_bytes is not None else max_total_bytes
    if sum(len(d) for d in images) <= max_total_bytes and all(len(d) <= per_file for d in images):
        return [_as_is(d) for d in images]
    out: list[EncodedFile | None] = [None] * len(images)
    remaining, left = max_total_bytes, len(images)
    for i in sorted(range(len(images)), key=lambda i: len(images[i])):
        budget = max(1, min(per_file, remaining // left))
        encoded = _fit_one(images[i], budget, recredentials[i] if i < len(recredentials) else None)
        out[i] = encoded
        remaining -= encoded.size
        left -= 1
    return [f for f in out if f is not None]


async def fit_upload(
    images: Sequence[bytes],
    max_total_bytes: int,
    *,
    max_file_bytes: int | None = None,
    recredentials: Sequence[Recredential | None] = (),
) -> list[EncodedFile]:
    """Encode ``images`` (in order) so that together they fit ``max_total_bytes``.

    ``max_file_bytes`` additionally caps each file (Slack and Discord limit both);
    ``recredentials[i]``, when given, signs image ``i``'s re-encoded file. Runs off the event loop.
    """
    return await run_cpu(
        fit_upload_sync, images, max_total_bytes, max_file_bytes=max_file_bytes, recredentials=recredentials
    )


def split_batches(
    files: Sequence[EncodedFile], max_total_bytes: int, *, max_files: int | None = None
) -> list[list[EncodedFile]]:
    """Group ``files`` in order into messages of at most ``max_total_bytes`` (and ``max_files``).

    A file larger than the limit on its own gets a message of its own rather than being dropped.
    """
    groups: list[list[EncodedFile]] = []
    current: list[EncodedFile] = []
    total = 0
    for f in files:
        full = max_files is not None and len(current) >= max_files
        if current and (full or total + f.size > max_total_bytes):
            groups.append(current)
            current, total = [], 0
        current.append(f)
        total += f.size
    if current:
        groups.append(current)
    return groups
