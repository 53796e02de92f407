"""Which tile period (and so which re-scaling) a picture's residual shows: a spectral lattice search.

::

    for period in candidate_periods(high_pass(luma)):   # strongest first, e.g. [96.1, 48.0, ...]
        ...   # resample by TILE_PX / period, then fold and align (services.provenance.sync)

A tile repeated with period ``P`` puts its energy on a lattice in the picture's spectrum: the
frequencies ``(a, b) / P`` for integer ``a, b``, each as strong as the tile's own spectrum at
``(a, b)`` (:func:`_envelope`, the chip shape's spectrum; the chips themselves are ±1 at random,
so their spectrum is flat on average). For every ``P`` on a fine geometric grid the search
sums the *whitened* magnitude (each bin over the mean of its neighbourhood, so broad image
content counts ~1 and isolated lattice peaks count many times that), weighted by that envelope,
over every lattice point below Nyquist, as a z-score against the spectrum's own statistics, and
returns the strongest local maxima.

Why not the autocorrelation's strongest peak (what this replaced): text lines and other
regular content make autocorrelation peaks stronger than the mark's, at their own spacing; a
weighted sum over thousands of lattice points in both directions is only large where the
whole 2-D lattice of the mark is. Magnitudes ignore phase, so crops do not matter, and the
lattice is symmetric, so quarter turns do not either. Sub-periods (``P/2``, ``P/3``) sample a
subset of the same lattice and score high too; :mod:`services.provenance.detect` tries the
candidates in order and keeps what synchronises and decodes.
"""

from __future__ import annotations

import functools
from itertools import zip_longest
from typing import Final

import numpy as np

from services.provenance.pattern import CELLS, TILE_PX, render

__all__ = ["candidate_periods"]

_MAX_CROP_PX: Final = 1024  # a centred square this size at most: enough bins, bounded cost
_MIN_PERIOD: Final = 20.0  # a 16 % downscale; below that the 4-px chips are gone anyway
_MAX_PERIOD: Final = 300.0  # a 2.3× upscale
_MIN_REPEATS: Final = 2.0  # the crop must hold this many periods for a lattice to show
_LOG_STEP: Final = 1 / 300  # grid step in log(period); the 3×3 max below tolerates ±1 bin
_WHITEN_RADIUS: Final = 4  # bins each side of the neighbourhood mean
_ORDERS: Final = 32  # lattice orders |a|, |b| ≤ 32: the 4-px chips' spectrum ends there
_CANDIDATES: Final = 6  # per search
_AC_MAX_PX: Final = 512
_SAME_PERIOD: Final = 0.004  # relative: candidates closer than this are one


@functools.cache
def _lattice() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lattice orders ``a`` (any sign), ``b`` (≥ 0, the real FFT's half plane) and their weights."""
    chip = np.zeros((CELLS, CELLS), dtype=np.float32)
    chip[0, 0] = 1.0
    envelope = np.abs(np.fft.fft2(render(chip)))
    a, b = np.meshgrid(np.arange(-_ORDERS, _ORDERS + 1), np.arange(_ORDERS + 1), indexing="ij")
    keep = (b > 0) | (a > 0)
    a, b = a[keep], b[keep]
    weight = envelope[a % TILE_PX, b]
    return a.astype(np.float32), b.astype(np.float32), (weight / weight.max()).astype(np.float32)


def _box_mean(a: np.ndarray, r: int) -> np.ndarray:
    """Mean over a ``(2r+1)²`` neighbourhood (wrapping along the FFT's full axis, clamped on the half one)."""
    c = np.cumsum(np.pad(a, ((r + 1, r), (0, 0)), mode="wrap"), axis=0)
    a = (c[2 * r + 1 :] - c[: -2 * r - 1]) / (2 * r + 1)
    c = np.cumsum(np.pad(a, ((0, 0), (r + 1, r)), mode="edge"), axis=1)
    return (c[:, 2 * r + 1 :] - c[:, : -2 * r - 1]) / (2 * r + 1)


def _max3(a: np.ndarray) -> np.ndarray:
    """3×3 maximum: a lattice point between bins (or a grid step off) still finds its peak."""
    p = np.pad(a, 1, mode="edge")
    rows = np.maximum(np.maximum(p[:-2], p[1:-1]), p[2:])
    return np.maximum(np.maximum(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def _whitened(residual: np.ndarray) -> tuple[np.ndarray, int]:
    h, w = residual.shape
    n = min(h, w, _MAX_CROP_PX)
    y0, x0 = (h - n) // 2, (w - n) // 2
    crop = residual[y0 : y0 + n, x0 : x0 + n]
    mag = np.abs(np.fft.rfft2(crop - crop.mean())).astype(np.float32)
    return _max3(mag / (_box_mean(mag, _WHITEN_RADIUS) + 1e-6)), n


def _scores(spectrum: np.ndarray, n: int, periods: np.ndarray) -> np.ndarray:
    """Per period, a z-score: the weighted excess over the spectrum's mean, in units of its spread.

    (A plain weighted mean would favour short periods, whose few lattice points below Nyquist
    make a noisy average whose maximum is large by chance.)
    """
    a, b, weight = _lattice()
    rows, cols = spectrum.shape
    mean, spread = float(spectrum.mean()), float(spectrum.std()) + 1e-6
    out = np.empty(len(periods), dtype=np.float32)
    for start in range(0, len(periods), 64):  # chunks bound the index arrays' memory
        per = periods[start : start + 64, None]
        fy, fx = a[None, :] * n / per, b[None, :] * n / per
        usable = (np.abs(fy) < n / 2 - 1) & (fx < n / 2 - 1)
        iy = np.rint(fy).astype(np.int64) % rows
        ix = np.minimum(np.rint(fx).astype(np.int64), cols - 1)
        w = weight[None, :] * usable
        excess = ((spectrum[iy, ix] - mean) * w).sum(axis=1)
        out[start : start + 64] = excess / (spread * np.sqrt(np.maximum((w * w).sum(axis=1), 1e-12)))
    return out


def _lattice_periods(residual: np.ndarray) -> list[float]:
    spectrum, n = _whitened(residual)
    top = min(_MAX_PERIOD, n / _MIN_REPEATS)
    if top <= _MIN_PERIOD:
        return []
    periods = np.exp(np.arange(np.log(_MIN_PERIOD), np.log(top), _LOG_STEP)).astype(np.float32)
    if len(periods) < 3:
        return []
    s = _scores(spectrum, n, periods)
    inner = s[1:-1]
    peaks = np.flatnonzero((inner > s[:-2]) & (inner >= s[2:])) + 1
    ranked = sorted(peaks.tolist(), key=lambda k: -float(s[k]))[:_CANDIDATES]
    out: list[float] = []
    for k in ranked:  # parabolic refinement on the log grid
        lo, mid, hi = float(s[k - 1]), float(s[k]), float(s[k + 1])
        denom = lo - 2 * mid + hi
        shift = 0.5 * (lo - hi) / denom if denom < 0 else 0.0
        out.append(float(np.exp(np.log(periods[k]) + shift * _LOG_STEP)))
    return out


def _autocorrelation_periods(residual: np.ndarray) -> list[float]:
    """Lags where the half-whitened autocorrelation peaks along *both* axes (a tile repeats in x and y)."""
    h, w = residual.shape
    ch, cw = min(h, _AC_MAX_PX), min(w, _AC_MAX_PX)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    crop = residual[y0 : y0 + ch, x0 : x0 + cw]
    ac = np.fft.irfft2(np.abs(np.fft.rfft2(crop - crop.mean())), s=crop.shape)
    n = min(ch, cw) // 2
    profile = np.minimum(ac[0, :n], ac[:n, 0])
    lags = np.arange(n)
    usable = (lags >= _MIN_PERIOD) & (lags < n - 1)
    inner = profile[1:-1]
    peaks = np.flatnonzero(usable[1:-1] & (inner > profile[:-2]) & (inner >= profile[2:])) + 1
    out: list[float] = []
    for p in sorted(peaks.tolist(), key=lambda p: -float(profile[p]))[:_CANDIDATES]:
        a, b, c = float(profile[p - 1]), float(profile[p]), float(profile[p + 1])
        denom = a - 2 * b + c
        out.append(p + (0.5 * (a - c) / denom if denom < 0 else 0.0))
    return out


def candidate_periods(residual: np.ndarray) -> list[float]:
    """Tile periods (px) worth resampling for, best first: the two searches' candidates in turn.

    The lattice search wins on large pictures with regular content (text); the autocorrelation
    (what easel used first) on small, busy ones, where a few repeats leave the lattice's peaks
    too smeared to stand out but the repeats still correlate.
    """
    out: list[float] = []
    for pair in zip_longest(_lattice_periods(residual), _autocorrelation_periods(residual)):
        for p in pair:
            if p is not None and all(abs(p / q - 1.0) > _SAME_PERIOD for q in out):
                out.append(p)
    return out
