"""Safe loading of uploads, fitting init images to a backend, and the mask rules."""

from __future__ import annotations

import io
import random
import struct
import time
import zlib

import pytest
from PIL import Image, ImageDraw

from services.backends.base import BackendLimits
from services.errors import InvalidRequest
from services.images import (
    fit_to_backend,
    fit_to_backend_async,
    image_size,
    load_input_image,
    load_input_image_sync,
    sniff_format,
)
from services.masks import ensure_transparency, mask_from_alpha, prepare_mask, prepare_mask_async
from services.types import InputImage, Operation
from tests.helpers.images import colours
from tests.helpers.limits import SDXL_SIZES

SDXL = BackendLimits(operations=frozenset(Operation), allowed_sizes=SDXL_SIZES)
FREE = BackendLimits(
    operations=frozenset(Operation), min_side=320, max_side=1536, size_multiple=64, max_pixels=1536 * 1536
)


def encode(img: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def noise(size: tuple[int, int], seed: int = 1, mode: str = "RGB") -> Image.Image:
    channels = len(mode)
    return Image.frombytes(mode, size, random.Random(seed).randbytes(size[0] * size[1] * channels))


def decode(img: InputImage) -> Image.Image:
    assert sniff_format(img.png) == "PNG"
    pil = Image.open(io.BytesIO(img.png))
    pil.load()
    assert pil.size == (img.width, img.height)
    return pil


def png_header(width: int, height: int, *, bit_depth: int = 1, colour_type: int = 0) -> bytes:
    """A syntactically valid PNG claiming ``width``×``height`` whose pixel data is a few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def assert_polite(err: InvalidRequest) -> None:
    msg = err.user_message
    assert "\n" not in msg and "Traceback" not in msg and "Error" not in msg
    assert msg[0].isupper() and msg.endswith((".", "?"))


# ---------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("PNG", {}), ("JPEG", {"quality": 90}), ("JPEG", {"progressive": True}), ("WEBP", {"quality": 90})],
)
def test_png_jpeg_webp_accepted(fmt: str, params: dict[str, object]) -> None:
    src = Image.new("RGB", (300, 200), (200, 30, 40))
    loaded = load_input_image_sync(encode(src, fmt, **params), SDXL)
    assert (loaded.width, loaded.height, loaded.has_alpha) == (300, 200, False)
    pil = decode(loaded)
    assert pil.mode == "RGB"
    r, g, b = pil.getpixel((150, 100))  # type: ignore[misc]
    assert abs(r - 200) < 8 and abs(g - 30) < 8 and abs(b - 40) < 8


async def test_async_loader_runs_off_loop_and_matches_sync() -> None:
    data = encode(Image.new("RGB", (64, 48), "white"))
    loaded = await load_input_image(data, SDXL, what="mask")
    assert loaded == load_input_image_sync(data, SDXL, what="mask")


def test_text_file_named_png_is_refused_by_content() -> None:
    with pytest.raises(InvalidRequest) as exc:
        load_input_image_sync(b"hello, this is not a picture\n" * 10, SDXL, what="mask")
    assert exc.value.user_message == "That mask isn't an image I can read. Please upload a PNG, JPEG or WebP."
    assert_polite(exc.value)


def test_gif_is_refused_as_unsupported() -> None:
    with pytest.raises(InvalidRequest, match="PNG, JPEG or WebP"):
        load_input_image_sync(encode(Image.new("P", (10, 10)), "GIF"), SDXL)


def test_empty_upload_refused() -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        load_input_image_sync(b"", SDXL)


# ---------------------------------------------------------------------------- limits


def test_20000_square_png_bomb_refused_from_header_quickly() -> None:
    bomb = png_header(20000, 20000)
    assert len(bomb) < 200
    assert image_size(bomb) == (20000, 20000)
    started = time.monotonic()
    with pytest.raises(InvalidRequest) as exc:
        load_input_image_sync(bomb, SDXL)
    assert time.monotonic() - started < 2.0
    assert "20000×20000" in exc.value.user_message
    assert "megapixels" in exc.value.user_message
    assert_polite(exc.value)


def test_bomb_above_pillow_threshold_refused_without_warning_even_if_limit_is_higher() -> None:
    # 10000×10000 is above Pillow's MAX_IMAGE_PIXELS (warning zone); the operator's limit is
    # higher still, but ours is capped at Pillow's, and no DecompressionBombWarning escapes
    # (warnings are errors under pytest, so one would fail this test).
    generous = BackendLimits(operations=frozenset(Operation), max_input_pixels=10**9)
    with pytest.raises(InvalidRequest, match="10000×10000"):
        load_input_image_sync(png_header(10000, 10000), generous)


def test_jpeg_and_webp_bombs_refused_from_header() -> None:
    jpeg = bytearray(encode(Image.new("RGB", (16, 16)), "JPEG"))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width
    assert image_size(bytes(jpeg)) == (60000, 60000)
    with pytest.raises(InvalidRequest, match="60000×60000"):
        load_input_image_sync(bytes(jpeg), SDXL)

    webp = bytearray(encode(Image.new("RGBA", (16, 16), (1, 2, 3, 4)), "WEBP"))  # VP8X container
    assert webp[12:16] == b"VP8X"
    webp[24:30] = (16383 - 1).to_bytes(3, "little") + (16383 - 1).to_bytes(3, "little")
    with pytest.raises(InvalidRequest, match="16383×16383"):
        load_input_image_sync(bytes(webp), SDXL)


def test_too_many_bytes_refused_before_anything_else() -> None:
    small = BackendLimits(operations=frozenset(Operation), max_input_bytes=1024 * 1024)
    data = b"not even an image" * 70_000  # 1.1 MB: the size is what is reported
    with pytest.raises(InvalidRequest) as exc:
        load_input_image_sync(data, small, what="image")
    assert "1.1 MB" in exc.value.user_message and "1 MB" in exc.value.user_message
    assert_polite(exc.value)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_file_refused(fmt: str) -> None:
    data = encode(noise((256, 256)), fmt)
    with pytest.raises(InvalidRequest) as exc:
        load_input_image_sync(data[: len(data) // 2], SDXL)
    assert "damaged or incomplete" in exc.value.user_message
    assert_polite(exc.value)


def test_header_only_file_refused() -> None:
    with pytest.raises(InvalidRequest, match="damaged"):
        load_input_image_sync(b"\x89PNG\r\n\x1a\n\x00\x00", SDXL)


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("PNG", {}),
        ("JPEG", {}),
        ("JPEG", {"progressive": True}),
        ("WEBP", {"lossless": True}),  # VP8L
        ("WEBP", {"quality": 80}),  # VP8
    ],
)
def test_image_size_reads_header(fmt: str, params: dict[str, object]) -> None:
    assert image_size(encode(noise((123, 45)), fmt, **params)) == (123, 45)


def test_image_size_refuses_non_images() -> None:
    with pytest.raises(InvalidRequest):
        image_size(b"GIF89a....")


# ---------------------------------------------------------------------------- orientation, modes


def test_exif_rotated_jpeg_comes_out_upright() -> None:
    # Stored landscape, left half red / right half blue, with "rotate 90° clockwise to display".
    stored = Image.new("RGB", (80, 40), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    loaded = load_input_image_sync(encode(stored, "JPEG", exif=exif.tobytes(), quality=95), SDXL)
    assert (loaded.width, loaded.height) == (40, 80)
    pil = decode(loaded)
    top, bottom = pil.getpixel((20, 10)), pil.getpixel((20, 70))
    assert top[0] > 200 and top[2] < 60  # type: ignore[index]
    assert bottom[2] > 200 and bottom[0] < 60  # type: ignore[index]
    assert "exif" not in pil.info


def test_broken_exif_block_is_ignored_not_fatal() -> None:
    broken = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x09"
    data = encode(Image.new("RGB", (30, 20), "red"), "JPEG", exif=broken)
    # Pillow warns about the EXIF block (outside pytest a warning, not an error) and the image loads.
    with pytest.warns(UserWarning, match="Corrupt EXIF"):
        loaded = load_input_image_sync(data, SDXL)
    assert (loaded.width, loaded.height) == (30, 20)


def test_palette_converted_to_rgb() -> None:
    pal = Image.new("RGB", (32, 32), (10, 200, 30)).convert("P", palette=Image.Palette.ADAPTIVE)
    loaded = load_input_image_sync(encode(pal), SDXL)
    pil = decode(loaded)
    assert pil.mode == "RGB" and not loaded.has_alpha
    assert pil.getpixel((5, 5)) == (10, 200, 30)


def test_palette_with_transparency_keeps_alpha() -> None:
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 16, 32))
    pal = rgba.convert("P")
    pal.info["transparency"] = pal.getpixel((0, 0))
    loaded = load_input_image_sync(encode(pal, transparency=pal.getpixel((0, 0))), SDXL)
    pil = decode(loaded)
    assert loaded.has_alpha and pil.mode == "RGBA"
    assert pil.getpixel((2, 2))[3] == 0 and pil.getpixel((30, 2))[3] == 255  # type: ignore[index]


def test_cmyk_jpeg_converted_to_rgb() -> None:
    cmyk = Image.new("CMYK", (40, 40), (0, 255, 255, 0))  # pure red in CMYK
    loaded = load_input_image_sync(encode(cmyk, "JPEG", quality=95), SDXL)
    pil = decode(loaded)
    assert pil.mode == "RGB"
    r, g, b = pil.getpixel((20, 20))  # type: ignore[misc]
    assert r > 200 and g < 60 and b < 60


def test_la_converted_to_rgba_with_alpha() -> None:
    la = Image.new("LA", (20, 20), (128, 255))
    la.putpixel((0, 0), (128, 0))
    loaded = load_input_image_sync(encode(la), SDXL)
    pil = decode(loaded)
    assert loaded.has_alpha and pil.mode == "RGBA"
    assert pil.getpixel((10, 10)) == (128, 128, 128, 255)
    assert pil.getpixel((0, 0))[3] == 0  # type: ignore[index]


def test_opaque_alpha_channel_is_dropped() -> None:
    loaded = load_input_image_sync(encode(Image.new("RGBA", (20, 20), (1, 2, 3, 255))), SDXL)
    assert not loaded.has_alpha and decode(loaded).mode == "RGB"


def test_16_bit_grayscale_scaled_not_clipped() -> None:
    deep = Image.new("I;16", (20, 10), 0)
    deep.paste(65535, (0, 0, 10, 10))
    deep.paste(32896, (10, 0, 20, 10))  # mid grey in 16 bits
    loaded = load_input_image_sync(encode(deep), SDXL)
    pil = decode(loaded)
    assert pil.mode == "RGB"
    assert pil.getpixel((2, 2)) == (255, 255, 255)
    assert abs(pil.getpixel((15, 5))[0] - 128) <= 1  # type: ignore[index]


# ---------------------------------------------------------------------------- fit_to_backend


def _loaded(size: tuple[int, int], mode: str = "RGB") -> InputImage:
    fill = (90, 120, 150, 255) if mode == "RGBA" else (90, 120, 150)
    return load_input_image_sync(encode(Image.new(mode, size, fill)), SDXL)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1000, 600), (1344, 768)),  # 1.67: 1344×768 (1.75) is nearer than 1216×832 (1.46)
        ((600, 1000), (768, 1344)),
        ((1050, 800), (1152, 896)),  # 1.31: nearer 1.29 than 1.46
        ((1100, 800), (1216, 832)),  # 1.375: nearer 1.46 than 1.29 on a log scale
        ((512, 512), (1024, 1024)),
        ((3000, 1000), (1536, 640)),
        ((1216, 832), (1216, 832)),
    ],
)
def test_fit_to_sdxl_sizes_picks_nearest_ratio(size: tuple[int, int], expected: tuple[int, int]) -> None:
    fitted = fit_to_backend(_loaded(size), SDXL)
    assert (fitted.width, fitted.height) == expected
    assert decode(fitted).size == expected


def test_fit_returns_same_object_when_already_allowed() -> None:
    img = _loaded((1024, 1024))
    assert fit_to_backend(img, SDXL) is img
    free_ok = _loaded((512, 768))
    assert fit_to_backend(free_ok, FREE) is free_ok


def test_fit_crops_centre_instead_of_stretching() -> None:
    # A 1000×600 image with a centred circle must keep the circle round after fitting.
    src = Image.new("RGB", (1000, 600), "black")
    ImageDraw.Draw(src).ellipse((400, 200, 600, 400), fill="white")
    fitted = decode(fit_to_backend(load_input_image_sync(encode(src), SDXL), SDXL))
    bbox = fitted.convert("L").point(lambda v: 255 if v > 128 else 0).getbbox()
    assert bbox is not None
    w, h = bbox[2] - bbox[0], bbox[3] - bbox[1]
    assert abs(w - h) <= 3
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    assert abs(cx - fitted.width / 2) <= 3 and abs(cy - fitted.height / 2) <= 3


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((3000, 2000), (1536, 1024)),  # max_side binds
        ((2000, 2000), (1536, 1536)),
        ((500, 300), (512, 320)),  # scaled up to min_side, rounded down to 64
        ((700, 500), (640, 448)),  # only rounding
        ((5000, 100), (1536, 320)),  # extreme ratio: min side kept, long side cropped
    ],
)
def test_fit_free_size_limits(size: tuple[int, int], expected: tuple[int, int]) -> None:
    fitted = fit_to_backend(_loaded(size), FREE)
    assert (fitted.width, fitted.height) == expected
    assert fitted.width % 64 == 0 and fitted.height % 64 == 0
    assert fitted.pixels <= FREE.max_pixels and max(fitted.width, fitted.height) <= FREE.max_side


def test_fit_free_size_respects_max_pixels() -> None:
    limits = BackendLimits(operations=frozenset(Operation), max_side=2048, max_pixels=1024 * 1024)
    fitted = fit_to_backend(_loaded((1800, 1200)), limits)
    assert fitted.pixels <= 1024 * 1024
    assert (fitted.width, fitted.height) == (1216, 832)


async def test_fit_keeps_alpha() -> None:
    src = Image.new("RGBA", (1000, 600), (10, 20, 30, 255))
    src.paste((0, 0, 0, 0), (0, 0, 1000, 300))
    loaded = load_input_image_sync(encode(src), SDXL)
    fitted = await fit_to_backend_async(loaded, SDXL)
    assert fitted.has_alpha and decode(fitted).mode == "RGBA"


# ---------------------------------------------------------------------------- masks


def test_mask_of_same_shape_follows_the_image_geometry() -> None:
    init_src = Image.new("RGB", (1000, 600), "black")
    init_src.paste((255, 255, 255), (400, 200, 600, 400))
    mask_src = Image.new("RGB", (500, 300), "black")  # same shape, half the size
    mask_src.paste((255, 255, 255), (200, 100, 300, 200))
    init = load_input_image_sync(encode(init_src), SDXL)
    fitted = fit_to_backend(init, SDXL)
    mask = prepare_mask(load_input_image_sync(encode(mask_src), SDXL, what="mask"), init, fitted)

    assert (mask.width, mask.height) == (fitted.width, fitted.height) == (1344, 768)
    pil = decode(mask)
    assert pil.mode == "L"
    assert colours(pil) <= {0, 255}  # nearest: hard edges stay hard
    mask_box = pil.getbbox()
    init_box = decode(fitted).convert("L").point(lambda v: 255 if v > 128 else 0).getbbox()
    assert mask_box is not None and init_box is not None
    assert all(abs(a - b) <= 3 for a, b in zip(mask_box, init_box, strict=True))


async def test_mask_within_one_percent_of_shape_is_accepted() -> None:
    init = _loaded((1000, 600))
    mask = _loaded((1000, 605))  # 0.8 % off
    prepared = await prepare_mask_async(mask, init)
    assert (prepared.width, prepared.height) == (1000, 600)


def test_mask_of_other_shape_rejected_naming_both_sizes() -> None:
    init = _loaded((512, 512))
    with pytest.raises(InvalidRequest) as exc:
        prepare_mask(_loaded((300, 200)), init)
    assert exc.value.user_message == (
        "The mask is 300×200 but the image is 512×512; they must have the same shape."
    )


def test_transparent_parts_of_mask_count_as_black() -> None:
    src = Image.new("RGBA", (64, 64), (255, 255, 255, 255))
    src.paste((255, 255, 255, 0), (0, 0, 32, 64))
    mask = prepare_mask(load_input_image_sync(encode(src), SDXL), _loaded((64, 64)))
    pil = decode(mask)
    assert pil.getpixel((5, 5)) == 0 and pil.getpixel((60, 5)) == 255


def test_alpha_detection_and_mask_from_alpha() -> None:
    src = Image.new("RGBA", (64, 64), (200, 100, 50, 255))
    src.paste((0, 0, 0, 0), (0, 0, 16, 16))
    with_hole = load_input_image_sync(encode(src), SDXL)
    assert with_hole.has_alpha
    ensure_transparency(with_hole)
    mask = decode(mask_from_alpha(with_hole))
    assert mask.mode == "L" and mask.getpixel((2, 2)) == 255 and mask.getpixel((40, 40)) == 0

    opaque = _loaded((64, 64))
    with pytest.raises(InvalidRequest) as exc:
        ensure_transparency(opaque)
    assert "no transparent pixels" in exc.value.user_message
    assert_polite(exc.value)
    with pytest.raises(InvalidRequest):
        mask_from_alpha(opaque)


def test_embedded_icc_profile_applied_and_stripped() -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = Image.new("RGBA", (32, 32), (200, 80, 40, 255))
    src.paste((0, 0, 0, 0), (0, 0, 8, 8))
    loaded = load_input_image_sync(encode(src, icc_profile=icc), SDXL)
    pil = decode(loaded)
    assert "icc_profile" not in pil.info
    assert loaded.has_alpha and pil.getpixel((2, 2))[3] == 0  # type: ignore[index]
    r, g, b, a = pil.getpixel((20, 20))  # type: ignore[misc]
    assert abs(r - 200) <= 3 and abs(g - 80) <= 3 and abs(b - 40) <= 3 and a == 255
