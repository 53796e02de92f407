"""How much does the watermark add to publishing an image?

Publishing a 1024×1024 result must decode the backend's PNG and encode a new one whatever
happens; that is the irreducible baseline. This prints the median time of

* baseline: decode PNG + encode PNG at the chosen level (:data:`services.images.PNG_COMPRESS_LEVEL`),
* stamped:  decode PNG + stamp + encode PNG at the same level (``Watermarker.stamp_png``),

and their ratio (target ≤ 1.3), all measured in the same run, then the same pair at
Pillow's default level 6 for contrast. Run from the repository root::

    python bench/watermark.py
"""

from __future__ import annotations

import functools
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench.png_levels import photo_like  # noqa: E402
from services.images import PNG_COMPRESS_LEVEL  # noqa: E402
from services.watermark import Watermarker  # noqa: E402

REPS = 9


def median_s(fn: Callable[[], object], reps: int = REPS) -> float:
    times: list[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def roundtrip(png: bytes, level: int) -> bytes:
    with Image.open(io.BytesIO(png)) as img:
        img.load()
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def main() -> int:
    src = io.BytesIO()
    photo_like(1024).save(src, format="PNG", compress_level=6)  # what a backend typically sends
    png = src.getvalue()
    print(f"1024x1024 photo-like PNG from the 'backend': {len(png) / 1024:.0f} KB; median of {REPS} runs")
    print(f"{'level':<20} {'baseline ms':>12} {'stamped ms':>11} {'ratio':>6} {'stamp only ms':>14}")
    for level in (PNG_COMPRESS_LEVEL, 6):
        marker = Watermarker("AI generated", png_compress_level=level)
        marker.stamp_png(png)  # first call renders and caches the plate; count steady state
        roundtrip(png, level)
        with Image.open(io.BytesIO(png)) as decoded:
            decoded.load()
            stamp_only = median_s(functools.partial(marker.stamp, decoded))
        # Interleave the two measurements so background load on the box hits both alike.
        base_times: list[float] = []
        stamp_times: list[float] = []
        for _ in range(REPS):
            base_times.append(median_s(functools.partial(roundtrip, png, level), reps=1))
            stamp_times.append(median_s(functools.partial(marker.stamp_png, png), reps=1))
        base, stamped = statistics.median(base_times), statistics.median(stamp_times)
        label = f"{level} ({'chosen' if level == PNG_COMPRESS_LEVEL else 'Pillow default'})"
        print(
            f"{label:<20} {base * 1e3:>12.1f} {stamped * 1e3:>11.1f} {stamped / base:>6.2f} {stamp_only * 1e3:>14.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
