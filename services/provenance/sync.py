"""Finding the tile again in a picture that was cropped, re-scaled or rotated.

::

    residual = high_pass(luma)                    # content mostly gone, the mark left
    hit = align(fold(residual))                   # offset + quarter turns + sync strength

* **Crop** only shifts the tile: folding the residual onto one ``TILE_PX``² tile (summing every
  pixel at ``(y mod 128, x mod 128)``) stacks all repeats coherently, and a circular
  cross-correlation with the sync template (one FFT) gives the shift.
* **Re-scaling** changes the period: :mod:`services.provenance.periods` finds it in the
  residual's spectrum, and the detector resamples by ``TILE_PX / period`` before folding.
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

__all__ = ["SYNC_THRESHOLD", "Alignment", "align", "fold", "fold_at", "high_pass"]

SYNC_THRESHOLD: Final = 7.0
_MEAN_BLOCK: Final = 4
_ENERGY_BLOCK: Final = 8
_FLOOR: Final = 1.0  # grey levels: flat areas are not amplified past the mark's own size
_CLIP: Final = 3.0


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
    """Luma minus its local mean, weighted by how much of it can be the mark.

    The residual is normalised by the local spread (clipped at ``_CLIP``) and then weighted by
    ``_FLOOR² / energy``: overall a division by the local *variance*, the matched-filter weight
    for a known signal in noise of varying strength. Flat areas (paper, sky) where the residual
    is almost only the mark count fully; text, edges and texture, where the residual is mostly
    content, count little, so a page of regular text lines no longer drowns the tile's period
    (``_ENERGY_BLOCK`` of 8 px resolves the paper between lines of text).
    """
    residual = luma - _local_mean(luma, _MEAN_BLOCK)
    energy = _local_mean(residual * residual, _ENERGY_BLOCK) + _FLOOR**2
    return np.clip(residual / np.sqrt(energy), -_CLIP, _CLIP) * (_FLOOR**2 / energy)


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


def _tent(length: int, period: float) -> np.ndarray:
    """``TILE_PX × length`` weights: sample ``i`` splats linearly onto tile rows near ``i·128/period``."""
    k = TILE_PX / period
    u = (np.arange(length, dtype=np.float64) * k) % TILE_PX
    d = np.abs(np.arange(TILE_PX, dtype=np.float64)[:, None] - u[None, :])
    d = np.minimum(d, TILE_PX - d)  # circular
    width = max(1.0, k)
    return np.maximum(0.0, 1.0 - d / width).astype(np.float32)


def fold_at(residual: np.ndarray, period: float) -> np.ndarray:
    """:func:`fold` for a non-integer ``period``, onto the 128-px tile, without resampling the picture.

    Two small matrix products (tent weights per row and per column) instead of a resize and a
    new high-pass: cheap enough to screen every candidate period before the full resample.
    """
    h, w = residual.shape
    rows, cols = _tent(h, period), _tent(w, period)
    total = rows @ residual @ cols.T
    counts = rows.sum(axis=1)[:, None] * cols.sum(axis=1)[None, :]
    folded = total / np.maximum(counts, 1e-6)
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
