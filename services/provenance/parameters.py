"""The A1111-style ``parameters`` text chunk on clean originals.

::

    text = parameters_text(request, seed=1234, model="sdxl")
    png = with_parameters(original_png, text)     # same pixels, one iTXt chunk after IHDR

The format is what AUTOMATIC1111's web UI writes and reads back ("PNG Info"), so an original
dropped into A1111, ComfyUI or Civitai shows its prompt and settings::

    a lighthouse at dusk
    Negative prompt: blurry
    Steps: 30, CFG scale: 7, Seed: 1234, Size: 1024x1024, Model: sdxl, Sampler: DPM++ 2M

The chunk is spliced into the PNG without re-encoding (the original's pixels and bytes stay
as the backend sent them); a ``parameters`` chunk the backend already wrote is replaced.
Published copies are re-encoded by the watermarker and carry no text chunks.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

from services.types import GenerationRequest

__all__ = ["PARAMETERS_KEY", "parameters_text", "with_parameters"]

PARAMETERS_KEY: Final = "parameters"
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_TEXT_CHUNKS: Final = (b"tEXt", b"iTXt", b"zTXt")


def parameters_text(request: GenerationRequest, *, seed: int, model: str, width: int, height: int) -> str:
    """The A1111 ``parameters`` value for one image of ``request``."""
    fields: list[tuple[str, object]] = [
        ("Steps", request.steps),
        ("CFG scale", request.cfg_scale),
        ("Seed", seed),
        ("Size", f"{width}x{height}"),
        ("Model", model or request.model),
        ("Sampler", request.sampler),
        ("Schedule type", request.scheduler),
        ("Denoising strength", None if request.strength is None else round(1 - request.strength, 3)),
        ("Style preset", request.style_preset),
    ]
    lines = [request.positive_prompt]
    if request.negative_prompt:
        lines.append(f"Negative prompt: {request.negative_prompt}")
    lines.append(", ".join(f"{k}: {v}" for k, v in fields if v not in (None, "")))
    return "\n".join(lines)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _is_parameters(kind: bytes, data: bytes) -> bool:
    return kind in _TEXT_CHUNKS and data.split(b"\0", 1)[0] == PARAMETERS_KEY.encode()


def with_parameters(png: bytes, text: str) -> bytes:
    """``png`` with an uncompressed UTF-8 iTXt ``parameters`` chunk; non-PNG input is returned as is."""
    if not png.startswith(_PNG_SIGNATURE):
        return png
    itxt = _chunk(b"iTXt", PARAMETERS_KEY.encode() + b"\0\0\0\0\0" + text.encode("utf-8"))
    out = [_PNG_SIGNATURE]
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(png):
            return png  # truncated: leave what the backend sent alone
        if not _is_parameters(kind, png[pos + 8 : pos + 8 + length]):
            out.append(png[pos:end])
        if kind == b"IHDR":
            out.append(itxt)
        pos = end
    return b"".join(out) if pos == len(png) else png
