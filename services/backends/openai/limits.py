"""The :class:`BackendLimits` commands validate against, from the default model's :class:`ModelSpec`.

Only what the images API can do is declared: imagine, remix (an edit without mask) and inpaint.
Options the API has no notion of are unsupported, so commands refuse them instead of ignoring them.
"""

from __future__ import annotations

import math

from services.backends.base import BackendLimits
from services.backends.openai.models import MAX_PROMPT_CHARS, ModelSpec
from services.types import Operation

__all__ = ["OPERATIONS", "UNSUPPORTED_OPTIONS", "limits_for"]

OPERATIONS = frozenset({Operation.IMAGINE, Operation.REMIX, Operation.INPAINT})
UNSUPPORTED_OPTIONS = frozenset(
    {"steps", "cfg_scale", "sampler", "scheduler", "style", "seed", "strength", "negative"}
)


def limits_for(spec: ModelSpec, models: tuple[str, ...]) -> BackendLimits:
    """Limits with ``spec`` as the default model; ``models`` are those ``--model`` may name."""
    allowed: tuple[tuple[int, int], ...] | None = spec.sizes
    if spec.sizes is not None:
        sides = [side for size in spec.sizes for side in size]
        min_side, max_side = min(sides), max(sides)
        max_pixels, min_pixels = max(w * h for w, h in spec.sizes), 0
    else:
        shortest = math.ceil(math.sqrt(spec.min_pixels / spec.max_ratio) / spec.size_multiple)
        min_side, max_side = shortest * spec.size_multiple, spec.max_side
        max_pixels, min_pixels = spec.max_pixels, spec.min_pixels
    return BackendLimits(
        operations=OPERATIONS,
        default_size=(1024, 1024),
        allowed_sizes=allowed,
        min_side=min_side,
        max_side=max_side,
        size_multiple=spec.size_multiple,
        max_pixels=max_pixels,
        min_pixels=min_pixels,
        samples=(1, spec.max_samples),
        models=models,
        default_model=spec.model,
        max_input_bytes=25 * 1024 * 1024,
        max_input_pixels=4096 * 4096,
        max_prompt_chars=MAX_PROMPT_CHARS,
        supports_negative_weights=False,
        unsupported_options=UNSUPPORTED_OPTIONS,
    )
