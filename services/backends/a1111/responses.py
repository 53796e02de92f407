"""Responses of an AUTOMATIC1111-compatible host back into easel types: images, seeds, progress.

Hosts answer base64 PNG (or JPEG/WebP, per their ``samples_format``); decoding and
re-encoding run off the event loop through :func:`run_cpu`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
from typing import Any

from PIL import Image

import services.backends.a1111.wire as wire
from services.errors import BackendError
from services.offload import run_cpu
from services.types import GeneratedImage, Progress

__all__ = ["decode_image", "decode_images", "progress_from"]


async def decode_images(
    body: Any, *, count: int, requested_seed: int | None, where: str
) -> tuple[tuple[GeneratedImage, ...], dict[str, Any]]:
    """txt2img/img2img response → images with their seeds (from ``info``), and the parsed ``info``."""
    if not isinstance(body, dict):
        raise BackendError(log_detail=f"{where}: response is not a JSON object")
    raw_images = [i for i in body.get("images") or [] if isinstance(i, str) and i]
    if not raw_images:
        raise BackendError(log_detail=f"{where}: response without images")
    info = wire.parse_info(body.get("info"))
    count = min(len(raw_images), count)  # extensions may append extra images (ControlNet maps, …)
    seeds = wire.seeds_from_info(info, count, requested_seed)
    images = []
    for b64, seed in zip(raw_images[:count], seeds, strict=True):
        png, width, height = await decode_image(b64)
        images.append(GeneratedImage(png=png, seed=seed, width=width, height=height))
    return tuple(images), info


async def decode_image(b64: str) -> tuple[bytes, int, int]:
    """Base64 from the host → PNG and its size (JPEG/WebP, per the host's samples_format, re-encoded)."""
    try:
        data = await run_cpu(base64.b64decode, wire.strip_data_url(b64), validate=True)
    except (binascii.Error, ValueError) as err:
        raise BackendError(log_detail="GPU host sent an image that is not valid base64") from err
    size = wire.png_size(data)
    if size is not None:
        return data, size[0], size[1]
    try:
        return await run_cpu(_to_png, data)
    except OSError as err:
        raise BackendError(log_detail="GPU host sent an image Pillow cannot read") from err


async def progress_from(body: wire.ProgressResponse, *, with_preview: bool) -> Progress | None:
    """A ``/progress`` answer → :class:`Progress`, or None while the host is idle (job still queued)."""
    state = body.get("state") or {}
    fraction = body.get("progress") or 0.0
    if not isinstance(fraction, int | float) or (fraction <= 0 and not state.get("job_count")):
        return None
    eta = body.get("eta_relative")
    eta_s = float(eta) if isinstance(eta, int | float) and eta >= 0 else None
    preview: bytes | None = None
    current = body.get("current_image")
    if with_preview and isinstance(current, str) and current:
        with contextlib.suppress(BackendError):
            preview, _, _ = await decode_image(current)
    step, steps = state.get("sampling_step"), state.get("sampling_steps")
    message = f"step {step}/{steps}" if isinstance(step, int) and isinstance(steps, int) and steps else ""
    return Progress(
        fraction=min(max(float(fraction), 0.0), 1.0), eta_s=eta_s, preview_png=preview, message=message
    )


def _to_png(data: bytes) -> tuple[bytes, int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue(), image.width, image.height
