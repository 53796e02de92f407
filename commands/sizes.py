"""Aspect ratios and sizes: ``--ar 16:9`` → the nearest size the backend can make.

::

    size_for_ratio("16:9", sdxl_limits)   # (1344, 768): closest ratio among SDXL's sizes
    size_for_ratio("16:9", free_limits)   # near default_size's pixel count, multiples of 64
    check_size((1000, 1000), sdxl_limits) # raises "did you mean 1024x1024?"

Ratios are compared in log space, so 2:1 and 1:2 are equally far from 1:1.
"""

from __future__ import annotations

import math
import re

from commands.errors import OptionError, OptionUnsupported, cut, quote
from services.backends.base import BackendLimits

__all__ = [
    "check_size",
    "format_size",
    "nearest_aspect_ratio",
    "parse_ratio",
    "parse_size",
    "ratio_value",
    "size_for_ratio",
]

_RATIO_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*[:/]\s*(\d+(?:\.\d+)?|\.\d+)\s*$")
_SIZE_RE = re.compile(r"^\s*(\d{1,6})\s*[x×X*]\s*(\d{1,6})\s*$")
_MAX_RATIO = 20.0  # anything wider than 20:1 is a typo, not a picture
_PIXEL_WEIGHT = 0.5  # how much a pixel-count mismatch counts against a ratio mismatch


def format_size(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _fmt_num(text: str) -> str:
    """``"16.0"`` → ``"16"``, ``"2.350"`` → ``"2.35"``, ``".5"`` → ``"0.5"``."""
    value = float(text)
    return str(int(value)) if value == int(value) else f"{value:g}"


def parse_ratio(text: str, *, flag: str = "--ar") -> str:
    """Validate ``W:H`` (decimals allowed, ``/`` accepted) and return it as ``"W:H"``."""
    match = _RATIO_RE.match(text)
    if not match:
        raise OptionError(
            f"{flag} needs an aspect ratio like 16:9 or 2:3, not {quote(text)}.", option="aspect_ratio"
        )
    w, h = float(match.group(1)), float(match.group(2))
    if not (math.isfinite(w) and math.isfinite(h)) or max(len(match.group(1)), len(match.group(2))) > 12:
        raise OptionError(
            f"{flag} {cut(text)} is too extreme; ratios up to {_MAX_RATIO:g}:1 are accepted.",
            option="aspect_ratio",
        )
    if w <= 0 or h <= 0:
        raise OptionError(
            f"{flag} {cut(text)}: both sides of the ratio must be above 0.", option="aspect_ratio"
        )
    if max(w / h, h / w) > _MAX_RATIO:
        raise OptionError(
            f"{flag} {cut(text)} is too extreme; ratios up to {_MAX_RATIO:g}:1 are accepted.",
            option="aspect_ratio",
        )
    return f"{_fmt_num(match.group(1))}:{_fmt_num(match.group(2))}"


def ratio_value(ratio: str) -> float:
    """``"16:9"`` → 1.777…"""
    w, h = ratio.split(":")
    return float(w) / float(h)


def parse_size(text: str, *, flag: str = "--size") -> tuple[int, int]:
    match = _SIZE_RE.match(text)
    if not match:
        raise OptionError(f"{flag} needs a size like 1024x768, not {quote(text)}.", option="size")
    if max(len(match.group(1)), len(match.group(2))) > 6:  # int() refuses 4,300+ digits; no side is a million
        raise OptionError(f"{flag} {cut(text)} is far larger than any image I can make.", option="size")
    w, h = int(match.group(1)), int(match.group(2))
    if w <= 0 or h <= 0:
        raise OptionError(f"{flag} {cut(text)}: width and height must be above 0.", option="size")
    return (w, h)


def _score(size: tuple[int, int], log_ratio: float, target_pixels: float) -> float:
    w, h = size
    return abs(math.log(w / h) - log_ratio) + _PIXEL_WEIGHT * abs(math.log(w * h / target_pixels))


def _nearest(
    candidates: list[tuple[int, int]] | tuple[tuple[int, int], ...], ratio: float, target_pixels: float
) -> tuple[int, int]:
    log_ratio = math.log(ratio)
    # Ratio first (what the user asked for); pixel count only breaks near-ties.
    return min(
        candidates,
        key=lambda s: (round(abs(math.log(s[0] / s[1]) - log_ratio), 3), _score(s, log_ratio, target_pixels)),
    )


def _free_sizes(limits: BackendLimits) -> list[tuple[int, int]]:
    m = max(limits.size_multiple, 1)
    low = math.ceil(limits.min_side / m) * m
    high = (limits.max_side // m) * m
    sides = range(low, high + 1, m)
    return [(w, h) for w in sides for h in sides if limits.min_pixels <= w * h <= limits.max_pixels]


def _best_free_size(ratio: float, target_pixels: float, limits: BackendLimits) -> tuple[int, int]:
    candidates = _free_sizes(limits)
    if not candidates:
        return limits.default_size
    log_ratio = math.log(ratio)
    return min(candidates, key=lambda s: _score(s, log_ratio, target_pixels))


def size_for_ratio(ratio: str, limits: BackendLimits) -> tuple[int, int]:
    """The size to render a ``W:H`` ratio at on this backend.

    With ``allowed_sizes`` (SDXL): the allowed size whose ratio is closest. Otherwise: a
    size near ``default_size``'s pixel count, sides multiples of ``size_multiple`` within
    ``min_side``..``max_side`` and at most ``max_pixels``.
    """
    value = ratio_value(ratio)
    target = limits.default_size[0] * limits.default_size[1]
    if limits.allowed_sizes:
        return _nearest(limits.allowed_sizes, value, target)
    return _best_free_size(value, target, limits)


def nearest_aspect_ratio(ratio: str, allowed: tuple[str, ...]) -> str:
    """For backends that take ratios: the allowed ratio closest to ``ratio``."""
    log_ratio = math.log(ratio_value(ratio))
    return min(allowed, key=lambda r: abs(math.log(ratio_value(r)) - log_ratio))


def check_size(size: tuple[int, int], limits: BackendLimits, *, flag: str = "--size") -> tuple[int, int]:
    """Accept ``size`` only if this backend can make it exactly; else suggest the nearest."""
    w, h = size
    text = format_size(size)
    if limits.allowed_sizes is None and limits.aspect_ratios is not None:
        raise OptionUnsupported(
            f"{flag} isn't available on this backend; use --ar with one of {', '.join(limits.aspect_ratios)}.",
            option="size",
        )
    if limits.allowed_sizes:
        if size in limits.allowed_sizes:
            return size
        nearest = _nearest(limits.allowed_sizes, w / h, w * h)
        allowed = ", ".join(format_size(s) for s in limits.allowed_sizes)
        raise OptionError(
            f"{flag} {cut(text)} isn't a size this model can make. Did you mean {format_size(nearest)}? "
            f"Allowed sizes: {allowed} (or use --ar W:H).",
            option="size",
        )
    m = limits.size_multiple
    ok = (
        w % m == 0
        and h % m == 0
        and limits.min_side <= w <= limits.max_side
        and limits.min_side <= h <= limits.max_side
        and limits.min_pixels <= w * h <= limits.max_pixels
    )
    if ok:
        return size
    nearest = _best_free_size(w / h, min(max(w * h, limits.min_pixels), limits.max_pixels), limits)
    at_least = f"at least {limits.min_pixels / 1e6:.2f} MP and " if limits.min_pixels else ""
    raise OptionError(
        f"{flag} {cut(text)} isn't possible here: width and height must be multiples of {m} between "
        f"{limits.min_side} and {limits.max_side}, {at_least}at most {limits.max_pixels / 1e6:.1f} MP in total. "
        f"Did you mean {format_size(nearest)}?",
        option="size",
    )
