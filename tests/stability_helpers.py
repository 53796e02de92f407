"""Small builders shared by the Stability backend tests (v1 and v2): images and requests."""

from __future__ import annotations

import io

from PIL import Image

from services.types import GenerationRequest, InputImage, Operation, WeightedPrompt


def png(size: tuple[int, int], colour: tuple[int, ...] = (255, 0, 0), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, "PNG", compress_level=1)
    return out.getvalue()


def input_image(size: tuple[int, int], colour: tuple[int, ...] = (255, 0, 0), mode: str = "RGB") -> InputImage:
    return InputImage(png=png(size, colour, mode), width=size[0], height=size[1], has_alpha="A" in mode)


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def imagine(**kwargs: object) -> GenerationRequest:
    kwargs.setdefault("prompts", (WeightedPrompt("a lighthouse on a cliff"),))
    return GenerationRequest(operation=Operation.IMAGINE, **kwargs)  # type: ignore[arg-type]
