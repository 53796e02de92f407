"""Reading Stability v1's generation answers into easel's :class:`GeneratedImage` values."""

from __future__ import annotations

import base64
import binascii
import json
import math

from services.errors import InvalidRequest
from services.images import image_size
from services.types import FinishReason, GeneratedImage

__all__ = ["decode_artifacts"]


def _size_of(png: bytes, fallback: tuple[int, int]) -> tuple[int, int]:
    """Read from the image header (nothing decoded); ``fallback`` when there is no image."""
    try:
        return image_size(png)
    except InvalidRequest:
        return fallback


def decode_artifacts(body: bytes, expected_size: tuple[int, int]) -> tuple[GeneratedImage, ...]:
    """Parse a generation response (raises ValueError when it is not what the API documents).

    Images the filter withheld (or that failed) come back with an empty ``png`` so nobody
    can publish them; their size is the one that was asked for.
    """
    payload = json.loads(body)
    artifacts = payload.get("artifacts") if isinstance(payload, dict) else None
    if not isinstance(artifacts, list) or not artifacts:
        raise ValueError("response has no artifacts")
    images: list[GeneratedImage] = []
    for item in artifacts:
        if not isinstance(item, dict):
            raise ValueError("artifact is not an object")
        raw_reason = item.get("finishReason", "SUCCESS")
        reason = (
            FinishReason(raw_reason) if raw_reason in ("SUCCESS", "CONTENT_FILTERED") else FinishReason.ERROR
        )
        png = b""
        if reason is FinishReason.SUCCESS:
            try:
                png = base64.b64decode(item["base64"], validate=True)
            except (KeyError, TypeError, binascii.Error) as exc:
                raise ValueError(f"artifact image is missing or not base64: {exc}") from None
        seed = item.get("seed", 0)
        width, height = _size_of(png, expected_size)
        images.append(
            GeneratedImage(
                png=png,
                seed=int(seed) if isinstance(seed, int | float) and math.isfinite(seed) else 0,
                width=width,
                height=height,
                finish_reason=reason,
            )
        )
    return tuple(images)
