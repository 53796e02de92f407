"""services/imaging.py: the Pillow primitives shared by outpaint and the Stability backend."""

from __future__ import annotations

import io

from PIL import Image

from services.images import sniff_format
from services.imaging import (
    EDIT_PNG_COMPRESS_LEVEL,
    invert_png,
    jpeg_bytes,
    png_bytes,
    resize_png,
    smaller_encoding,
    to_png,
    transparency_and_size,
    webp_bytes,
)
from tests.helpers.images import colours, decode, png


def _halves(size: tuple[int, int] = (64, 32)) -> bytes:
    """Left half black, right half white (a mask with one hard edge)."""
    img = Image.new("L", size, 0)
    img.paste(255, (size[0] // 2, 0, size[0], size[1]))
    return png_bytes(img)


def test_png_bytes_is_a_png_at_the_edit_level() -> None:
    img = Image.new("RGB", (40, 30), (10, 20, 30))
    data = png_bytes(img)
    assert sniff_format(data) == "PNG" and decode(data).size == (40, 30)
    assert len(png_bytes(img, 0)) > len(data)  # level 0 stores; level EDIT_PNG_COMPRESS_LEVEL compresses
    assert EDIT_PNG_COMPRESS_LEVEL == 4


def test_resize_png_smooth_or_nearest() -> None:
    smooth = decode(resize_png(_halves(), (128, 64)))
    nearest = decode(resize_png(_halves(), (128, 64), nearest=True))
    assert smooth.size == nearest.size == (128, 64)
    assert colours(nearest) == {0, 255}
    assert len(colours(smooth)) > 2  # LANCZOS blends across the edge


def test_invert_png_flips_a_mask_to_greyscale() -> None:
    flipped = decode(invert_png(_halves()))
    assert flipped.mode == "L"
    assert flipped.getpixel((0, 0)) == 255 and flipped.getpixel((63, 0)) == 0
    colour = decode(invert_png(png((8, 8), (255, 255, 255))))
    assert colour.mode == "L" and colours(colour) == {0}


def test_to_png_reencodes_other_formats() -> None:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 0, 0)).save(out, "JPEG")
    converted = to_png(out.getvalue())
    assert sniff_format(converted) == "PNG" and decode(converted).size == (20, 10)


def test_transparency_and_size() -> None:
    assert transparency_and_size(png((30, 20))) == (False, (30, 20))
    assert transparency_and_size(png((30, 20), (0, 0, 0, 0), "RGBA")) == (True, (30, 20))
    out = io.BytesIO()
    Image.new("RGB", (5, 6)).save(out, "PNG", transparency=(0, 0, 0))  # tRNS on an RGB image
    assert transparency_and_size(out.getvalue()) == (True, (5, 6))


def test_smaller_encoding_keeps_transparency_only_when_asked() -> None:
    source = png((64, 64), (0, 128, 255, 128), "RGBA")
    data, content_type = smaller_encoding(source, has_alpha=True, quality=90)
    assert (sniff_format(data), content_type) == ("WEBP", "image/webp") and decode(data).mode == "RGBA"
    data, content_type = smaller_encoding(source, has_alpha=False, quality=90)
    assert (sniff_format(data), content_type) == ("JPEG", "image/jpeg") and decode(data).mode == "RGB"


def test_jpeg_flattens_transparency_onto_white_and_webp_keeps_it() -> None:
    clear = Image.new("RGBA", (16, 16), (255, 0, 0, 0))
    flat = decode(jpeg_bytes(clear, 90))
    assert flat.mode == "RGB" and all(low > 240 for low, _ in flat.getextrema())  # white, not red or black
    progressive = jpeg_bytes(Image.new("RGB", (16, 16), (0, 0, 255)), 90, progressive=True)
    assert decode(progressive).info.get("progressive") == 1
    kept = decode(webp_bytes(clear, 90))
    assert kept.mode == "RGBA" and kept.getpixel((0, 0))[3] == 0
