"""The invisible mark: survives re-encodes, rescales, crops and quarter turns; absent stays absent."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from services.provenance import MarkPayload, detect_mark, embed_mark
from services.provenance.payload import CODED_BITS, decode_bits, encode_bits
from services.watermark import Watermarker

PAYLOAD = MarkPayload.for_job("3fa2c01b", "9c1e0d2a7b44e1f2a3b4c5d6e7f80910")


def picture(kind: str, size: tuple[int, int] = (768, 768), seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    if kind == "gradient":
        y, x = np.mgrid[0:h, 0:w]
        arr = np.stack([x * 255 / w, y * 255 / h, np.full((h, w), 90.0)], axis=-1)
        return Image.fromarray(arr.astype(np.uint8))
    if kind == "clouds":
        small = rng.integers(0, 256, (h // 48, w // 48, 3), dtype=np.uint8)
        return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
    img = Image.new("RGB", size, (235, 235, 225))  # "shapes": flat areas, hard edges, text
    draw = ImageDraw.Draw(img)
    for _ in range(8):
        x0, y0 = (int(v) for v in rng.integers(0, min(size), 2))
        draw.ellipse((x0, y0, x0 + 150, y0 + 90), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw.text((20, 20), "easel " * 20, fill=(10, 10, 10))
    return img


def reencode(img: Image.Image, fmt: str, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, fmt, quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def psnr(a: Image.Image, b: Image.Image) -> float:
    mse = np.mean((np.asarray(a, np.float32) - np.asarray(b, np.float32)) ** 2)
    return float(10 * np.log10(255**2 / mse))


@pytest.mark.parametrize("kind", ["gradient", "clouds", "shapes"])
def test_the_mark_is_invisible_and_reads_back(kind: str) -> None:
    clean = picture(kind)
    marked = embed_mark(clean, PAYLOAD)
    assert marked.size == clean.size and marked.mode == clean.mode
    assert psnr(clean, marked) >= 40
    found = detect_mark(marked)
    assert found is not None and found.payload == PAYLOAD
    assert detect_mark(clean) is None


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(lambda im: reencode(im, "JPEG", 75), id="jpeg75"),
        pytest.param(lambda im: reencode(im, "WEBP", 80), id="webp80"),
        pytest.param(
            lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS), id="half"
        ),
        pytest.param(lambda im: im.resize((576, 576), Image.Resampling.BICUBIC), id="three-quarters"),
        pytest.param(lambda im: im.crop((77, 0, im.width, im.height)), id="crop-left"),
        pytest.param(lambda im: im.crop((0, 0, im.width, im.height - 77)), id="crop-bottom"),
        pytest.param(lambda im: im.crop((40, 60, im.width - 50, im.height - 30)), id="crop-all-sides"),
        pytest.param(lambda im: im.rotate(90, expand=True), id="quarter-turn"),
        pytest.param(
            lambda im: reencode(
                im.resize((614, 614), Image.Resampling.LANCZOS).crop((20, 20, 594, 594)), "JPEG", 85
            ),
            id="screenshot",
        ),
    ],
)
def test_the_mark_survives(attack) -> None:  # type: ignore[no-untyped-def]
    marked = embed_mark(picture("clouds", seed=7), PAYLOAD)
    found = detect_mark(attack(marked))
    assert found is not None and found.payload == PAYLOAD


def test_alpha_and_grey_pictures_keep_their_mode_and_alpha() -> None:
    rgba = picture("gradient").convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    marked = embed_mark(rgba, PAYLOAD)
    assert marked.mode == "RGBA"
    assert marked.getchannel("A").tobytes() == rgba.getchannel("A").tobytes()
    grey = embed_mark(picture("clouds").convert("L"), PAYLOAD)
    assert grey.mode == "L"
    found = detect_mark(grey)
    assert found is not None and found.payload == PAYLOAD


def test_unmarked_and_tiny_pictures_carry_no_mark() -> None:
    for seed in range(2):
        for kind in ("gradient", "clouds", "shapes"):
            assert detect_mark(picture(kind, (640, 512), seed=seed)) is None
    assert detect_mark(Image.new("RGB", (16, 16))) is None
    assert detect_mark(embed_mark(Image.new("RGB", (16, 16), (90, 90, 90)), PAYLOAD)) is None


def test_reed_solomon_corrects_damaged_words_and_refuses_noise() -> None:
    bits = encode_bits(PAYLOAD)
    assert bits.shape == (CODED_BITS,)
    damaged = bits.copy()
    damaged[[0, 9, 40, 77, 150]] ^= 1  # five bytes with one wrong bit each
    assert decode_bits(damaged) == PAYLOAD
    rng = np.random.default_rng(3)
    assert all(decode_bits(rng.integers(0, 2, CODED_BITS)) is None for _ in range(200))


def test_published_copies_carry_the_mark_only_with_an_instance_and_a_job() -> None:
    buf = io.BytesIO()
    picture("clouds", (512, 512)).save(buf, "PNG")
    marked = Watermarker("AI generated", instance_id="3fa2c01b").stamp_png(buf.getvalue(), "9c1e0d2a7b44")
    found = detect_mark(Image.open(io.BytesIO(marked)))
    assert found is not None and found.payload == MarkPayload("3fa2c01b", "9c1e0d2a7b44")
    plain = Watermarker("AI generated").stamp_png(buf.getvalue(), "9c1e0d2a7b44")
    assert detect_mark(Image.open(io.BytesIO(plain))) is None


def text_page(size: tuple[int, int] = (768, 1344)) -> Image.Image:
    """Regular lines of text on paper: their spacing once out-shouted the tile's period."""
    img = Image.new("RGB", size, (228, 228, 218))
    draw = ImageDraw.Draw(img)
    for row in range(0, size[1], 28):
        draw.text((10, row), "easel provenance " * 8, fill=(20, 20, 20))
    return img


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(lambda im: im.resize((576, 1008), Image.Resampling.LANCZOS), id="three-quarters"),
        pytest.param(
            lambda im: reencode(im.resize((432, 756), Image.Resampling.LANCZOS), "JPEG", 75),
            id="upload-fitting-downscale",
        ),
        pytest.param(
            lambda im: reencode(
                im.resize((614, 1075), Image.Resampling.LANCZOS).crop((18, 18, 596, 1057)), "JPEG", 85
            ),
            id="screenshot",
        ),
    ],
)
def test_a_page_of_text_keeps_its_mark_when_rescaled(attack) -> None:  # type: ignore[no-untyped-def]
    marked = embed_mark(text_page(), PAYLOAD)
    found = detect_mark(attack(marked))
    assert found is not None and found.payload == PAYLOAD
    assert detect_mark(attack(text_page())) is None
