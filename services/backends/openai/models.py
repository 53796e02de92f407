"""What each OpenAI image model accepts: sizes, qualities, images per request.

The model ids come from configuration (``EASEL_OPENAI_MODELS``); this table only says how a
model *family* sizes its pictures, so a new snapshot (``gpt-image-2-2026-…``) or a compatible
server's own model name needs no code change::

    spec = model_spec("gpt-image-2.5-flare")
    spec.size_problem(1536, 864)      # None: any multiple of 16 between 1:3 and 3:1 is fine
    model_spec("gpt-image-1.5").size_problem(800, 600)   # "gpt-image-1.5 makes 1024x1024, …"

Rules as the ``openai`` SDK (3.x) documents them for ``/v1/images/generations`` and
``/v1/images/edits``: the ``gpt-image-2`` family takes any ``WIDTHxHEIGHT`` with both sides
multiples of 16, aspect ratio within 1:3…3:1, at most 3840 px a side and 3840×2160 pixels in all;
older GPT image models and unknown (compatible-server) models take the three standard sizes
unless the operator lists others; ``n`` is 1–10; up to 16 input images per edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "DEFAULT_MODELS",
    "MAX_EDIT_IMAGES",
    "MAX_PROMPT_CHARS",
    "STANDARD_SIZES",
    "ModelSpec",
    "model_spec",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-image-2"
DEFAULT_MODELS = ("gpt-image-2", "gpt-image-2.5-sunburst", "gpt-image-2.5-flare", "gpt-image-1.5")
STANDARD_SIZES: tuple[tuple[int, int], ...] = ((1024, 1024), (1536, 1024), (1024, 1536))
MAX_PROMPT_CHARS = 32000
MAX_EDIT_IMAGES = 16
MAX_SAMPLES = 10
# Families that take any WIDTHxHEIGHT (the SDK's docstring for ``size``).
_FLEXIBLE_PREFIXES = ("gpt-image-2",)
_EXTRA_QUALITY_PREFIXES = ("gpt-image-2.5-",)  # also xhigh and max
_BASE_QUALITIES: tuple[str, ...] = ("auto", "low", "medium", "high")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """How one model sizes its output; ``sizes`` is None for free sizing within the bounds."""

    model: str
    sizes: tuple[tuple[int, int], ...] | None
    qualities: tuple[str, ...] = _BASE_QUALITIES
    size_multiple: int = 16
    max_side: int = 3840
    max_pixels: int = 3840 * 2160
    min_pixels: int = 655_360
    max_ratio: float = 3.0
    max_samples: int = MAX_SAMPLES

    def size_problem(self, width: int, height: int) -> str | None:
        """Why ``width``×``height`` cannot be asked of this model (a sentence for users), or None."""
        if self.sizes is not None:
            if (width, height) in self.sizes:
                return None
            listed = ", ".join(f"{w}x{h}" for w, h in self.sizes)
            return f"{self.model} makes these sizes only: {listed}."
        m = self.size_multiple
        if width % m or height % m:
            return f"{self.model} needs width and height in multiples of {m} (asked {width}x{height})."
        if max(width, height) > self.max_side or width * height > self.max_pixels:
            return f"{self.model} makes at most 3840x2160 (asked {width}x{height})."
        if width * height < self.min_pixels:
            return f"{self.model} makes at least {self.min_pixels:,} pixels (asked {width}x{height})."
        if max(width, height) / min(width, height) > self.max_ratio:
            return f"{self.model} makes aspect ratios between 1:3 and 3:1 (asked {width}x{height})."
        return None


def model_spec(model: str, sizes: Sequence[tuple[int, int]] | None = None) -> ModelSpec:
    """The spec of ``model``; ``sizes`` (the operator's list) replaces the standard sizes of fixed-size models."""
    qualities: tuple[str, ...] = _BASE_QUALITIES
    if model.startswith(_EXTRA_QUALITY_PREFIXES):
        qualities = (*_BASE_QUALITIES, "xhigh", "max")
    if model.startswith(_FLEXIBLE_PREFIXES):
        return ModelSpec(model, None, qualities)
    return ModelSpec(model, tuple(sizes) if sizes else STANDARD_SIZES, qualities)
