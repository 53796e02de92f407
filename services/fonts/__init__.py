"""Fonts shipped with easel, so every install stamps the same watermark (no system fonts needed).

``DejaVuSans-Bold.ttf`` is DejaVu Sans Bold 2.37 (Bitstream Vera licence, DejaVu changes in
the public domain; see ``LICENSE-DejaVu.txt`` beside it): open, redistributable, and wide
Unicode coverage for watermark texts in any language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["WATERMARK_FONT"]

WATERMARK_FONT: Final = Path(__file__).with_name("DejaVuSans-Bold.ttf")
