"""One selection rule for every backend's mask convention (services.masks.repaint_selection)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from services.backends.comfyui.masks import comfy_mask
from services.backends.openai.masks import openai_mask
from services.errors import InvalidRequest
from services.images import encode_png
from services.masks import repaint_selection
from services.types import InputImage, MaskSource


def _image(mode: str, size: tuple[int, int], color: int | tuple[int, ...]) -> InputImage:
    img = Image.new(mode, size, color)
    return InputImage(png=encode_png(img), width=size[0], height=size[1], has_alpha="A" in mode)


def _left_half_white(size: tuple[int, int] = (64, 32)) -> InputImage:
    img = Image.new("L", size, 0)
    img.paste(255, (0, 0, size[0] // 2, size[1]))
    return InputImage(png=encode_png(img), width=size[0], height=size[1])


def test_white_and_black_sources_select_opposite_halves() -> None:
    init, mask = _image("RGB", (64, 32), (9, 9, 9)), _left_half_white()
    white = repaint_selection(init, mask, MaskSource.WHITE)
    black = repaint_selection(init, mask, MaskSource.BLACK)
    assert (white.getpixel((5, 5)), white.getpixel((60, 5))) == (255, 0)
    assert (black.getpixel((5, 5)), black.getpixel((60, 5))) == (0, 255)


def test_a_dark_grey_mask_selects_nothing_and_says_so_in_the_shared_words() -> None:
    init = _image("RGB", (64, 32), (9, 9, 9))
    with pytest.raises(InvalidRequest, match="The mask selects no area: it is all black"):
        repaint_selection(init, _image("L", (64, 32), 100), MaskSource.WHITE)
    with pytest.raises(InvalidRequest, match="The mask selects no area: it is all white"):
        repaint_selection(init, _image("L", (64, 32), 200), MaskSource.BLACK)


def test_alpha_source_selects_transparent_pixels_and_refuses_opaque_images() -> None:
    holed = Image.new("RGBA", (32, 32), (1, 2, 3, 255))
    holed.paste((0, 0, 0, 0), (0, 0, 8, 8))
    init = InputImage(png=encode_png(holed), width=32, height=32, has_alpha=True)
    selection = repaint_selection(init, None, MaskSource.ALPHA)
    assert (selection.getpixel((2, 2)), selection.getpixel((20, 20))) == (255, 0)
    with pytest.raises(InvalidRequest, match="no transparent pixels"):
        repaint_selection(_image("RGB", (32, 32), (1, 2, 3)), None, MaskSource.ALPHA)


async def test_backend_conventions_are_built_from_the_same_selection() -> None:
    init, mask = _image("RGB", (64, 32), (9, 9, 9)), _left_half_white()
    with Image.open(io.BytesIO(await openai_mask(init, mask, MaskSource.WHITE))) as edit:
        assert edit.getpixel((5, 5))[3] == 0 and edit.getpixel((60, 5))[3] == 255  # transparent = edit
    with Image.open(io.BytesIO(await comfy_mask(init, mask, MaskSource.BLACK))) as comfy:
        assert comfy.getpixel((5, 5)) == 0 and comfy.getpixel((60, 5)) == 255  # white = repaint
    for build in (openai_mask, comfy_mask):
        with pytest.raises(InvalidRequest, match="selects no area"):
            await build(init, _image("L", (64, 32), 0), MaskSource.WHITE)
