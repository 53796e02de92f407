"""Fitting a batch of images into a platform's upload limit."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageFilter

from services.encoding import EncodedFile, fit_upload, fit_upload_sync, split_batches


def png_of(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def photo(size: tuple[int, int], seed: int) -> Image.Image:
    """Soft noise: compresses badly as PNG, well as WebP/JPEG, like a generated picture."""
    rng = random.Random(seed)
    img = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    return img.filter(ImageFilter.GaussianBlur(1.2))


def decoded(f: EncodedFile) -> Image.Image:
    img = Image.open(io.BytesIO(f.data))
    img.load()
    assert img.format == {"png": "PNG", "webp": "WEBP", "jpg": "JPEG"}[f.extension]
    assert f.content_type == {"png": "image/png", "webp": "image/webp", "jpg": "image/jpeg"}[f.extension]
    return img


async def test_batch_that_fits_stays_png_byte_for_byte() -> None:
    pngs = [png_of(photo((128, 128), s)) for s in range(3)]
    files = await fit_upload(pngs, max_total_bytes=sum(map(len, pngs)))
    assert [f.data for f in files] == pngs
    assert {(f.content_type, f.extension) for f in files} == {("image/png", "png")}


async def test_batch_over_limit_is_reencoded_to_fit_in_order() -> None:
    sizes = [(384, 256), (256, 384), (320, 320), (256, 256)]
    pngs = [png_of(photo(s, i)) for i, s in enumerate(sizes)]
    limit = sum(map(len, pngs)) // 3
    files = await fit_upload(pngs, max_total_bytes=limit)
    assert len(files) == 4
    assert sum(f.size for f in files) <= limit
    assert [decoded(f).size for f in files] == sizes  # order kept, no down-scaling needed
    assert all(f.extension in ("webp", "jpg") for f in files)


def test_webp_first_then_jpeg_as_budget_tightens() -> None:
    png = png_of(photo((256, 256), 7))
    generous = fit_upload_sync([png], max_total_bytes=len(png) - 1)
    assert generous[0].extension == "webp"
    webp_size = generous[0].size
    tighter = fit_upload_sync([png], max_total_bytes=int(webp_size * 0.6))
    assert tighter[0].extension == "jpg" and tighter[0].size <= webp_size * 0.6
    assert decoded(tighter[0]).size == (256, 256)


def test_never_fails_for_size_downscales_as_last_resort() -> None:
    pngs = [png_of(photo((512, 512), s)) for s in range(4)]
    files = fit_upload_sync(pngs, max_total_bytes=12_000)
    assert sum(f.size for f in files) <= 12_000
    for f in files:
        img = decoded(f)
        assert f.extension == "jpg" and img.width < 512 and img.width == img.height


def test_max_file_bytes_caps_each_file() -> None:
    big, small = png_of(photo((384, 384), 1)), png_of(photo((64, 64), 2))
    cap = len(big) // 2
    files = fit_upload_sync([big, small], max_total_bytes=10**9, max_file_bytes=cap)
    assert files[0].size <= cap and files[0].extension != "png"
    assert files[1].data == small  # already small enough: kept as lossless PNG


def test_rgba_images_survive_reencoding() -> None:
    rgba = photo((256, 256), 5).convert("RGBA")
    rgba.putalpha(128)
    png = png_of(rgba)
    webp = fit_upload_sync([png], max_total_bytes=len(png) - 1)[0]
    assert webp.extension == "webp" and decoded(webp).mode == "RGBA"
    jpeg = fit_upload_sync([png], max_total_bytes=webp.size // 2)[0]
    assert jpeg.extension == "jpg" and decoded(jpeg).mode == "RGB"


def test_encoded_file_unpacks_like_a_tuple() -> None:
    data, content_type, extension = EncodedFile(b"x", "image/png", "png")
    assert (data, content_type, extension) == (b"x", "image/png", "png")


def test_split_batches_groups_under_limit_in_order() -> None:
    files = [EncodedFile(bytes(n), "image/png", "png") for n in (40, 40, 30, 90, 150, 10)]
    groups = split_batches(files, max_total_bytes=100)
    assert [[f.size for f in g] for g in groups] == [[40, 40], [30], [90], [150], [10]]
    assert all(sum(f.size for f in g) <= 100 for g in groups if len(g) > 1)


def test_split_batches_respects_max_files() -> None:
    files = [EncodedFile(b"a", "image/png", "png")] * 5
    groups = split_batches(files, max_total_bytes=10**6, max_files=2)
    assert [len(g) for g in groups] == [2, 2, 1]
    assert split_batches([], max_total_bytes=10) == []
