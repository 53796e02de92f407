"""Pieces every ``build()`` shares: the output size, the sampling fields, the input image."""

from __future__ import annotations

from typing import Any

from commands.errors import OptionError
from commands.flags import ParsedPrompt
from commands.invocation import Invocation
from commands.sizes import check_size, nearest_aspect_ratio, size_for_ratio
from services.backends.base import BackendLimits
from services.images import load_input_image
from services.types import InputImage

__all__ = ["input_image", "missing_image", "output_size", "sampling_fields"]


def output_size(parsed: ParsedPrompt, limits: BackendLimits) -> tuple[int | None, int | None, str | None]:
    """``(width, height, aspect_ratio)`` for a text-to-image request.

    ``--ar`` maps to the nearest size the backend can make (keeping the ratio as typed);
    ``--size`` must be exact; neither gives ``limits.default_size``. Backends that take
    ratios instead of sizes (``limits.aspect_ratios``) get the nearest allowed ratio and no size.
    """
    ratio = parsed.get("aspect_ratio")
    size = parsed.get("size")
    if isinstance(ratio, str):
        if limits.aspect_ratios is not None and not limits.allowed_sizes:
            return None, None, nearest_aspect_ratio(ratio, limits.aspect_ratios)
        w, h = size_for_ratio(ratio, limits)
        return w, h, ratio
    if isinstance(size, tuple):
        w, h = check_size(size, limits)
        return w, h, None
    if limits.aspect_ratios is not None and not limits.allowed_sizes:
        return None, None, None
    return limits.default_size[0], limits.default_size[1], None


def sampling_fields(parsed: ParsedPrompt, limits: BackendLimits) -> dict[str, Any]:
    """Keyword arguments of ``GenerationRequest`` shared by imagine, remix and inpaint.

    Steps and CFG scale are filled with the backend's defaults so the stored request says
    exactly what was run (rerolls reproduce it); the model stays None (backend default).
    """
    unsupported = limits.unsupported_options
    return {
        "samples": parsed.get_int("samples", 1),
        "seed": parsed.get_int("seed"),
        "steps": None if "steps" in unsupported else parsed.get_int("steps", limits.default_steps),
        "cfg_scale": None if "cfg_scale" in unsupported else parsed.get_float("cfg_scale", limits.default_cfg_scale),
        "style_preset": parsed.get_str("style"),
        "sampler": parsed.get_str("sampler"),
        "scheduler": parsed.get_str("scheduler"),
        "model": parsed.get_str("model"),
    }


async def input_image(inv: Invocation, limits: BackendLimits, *, name: str = "image") -> InputImage | None:
    """The uploaded ``name`` image, loaded safely; else ``inv.source_image`` for ``"image"``.

    An upload wins over a stored original. Returns None when there is none (the caller
    decides whether that is an error).
    """
    data = inv.images.get(name)
    if data:
        return await load_input_image(data, limits, what=name)
    if name == "image":
        return inv.source_image
    return None


def missing_image(command: str) -> OptionError:
    return OptionError(f"/{command} needs an image: please attach one.", option="image")
