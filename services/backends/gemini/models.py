"""Gemini image models: which ids easel offers by default and what each family takes.

The ids are configuration (``EASEL_GEMINI_MODEL``, ``EASEL_GEMINI_MODELS``); this module only
knows families, so a new snapshot needs no code change::

    spec = model_spec("gemini-3-pro-image")
    spec.takes_image_size    # True: imageConfig.imageSize 1K / 2K / 4K
    spec.max_input_images    # 14 reference images

From the ``google-genai`` SDK (3.x): ``ImageConfig.aspect_ratio`` takes 1:1, 2:3, 3:2, 3:4, 4:3,
9:16, 16:9 and 21:9; ``image_size`` 1K, 2K or 4K (Gemini 3 image models; ``gemini-2.5-flash-image``
makes 1K only). Every image carries Google's SynthID watermark.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ASPECT_RATIOS",
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "DEFAULT_MODELS",
    "IMAGE_SIZES",
    "ModelSpec",
    "model_spec",
]

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_MODEL = "gemini-3.1-flash-image"
DEFAULT_MODELS = ("gemini-3.1-flash-image", "gemini-3-pro-image", "gemini-3.1-flash-lite-image")
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9")
IMAGE_SIZES = ("1K", "2K", "4K")
MAX_PROMPT_CHARS = 8000  # well inside the models' input token limits; a chat prompt never needs more


@dataclass(frozen=True, slots=True)
class ModelSpec:
    model: str
    takes_image_size: bool
    max_input_images: int


def model_spec(model: str) -> ModelSpec:
    """Gemini 2.x image models: 1K only, 3 input images; later ones: 1K–4K, 14 input images."""
    if model.startswith("gemini-2"):
        return ModelSpec(model, takes_image_size=False, max_input_images=3)
    return ModelSpec(model, takes_image_size=True, max_input_images=14)
