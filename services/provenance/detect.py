"""Reading the invisible mark back from a picture, after whatever happened to it.

::

    found = detect_mark(img)          # DetectedMark | None
    if found: print(found.payload.instance_id, found.payload.job_prefix, found.strength)

First at the embedding scale (plain re-encodes and crops: one fold, four small FFTs), then at
the periods the period search suggests (re-scaled copies, :mod:`services.provenance.periods`).
Each is screened first by folding the residual at that period directly
(:func:`services.provenance.sync.fold_at`, no resampling); only the two that synchronise best,
at the best of a few nearby periods (the search's grid and a picture's rounding leave up to
~1 % of error, and 0.5 % drifts a 1,000-px picture by more than a chip), are resampled back to
the 128-px tile and decoded. Unmarked pictures rarely pass the screen, so they cost little. A mark counts only when the sync strength clears
:data:`services.provenance.sync.SYNC_THRESHOLD` *and* the Reed–Solomon word decodes.
CPU work: call through :func:`services.offload.run_cpu`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image

from services.provenance.pattern import CELL_PX, CELLS, TILE_PX, data_layout
from services.provenance.payload import MarkPayload, decode_bits
from services.provenance.periods import candidate_periods
from services.provenance.sync import SYNC_THRESHOLD, Alignment, align, fold, fold_at, high_pass

__all__ = ["DetectedMark", "detect_mark"]

_SAME_PERIOD_PX: Final = 1.0
_MIN_SIDE_PX: Final = 32
_MAX_PIXELS: Final = 4_300_000  # resampled copies up to a 2048² upscale; larger periods are noise
_NEAR_THRESHOLD: Final = 5.0  # a candidate period that screens this well is worth resampling for
_REFINED: Final = 2  # candidates worth resampling for, strongest first
_DECODED_PER_CANDIDATE: Final = 3  # of its nudged periods, the best-screening ones
_NUDGES: Final = (0.0, -0.003, 0.003, -0.006, 0.006, -0.009, 0.009, -0.012, 0.012)  # of the period


@dataclass(frozen=True, slots=True)
class DetectedMark:
    """A decoded mark: payload, sync strength (z-score), scale found and quarter turns undone."""

    payload: MarkPayload
    strength: float
    scale: float
    quarter_turns: int


def _luma(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and img.has_transparency_data):
        img = img.convert("RGBA")
    return img.convert("L")


def _read(folded: np.ndarray, where: Alignment) -> MarkPayload | None:
    aligned = np.roll(np.rot90(folded, -where.quarter_turns), (-where.dy, -where.dx), axis=(0, 1))
    cells = aligned.reshape(CELLS, CELL_PX, CELLS, CELL_PX).mean(axis=(1, 3)).ravel()
    chips, signs = data_layout()
    soft = (cells[chips] * signs).sum(axis=1)
    return decode_bits((soft > 0).astype(np.uint8))


def _at_scale(luma: Image.Image, scale: float) -> tuple[np.ndarray, np.ndarray, Alignment]:
    if scale != 1.0:
        size = (max(1, round(luma.width * scale)), max(1, round(luma.height * scale)))
        luma = luma.resize(size, Image.Resampling.BICUBIC)
    residual = high_pass(np.asarray(luma, dtype=np.float32))
    folded = fold(residual)
    return residual, folded, align(folded)


def _decoded(folded: np.ndarray, where: Alignment, scale: float) -> DetectedMark | None:
    if where.strength < SYNC_THRESHOLD:
        return None
    payload = _read(folded, where)
    if payload is None:
        return None
    return DetectedMark(payload, where.strength, float(1.0 / scale), where.quarter_turns)


def detect_mark(img: Image.Image) -> DetectedMark | None:
    """The mark in ``img``, or ``None`` when there is none (or too little of it is left)."""
    luma = _luma(img)
    if min(luma.size) < _MIN_SIDE_PX:
        return None
    residual, folded, where = _at_scale(luma, 1.0)
    found = _decoded(folded, where, 1.0)
    if found is not None:
        return found
    # Re-scaled: screen each suggested period (and a few nearby ones) with the cheap fold, then
    # resample and decode only where the tile synchronises.
    screened: list[tuple[float, float]] = []
    for period in candidate_periods(residual):
        scale = TILE_PX / period
        if abs(period - TILE_PX) < _SAME_PERIOD_PX or luma.width * luma.height * scale**2 > _MAX_PIXELS:
            continue
        quick = align(fold_at(residual, period)).strength
        if quick >= _NEAR_THRESHOLD:
            screened.append((quick, period))
    for _, period in sorted(screened, reverse=True)[:_REFINED]:
        nearby = [period * (1.0 + nudge) for nudge in _NUDGES]
        ranked = sorted(nearby, key=lambda p: -align(fold_at(residual, p)).strength)
        for near in ranked[:_DECODED_PER_CANDIDATE]:
            _, folded, where = _at_scale(luma, TILE_PX / near)
            found = _decoded(folded, where, TILE_PX / near)
            if found is not None:
                return found
    return None
