"""Finding the tile again in a picture that was cropped, re-scaled or rotated.

::

    residual = high_pass(luma)                    # content mostly gone, the mark left
    for period in candidate_periods(residual):    # 128 first, then what the autocorrelation shows
        ...
    hit = align(fold(residual_at_128), template)  # offset + quarter turns + sync strength

* **Crop** only shifts the tile: folding the residual onto one ``TILE_PX``² tile (summing every
  pixel at ``(y mod 128, x mod 128)``) stacks all repeats coherently, and a circular
  cross-correlation with the sync template (one FFT) gives the shift.
* **Re-scaling** changes the period: the residual's autocorrelation has peaks at multiples of
  it, the smallest strong one (refined to a fraction of a pixel) says how much to resample.
* **Quarter turns** rotate the folded tile; the four rotations are tried on the small tile.

The sync strength is a z-score (peak over the correlation surface's spread); unmarked pictures
stay below :data:`SYNC_THRESHOLD` (``bench/provenance.py`` prints the largest seen).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image

from services.provenance.pattern import TILE_PX, render, sync_chips

__all__ = ["SYNC_THRESHOLD", "Alignment", "align", "candidate_periods", "fold", "high_pass"]

SYNC_THRESHOLD: Final = 7.0
_MEAN_BLOCK: Final = 4
_ENERGY_BLOCK: Final = 16
_FLOOR: Final = 1.0  # grey levels: flat areas are not amplified past the mark's own size
_CLIP: Final = 3.0
_AC_MAX_PX: Final = 512
_MIN_PERIOD: Final = 20.0
_CANDIDATES: Final = 6


@dataclass(frozen=True, slots=True)
class Alignment:
    """Where the tile sits in a folded residual: shift (rows, cols), quarter turns, strength."""

    dy: int
    dx: int
    quarter_turns: int
    strength: float


def _local_mean(a: np.ndarray, factor: int) -> np.ndarray:
    """A cheap low-pass: ``factor``² block means, interpolated back (Pillow, float32 "F" images)."""
    h, w = a.shape
    small = Image.fromarray(a).reduce(factor)
    return np.asarray(small.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def high_pass(luma: np.ndarray) -> np.ndarray:
    """Luma minus its local mean, divided by the local spread (edges and text weigh less), clipped."""
    residual = luma - _local_mean(luma, _MEAN_BLOCK)
    local = np.sqrt(_local_mean(residual * residual, _ENERGY_BLOCK) + _FLOOR**2)
    return np.clip(residual / local, -_CLIP, _CLIP)


def fold(residual: np.ndarray, period: int = TILE_PX) -> np.ndarray:
    """The mean of every ``period``-periodic position (pixels past the last full repeat count too)."""
    h, w = residual.shape
    ph, pw = -(-h // period) * period, -(-w // period) * period
    padded = np.zeros((ph, pw), dtype=np.float32)
    padded[:h, :w] = residual
    counts = np.zeros((ph, pw), dtype=np.float32)
    counts[:h, :w] = 1.0
    shape = (ph // period, period, pw // period, period)
    total = padded.reshape(shape).sum(axis=(0, 2))
    n = counts.reshape(shape).sum(axis=(0, 2))
    folded = total / np.maximum(n, 1.0)
    return folded - float(folded.mean())


@functools.cache
def _template_fft() -> np.ndarray:
    return np.conj(np.fft.rfft2(render(sync_chips())))


def align(folded: np.ndarray) -> Alignment:
    """The best offset and quarter-turn of the sync template in a folded tile."""
    best = Alignment(0, 0, 0, float("-inf"))
    for turns in range(4):
        tile = np.rot90(folded, -turns)
        corr = np.fft.irfft2(np.fft.rfft2(tile) * _template_fft(), s=tile.shape)
        peak = int(np.argmax(corr))
        dy, dx = divmod(peak, corr.shape[1])
        z = (float(corr.flat[peak]) - float(corr.mean())) / (float(corr.std()) + 1e-12)
        if z > best.strength:
            best = Alignment(dy, dx, turns, z)
    return best


def candidate_periods(residual: np.ndarray) -> list[float]:
    """Tile periods (px) the residual's autocorrelation suggests, strongest first.

    The spectrum is half-whitened before the autocorrelation (periodic marks are lines in the
    spectrum, image content is broad), and an axis counts only where *both* axes agree: a tile
    repeats in x and y, stripes and text lines in one direction only.
    """
    h, w = residual.shape
    ch, cw = min(h, _AC_MAX_PX), min(w, _AC_MAX_PX)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    crop = residual[y0 : y0 + ch, x0 : x0 + cw]
    spectrum = np.fft.rfft2(crop - crop.mean())
    ac = np.fft.irfft2(np.abs(spectrum), s=crop.shape)
    n = min(ch, cw) // 2
    profile = np.minimum(ac[0, :n], ac[:n, 0])
    lags = np.arange(n)
    usable = (lags >= _MIN_PERIOD) & (lags < n - 1)
    if not usable.any():
        return []
    inner = profile[1:-1]
    peaks = np.flatnonzero(usable[1:-1] & (inner > profile[:-2]) & (inner >= profile[2:])) + 1
    ranked = sorted((int(p) for p in peaks), key=lambda p: -profile[p])[:_CANDIDATES]
    out: list[float] = []
    for p in ranked:
        a, b, c = profile[p - 1], profile[p], profile[p + 1]
        denom = a - 2 * b + c
        out.append(p + (0.5 * (a - c) / denom if denom < 0 else 0.0))
    return out
