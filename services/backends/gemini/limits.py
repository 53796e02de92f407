"""The :class:`BackendLimits` commands validate against for Gemini image models.

Gemini takes aspect ratios, not sizes, and has no steps, CFG, samplers, styles, negative prompts
or strength: those options are unsupported and refused with a clear message. Seeds are supported.
"""

from __future__ import annotations

from services.backends.base import BackendLimits
from services.backends.gemini.models import MAX_PROMPT_CHARS
from services.types import Operation

__all__ = ["OPERATIONS", "SEED_MAX", "UNSUPPORTED_OPTIONS", "limits_for"]

OPERATIONS = frozenset({Operation.IMAGINE, Operation.REMIX})
UNSUPPORTED_OPTIONS = frozenset(
    {"steps", "cfg_scale", "sampler", "scheduler", "style", "strength", "negative"}
)
SEED_MAX = 2**31 - 1  # generationConfig.seed is an int32
MAX_SAMPLES = 4  # one request per image


def limits_for(model: str, models: tuple[str, ...], aspect_ratios: tuple[str, ...]) -> BackendLimits:
    return BackendLimits(
        operations=OPERATIONS,
        default_size=(1024, 1024),
        allowed_sizes=None,
        aspect_ratios=aspect_ratios,
        min_side=64,
        max_side=4096,
        size_multiple=8,
        max_pixels=4096 * 4096,
        samples=(1, MAX_SAMPLES),
        seed=(0, SEED_MAX),
        models=models,
        default_model=model,
        max_input_bytes=20 * 1024 * 1024,
        max_input_pixels=4096 * 4096,
        max_prompt_chars=MAX_PROMPT_CHARS,
        supports_negative_weights=False,
        unsupported_options=UNSUPPORTED_OPTIONS,
    )
