"""The visible watermark on published copies."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from services.errors import BackendError
from services.watermark import MIN_FONT_PX, Watermarker


def encode(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def decode(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def noisy(size: int, seed: int = 3) -> Image.Image:
    return Image.frombytes("RGB", (size, size), random.Random(seed).randbytes(size * size * 3))


def plate_box(original: Image.Image, stamped: Image.Image) -> tuple[int, int, int, int]:
    """Bounding box of every pixel the stamp changed."""
    diff = ImageChops.difference(original.convert("RGB"), stamped.convert("RGB"))
    box = diff.point(lambda v: 255 if v > 8 else 0).convert("L").getbbox()
    assert box is not None, "no watermark found"
    return box


@pytest.fixture(scope="module")
def marker() -> Watermarker:
    return Watermarker("AI generated")


@pytest.mark.parametrize("background", ["white", "black", "noise"])
def test_watermark_visible_bottom_right(marker: Watermarker, background: str) -> None:
    original = noisy(1024) if background == "noise" else Image.new("RGB", (1024, 1024), background)
    png = encode(original)
    stamped = decode(marker.stamp_png(png))
    assert stamped.size == (1024, 1024) and stamped.mode == "RGB"

    left, top, right, bottom = plate_box(original, stamped)
    assert left > 512 and top > 900 and right <= 1024 and bottom <= 1024  # bottom-right corner
    assert right - left > 100 and bottom - top > 20

    before = ImageStat.Stat(original.crop((left, top, right, bottom)).convert("L"))
    after = ImageStat.Stat(stamped.crop((left, top, right, bottom)).convert("L"))
    if background == "black":
        # The light text is what shows on black: bright pixels where there were none.
        assert after.extrema[0][1] > 200
    else:
        # The dark plate: the region is clearly darker than it was.
        assert after.mean[0] < before.mean[0] - 40
    # Text readable on the plate: strong contrast inside the region in every case.
    assert after.extrema[0][1] - after.extrema[0][0] > 150

    untouched = (0, 0, 1024, top - 1)
    assert ImageChops.difference(original.crop(untouched), stamped.crop(untouched)).getbbox() is None


def test_original_bytes_untouched(marker: Watermarker) -> None:
    png = encode(noisy(256))
    snapshot = bytes(png)
    stamped = marker.stamp_png(png)
    assert png == snapshot
    assert stamped != png
    original = decode(png)
    marker.stamp(original)  # the in-memory API copies too
    assert original.tobytes() == decode(snapshot).tobytes()


def test_size_scales_with_short_side(marker: Watermarker) -> None:
    boxes = {}
    for side in (512, 1024):
        original = Image.new("RGB", (side, side), "white")
        boxes[side] = plate_box(original, decode(marker.stamp_png(encode(original))))
    w512, h512 = boxes[512][2] - boxes[512][0], boxes[512][3] - boxes[512][1]
    w1024, h1024 = boxes[1024][2] - boxes[1024][0], boxes[1024][3] - boxes[1024][1]
    assert 1.7 < w1024 / w512 < 2.3 and 1.7 < h1024 / h512 < 2.3

    # The short side rules: a 1536×640 banner gets the same mark as a 640×640 square.
    banner, square = Image.new("RGB", (1536, 640), "white"), Image.new("RGB", (640, 640), "white")
    b = plate_box(banner, decode(marker.stamp_png(encode(banner))))
    s = plate_box(square, decode(marker.stamp_png(encode(square))))
    assert (b[2] - b[0], b[3] - b[1]) == (s[2] - s[0], s[3] - s[1])
    assert Watermarker.font_px(100, 100) == MIN_FONT_PX


def test_logo_drawn_left_of_text(tmp_path: Path) -> None:
    logo_path = tmp_path / "logo.png"
    Image.new("RGB", (40, 20), (255, 0, 0)).save(logo_path)
    with_logo = Watermarker("AI generated", logo_path=logo_path)
    plain = Watermarker("AI generated")
    original = Image.new("RGB", (1024, 1024), "white")
    stamped = decode(with_logo.stamp_png(encode(original)))
    box = plate_box(original, stamped)
    plain_box = plate_box(original, decode(plain.stamp_png(encode(original))))
    assert box[2] - box[0] > plain_box[2] - plain_box[0] + 30  # wider by about the logo

    region = stamped.crop(box)
    reds = [
        x
        for x in range(region.width)
        for y in range(region.height)
        if (p := region.getpixel((x, y)))[0] > 200 and p[1] < 60 and p[2] < 60  # type: ignore[index]
    ]
    assert reds, "logo not drawn"
    assert max(reds) < region.width / 2  # on the left, before the text


def test_logo_only_watermark(tmp_path: Path) -> None:
    logo_path = tmp_path / "logo.png"
    Image.new("RGBA", (30, 30), (0, 200, 0, 255)).save(logo_path)
    original = Image.new("RGB", (512, 512), "white")
    stamped = decode(Watermarker("", logo_path=logo_path).stamp_png(encode(original)))
    plate_box(original, stamped)


def test_unreadable_logo_refused_at_startup(tmp_path: Path) -> None:
    bad = tmp_path / "logo.png"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="watermark image"):
        Watermarker("AI generated", logo_path=bad)


def test_rgba_stays_rgba_and_transparent_corner_gets_the_plate(marker: Watermarker) -> None:
    original = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    stamped = decode(marker.stamp_png(encode(original)))
    assert stamped.mode == "RGBA" and stamped.size == (512, 512)
    alpha_box = stamped.getchannel("A").getbbox()
    assert alpha_box is not None and alpha_box[0] > 256 and alpha_box[1] > 450
    assert stamped.getpixel((10, 10)) == (0, 0, 0, 0)


def test_grayscale_stays_grayscale(marker: Watermarker) -> None:
    original = Image.new("L", (400, 300), 255)
    stamped = decode(marker.stamp_png(encode(original)))
    assert stamped.mode == "L" and stamped.size == (400, 300)
    plate_box(original, stamped)


def test_palette_input_published_as_rgb(marker: Watermarker) -> None:
    original = Image.new("RGB", (300, 300), (250, 250, 250)).convert("P")
    stamped = decode(marker.stamp_png(encode(original)))
    assert stamped.mode == "RGB" and stamped.size == (300, 300)


def test_long_text_on_tiny_image_fits(marker: Watermarker) -> None:
    long_text = Watermarker("Generated with artificial intelligence by the easel bot for this server")
    original = Image.new("RGB", (96, 64), "white")
    stamped = decode(long_text.stamp_png(encode(original)))
    assert stamped.size == (96, 64)
    box = plate_box(original, stamped)
    assert box[0] >= 0 and box[2] <= 96


def test_empty_text_and_no_logo_leaves_pixels_alone() -> None:
    off = Watermarker("   ")
    assert not off.enabled
    original = noisy(128)
    assert decode(off.stamp_png(encode(original))).tobytes() == original.tobytes()


def test_undecodable_backend_image_is_a_backend_error(marker: Watermarker) -> None:
    with pytest.raises(BackendError) as exc:
        marker.stamp_png(b"\x89PNG\r\n\x1a\ngarbage")
    assert "garbage" not in exc.value.user_message


async def test_publish_offloads_and_matches_sync(marker: Watermarker) -> None:
    png = encode(noisy(256, seed=9))
    published = await marker.publish(png)
    assert published == marker.stamp_png(png)
    assert decode(published).size == (256, 256)
