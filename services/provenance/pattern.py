"""The mark's geometry: one keyed tile of ±1 chips, repeated over the whole picture.

A tile is ``CELLS × CELLS`` chips of ``CELL_PX`` pixels (128 × 128 px). A fixed, keyed
permutation splits the chips into *sync* chips (a known pseudo-random sign: the detector finds
the tile's offset by correlating with them) and *data* chips (each coded payload bit spread over
:data:`CHIPS_PER_BIT` chips scattered across the tile, each with its own pseudo-random sign).
Chips are rendered as 4-px blocks softened by a circular Gaussian, so the pattern lives in the
low-to-middle frequencies that JPEG/WebP keep and a 50 % downscale does not average away; the
tile repeats, so any crop still holds whole tiles (after a cyclic shift) and re-scaling shows up
as a change of period that :mod:`services.provenance.sync` measures.

The key is public and fixed: this mark says "easel made this", it is not a secret signature
(that is what the C2PA credentials are for).
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np

from services.provenance.payload import CODED_BITS

__all__ = ["CELLS", "CELL_PX", "CHIPS_PER_BIT", "TILE_PX", "data_layout", "render", "sync_chips"]

CELL_PX: Final = 4
CELLS: Final = 32
TILE_PX: Final = CELL_PX * CELLS
CHIPS_PER_BIT: Final = 5
_SYNC_CHIPS: Final = CELLS * CELLS - CODED_BITS * CHIPS_PER_BIT
_BLUR_SIGMA_PX: Final = 1.0
_KEY: Final = 0x65A5E1  # "easel"; changing it orphans every mark already published


@functools.cache
def _layout() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_KEY)
    order = rng.permutation(CELLS * CELLS)
    signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=CELLS * CELLS)
    return order[:_SYNC_CHIPS], order[_SYNC_CHIPS:].reshape(CODED_BITS, CHIPS_PER_BIT), signs


def sync_chips() -> np.ndarray:
    """The ``CELLS × CELLS`` sync chip grid: ±1 on sync chips, 0 on data chips."""
    sync, _, signs = _layout()
    grid = np.zeros(CELLS * CELLS, dtype=np.float32)
    grid[sync] = signs[sync]
    return grid.reshape(CELLS, CELLS)


def data_layout() -> tuple[np.ndarray, np.ndarray]:
    """Flat chip indices per coded bit (``CODED_BITS × CHIPS_PER_BIT``) and each chip's sign."""
    _, data, signs = _layout()
    return data, signs[data]


def data_chips(bits: np.ndarray) -> np.ndarray:
    """The chip grid that carries ``bits`` (0 → -sign, 1 → +sign), 0 on sync chips."""
    data, signs = data_layout()
    grid = np.zeros(CELLS * CELLS, dtype=np.float32)
    grid[data] = signs * (2.0 * bits.astype(np.float32)[:, None] - 1.0)
    return grid.reshape(CELLS, CELLS)


@functools.cache
def _blur_kernel_fft() -> np.ndarray:
    f = np.fft.fftfreq(TILE_PX).astype(np.float32)
    g = np.exp(-2.0 * (np.pi * _BLUR_SIGMA_PX) ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))
    return g[:, : TILE_PX // 2 + 1]


def render(chips: np.ndarray) -> np.ndarray:
    """A chip grid as a ``TILE_PX``² float32 pixel tile (blocks, circularly softened)."""
    blocks = np.kron(chips, np.ones((CELL_PX, CELL_PX), dtype=np.float32))
    soft = np.fft.irfft2(np.fft.rfft2(blocks) * _blur_kernel_fft(), s=blocks.shape)
    return soft.astype(np.float32)
