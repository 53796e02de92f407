"""What both Stability backends read from a :class:`GenerationRequest` the same way."""

from __future__ import annotations

import math

from services.errors import InvalidRequest
from services.types import InputImage

__all__ = ["NEED_PROMPT", "parse_ratio", "require_image"]

NEED_PROMPT = "Stability AI needs a text prompt: describe the picture you want."


def parse_ratio(text: str | None) -> float | None:
    """``"16:9"`` (or ``"1.5"``) as a positive number; None when it cannot be read."""
    if not text:
        return None
    left, sep, right = text.partition(":")
    try:
        ratio = float(left) / float(right) if sep else float(left)
    except (ValueError, ZeroDivisionError):
        return None
    return ratio if math.isfinite(ratio) and ratio > 0 else None


def require_image(image: InputImage | None, command: str) -> InputImage:
    """The image ``/command`` works on, or a clear refusal when none came with it."""
    if image is None:
        raise InvalidRequest(f"/{command} needs an image to work on.")
    return image
