"""Which zlib level should easel use for the PNGs it writes?

Every published image and every loaded upload is re-encoded as PNG, often several at
once when a batch finishes, on a 2-core box. This prints, for a 1024×1024 photo-like
image (smooth gradients, soft shapes, blurred texture and fine sensor-like noise, like
a diffusion model's output), the encode time and size of every level 0–9 as ratios
against Pillow's default level 6, measured in the same run.

Run from the repository root::

    python bench/png_levels.py

The level chosen from these figures is recorded in ``services/watermark.py``.
"""

from __future__ import annotations

import io
import random
import statistics
import sys
import time

from PIL import Image, ImageChops, ImageDraw, ImageFilter

SIZE = 1024
DEFAULT_LEVEL = 6


def photo_like(size: int = SIZE, seed: int = 7) -> Image.Image:
    """A deterministic RGB image that compresses like a photo or a generated picture.

    Smooth gradients and blurred shapes (which PNG filters handle well) plus low-amplitude
    per-pixel noise (which they cannot), so neither level 0 nor level 9 looks artificially good.
    """
    rng = random.Random(seed)
    base = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize((size, size)),
            Image.radial_gradient("L").resize((size, size)),
            Image.linear_gradient("L").rotate(90).resize((size, size)),
        ),
    )
    shapes = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(shapes)
    for _ in range(40):
        x, y = rng.randrange(size), rng.randrange(size)
        r = rng.randrange(size // 32, size // 5)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    shapes = shapes.filter(ImageFilter.GaussianBlur(size / 100))
    draw = ImageDraw.Draw(shapes)
    for _ in range(12):  # a few hard edges, like objects in focus
        cx, cy, r = rng.randrange(size), rng.randrange(size), size // 8
        pts = [(cx + rng.randrange(-r, r), cy + rng.randrange(-r, r)) for _ in range(3)]
        draw.polygon(pts, fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    img = Image.blend(base, shapes, 0.55)
    # Mid-frequency texture: coarse random field, upsampled smoothly.
    coarse = Image.frombytes("RGB", (size // 8, size // 8), rng.randbytes(3 * (size // 8) ** 2))
    texture = coarse.resize((size, size), Image.Resampling.BICUBIC)
    img = Image.blend(img, texture, 0.12)
    # Fine noise: ±6 levels around the picture, like sensor grain or diffusion residue.
    noise = Image.frombytes("RGB", (size, size), bytes(b % 13 for b in rng.randbytes(3 * size * size)))
    offset = Image.new("RGB", (size, size), (6, 6, 6))
    img = ImageChops.subtract(ImageChops.add(img, noise), offset)
    return img


def encode_png(img: Image.Image, level: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def time_encode(img: Image.Image, level: int, reps: int) -> tuple[float, int]:
    """Median seconds of one encode at ``level`` and the encoded size in bytes."""
    times: list[float] = []
    size = 0
    for _ in range(reps):
        t0 = time.perf_counter()
        size = len(encode_png(img, level))
        times.append(time.perf_counter() - t0)
    return statistics.median(times), size


def main() -> int:
    img = photo_like()
    encode_png(img, 1)  # warm up zlib and the allocator
    results: dict[int, tuple[float, int]] = {}
    for level in range(10):
        results[level] = time_encode(img, level, reps=5 if level < 7 else 3)
    base_t, base_size = results[DEFAULT_LEVEL]
    raw = SIZE * SIZE * 3
    print(f"PNG encode of a {SIZE}x{SIZE} photo-like RGB image (raw {raw / 1e6:.2f} MB), Pillow default = 6")
    print(f"{'level':>5} {'ms':>8} {'time/L6':>8} {'KB':>8} {'size/L6':>8}")
    for level, (t, size) in results.items():
        print(f"{level:>5} {t * 1e3:>8.1f} {t / base_t:>8.2f} {size / 1024:>8.0f} {size / base_size:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
