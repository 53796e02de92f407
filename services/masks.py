"""Masks: which pixels a user asked to repaint, made exact and checked once for every backend.

Uploaded masks are fitted to the image sent (:func:`prepare_mask`); backends that want their own
convention (OpenAI's transparent-means-edit, ComfyUI's white-means-repaint) start from
:func:`repaint_selection`, so "the mask selects no area" is one rule with one sentence everywhere.
"""

from __future__ import annotations

from typing import Final

from PIL import Image, ImageOps

from services.errors import InvalidRequest
from services.images import encode_png, open_trusted
from services.offload import run_cpu
from services.types import InputImage, MaskSource

__all__ = [
    "ensure_transparency",
    "ensure_transparency_async",
    "mask_from_alpha",
    "mask_from_alpha_async",
    "prepare_mask",
    "prepare_mask_async",
    "repaint_selection",
]

_ASPECT_TOLERANCE: Final = 0.01
_ALPHA_MODES: Final = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_THRESHOLD: Final = 128  # grayscale at or above this counts as white


def prepare_mask(
    mask: InputImage, init: InputImage, fitted: InputImage | None = None, *, repaint_white: bool = True
) -> InputImage:
    """Turn an uploaded mask into a grayscale mask exactly the size of the init image sent.

    ``init`` is the init image as uploaded (after :func:`load_input_image`), ``fitted`` what
    :func:`fit_to_backend` made of it (defaults to ``init``). The rule users are told: the mask
    must have the same shape (aspect ratio, within 1 %) as the image; it is then scaled and
    cropped exactly like the image was, with nearest-neighbour sampling so hard edges stay hard.
    Transparent parts of a mask count as black. A mask that selects nothing (all black when
    white is repainted, all white when black is: ``repaint_white=False``) is refused, since the
    result could only be the input and the user would pay for it.
    """
    target = fitted or init
    mask_ratio, init_ratio = mask.width / mask.height, init.width / init.height
    if abs(mask_ratio / init_ratio - 1) > _ASPECT_TOLERANCE:
        raise InvalidRequest(
            f"The mask is {mask.width}×{mask.height} but the image is {init.width}×{init.height}; "
            "they must have the same shape."
        )
    pil = open_trusted(mask)
    if pil.mode == "RGBA":
        black = Image.new("RGBA", pil.size, (0, 0, 0, 255))
        pil = Image.alpha_composite(black, pil)
    gray = pil.convert("L")
    if gray.size != (target.width, target.height):
        gray = ImageOps.fit(gray, (target.width, target.height), method=Image.Resampling.NEAREST)
    _check_selects_something(gray, repaint_white)
    return InputImage(png=encode_png(gray), width=target.width, height=target.height, has_alpha=False)


async def prepare_mask_async(
    mask: InputImage, init: InputImage, fitted: InputImage | None = None, *, repaint_white: bool = True
) -> InputImage:
    return await run_cpu(prepare_mask, mask, init, fitted, repaint_white=repaint_white)


def _check_selects_something(gray: Image.Image, repaint_white: bool) -> None:
    low, high = gray.getextrema()
    assert isinstance(low, int) and isinstance(high, int)
    if repaint_white and high == 0:
        raise InvalidRequest(
            "The mask selects no area: it is all black, and white areas are the ones repainted. "
            "Paint the area to repaint white, or use --mask-source black."
        )
    if not repaint_white and low == 255:
        raise InvalidRequest(
            "The mask selects no area: it is all white, and with --mask-source black the black "
            "areas are the ones repainted. Paint the area to repaint black, or use --mask-source white."
        )


def _transparent_pixels(img: InputImage) -> bool:
    pil = open_trusted(img)
    if pil.mode not in _ALPHA_MODES and "transparency" not in pil.info:
        return False
    lo, _hi = pil.convert("RGBA").getchannel("A").getextrema()
    return isinstance(lo, int) and lo < 255


def ensure_transparency(init: InputImage, *, what: str = "image") -> None:
    """Raise unless ``init`` has transparent pixels (needed for ``--mask-source alpha``)."""
    if not _transparent_pixels(init):
        raise InvalidRequest(
            f"The {what} has no transparent pixels, so there is nothing to repaint with the alpha mask. "
            "Erase the area to repaint (make it transparent) and save as PNG or WebP, or upload a mask."
        )


async def ensure_transparency_async(init: InputImage, *, what: str = "image") -> None:
    await run_cpu(ensure_transparency, init, what=what)


def mask_from_alpha(init: InputImage) -> InputImage:
    """A grayscale mask where transparent pixels of ``init`` are white (repaint) and opaque black.

    For backends that take a separate mask but no ``INIT_IMAGE_ALPHA`` mode (GPU hosts): use
    with ``mask_source=white``. Raises :class:`InvalidRequest` if nothing is transparent.
    """
    ensure_transparency(init)
    alpha = open_trusted(init).convert("RGBA").getchannel("A")
    mask = ImageOps.invert(alpha)
    return InputImage(png=encode_png(mask), width=init.width, height=init.height, has_alpha=False)


async def mask_from_alpha_async(init: InputImage) -> InputImage:
    return await run_cpu(mask_from_alpha, init)


def repaint_selection(init: InputImage, mask: InputImage | None, source: MaskSource) -> Image.Image:
    """A binary ``L`` image, 255 where the user asked to repaint, 0 elsewhere.

    ``mask`` is a mask already made by :func:`prepare_mask` (grayscale, the image's size);
    with ``--mask-source alpha`` (or no mask) the selection is the image's transparent pixels.
    Raises :class:`InvalidRequest` with the shared sentences when nothing is selected.
    """
    if source is MaskSource.ALPHA or mask is None:
        ensure_transparency(init)
        alpha = open_trusted(init).convert("RGBA").getchannel("A")
        return alpha.point(lambda a: 255 if a < 255 else 0)
    gray = open_trusted(mask).convert("L")
    if gray.size != (init.width, init.height):
        raise InvalidRequest("The mask must be exactly the size of the image.")
    repaint_white = source is MaskSource.WHITE
    binary = gray.point(lambda v: 255 if v >= _THRESHOLD else 0)
    _check_selects_something(binary, repaint_white)
    return binary if repaint_white else ImageOps.invert(binary)
