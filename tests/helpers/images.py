"""Picture builders shared by the suites: solid PNGs, masks, decompression-bomb headers, decoding.

One builder per shape, so two suites that need "a 512×512 picture with a transparent hole" get the
same bytes instead of two near-copies drifting apart.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from services.types import InputImage


def png(
    size: tuple[int, int] = (512, 512),
    colour: tuple[int, ...] = (255, 0, 0),
    mode: str = "RGB",
    *,
    hole: bool = False,
) -> bytes:
    """A solid ``size`` picture; ``hole`` makes it RGBA with a transparent centre (/inpaint without a mask)."""
    if hole:
        mode = "RGBA"
        colour = (*colour[:3], 255)
    img = Image.new(mode, size, colour)
    if hole:
        w, h = size
        img.paste((0, 0, 0, 0), (w // 4, h // 4, 3 * w // 4, 3 * h // 4))
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def input_image(
    size: tuple[int, int], colour: tuple[int, ...] = (255, 0, 0), mode: str = "RGB"
) -> InputImage:
    return InputImage(png=png(size, colour, mode), width=size[0], height=size[1], has_alpha="A" in mode)


def grey_png(size: tuple[int, int]) -> bytes:
    """An all-white greyscale picture: a mask that covers everything."""
    return png(size, (255,), "L")


def mask_png(width: int = 640, height: int = 480) -> bytes:
    """A greyscale mask whose left half is white (repaint) and right half black (keep)."""
    img = Image.new("L", (width, height), 0)
    img.paste(255, (0, 0, width // 2, height))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def png_header_only(width: int = 20_000, height: int = 20_000) -> bytes:
    """A PNG whose header claims ``width``×``height`` but holds one tiny IDAT: a decompression bomb shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def decode(data: bytes) -> Image.Image:
    """Open and fully load an encoded picture (so the bytes can be dropped)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def colours(img: Image.Image) -> set[object]:
    """Every distinct pixel value (ints for one band, tuples for several).

    ``getcolors`` works the same on every Pillow the pins allow; ``getdata`` is deprecated
    from Pillow 13 (and a warning is an error in the suite).
    """
    found = img.getcolors(maxcolors=img.width * img.height)
    assert found is not None
    return {colour for _, colour in found}


def screenshot_of(data: bytes, *, scale: float = 0.8, margin: int = 10, quality: int = 80) -> bytes:
    """What a phone screenshot makes of a posted picture: smaller, edges cut, JPEG."""
    with Image.open(io.BytesIO(data)) as img:
        small = img.convert("RGB").resize((round(img.width * scale), round(img.height * scale)))
    out = io.BytesIO()
    small.crop((margin, margin, small.width - margin, small.height - margin)).save(
        out, "JPEG", quality=quality
    )
    return out.getvalue()
