"""Stability v1's engines: which ones generate, and what each accepts (no network needed)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from services.backends.base import BackendLimits
from services.backends.stability.v1_wire import (
    CFG_SCALE_RANGE,
    LEGACY_MAX_PIXELS,
    LEGACY_SIDES,
    LEGACY_SIZE_MULTIPLE,
    LEGACY_STEPS,
    MAX_PROMPT_CHARS,
    MAX_UPSCALE_OUTPUT_PIXELS,
    SAMPLERS,
    SAMPLES_RANGE,
    SDXL_ENGINE_PREFIX,
    SDXL_SIZES,
    SDXL_STEPS,
    SEED_RANGE,
    STYLE_PRESETS,
)
from services.types import Operation

__all__ = ["is_generation_engine", "is_sdxl_engine", "limits_for_engine", "parse_engines"]

_OPERATIONS = frozenset({Operation.IMAGINE, Operation.REMIX, Operation.INPAINT, Operation.UPSCALE})
_EXTRA_OPTIONS = frozenset({"init_image_mode", "step_schedule_start", "step_schedule_end"})


def is_sdxl_engine(engine_id: str) -> bool:
    """SDXL 1024 engines take a closed list of sizes and 10–50 steps."""
    return engine_id.startswith(SDXL_ENGINE_PREFIX)


def is_generation_engine(engine_id: str) -> bool:
    """Engines that diffuse images (models users may pick), as opposed to upscalers."""
    return not engine_id.startswith("esrgan-") and "upscaler" not in engine_id


def limits_for_engine(engine_id: str, engines: Sequence[str] = ()) -> BackendLimits:
    """What Stability v1 accepts with ``engine_id`` as the default model; no network needed.

    ``engines`` are the ids ``GET /v1/engines/list`` returned (upscalers are left out of
    ``models``); without them the configured engine is the only model.
    """
    models = tuple(e for e in engines if is_generation_engine(e)) or (engine_id,)
    limits = _engine_limits(engine_id, models)
    others = tuple((m, _engine_limits(m, models)) for m in models if m != engine_id)
    return replace(limits, model_limits=others)


def _engine_limits(engine_id: str, models: tuple[str, ...]) -> BackendLimits:
    base = BackendLimits(
        operations=_OPERATIONS,
        samples=SAMPLES_RANGE,
        seed=SEED_RANGE,
        cfg_scale=CFG_SCALE_RANGE,
        style_presets=STYLE_PRESETS,
        samplers=SAMPLERS,
        models=models,
        default_model=engine_id,
        upscale_factors=(2,),
        max_upscale_output_pixels=MAX_UPSCALE_OUTPUT_PIXELS,
        max_prompt_chars=MAX_PROMPT_CHARS,
        supports_negative_weights=True,
        options=_EXTRA_OPTIONS,
    )
    if is_sdxl_engine(engine_id):
        return replace(
            base,
            default_size=(1024, 1024),
            allowed_sizes=SDXL_SIZES,
            min_side=min(min(s) for s in SDXL_SIZES),
            max_side=max(max(s) for s in SDXL_SIZES),
            max_pixels=max(w * h for w, h in SDXL_SIZES),
            steps=SDXL_STEPS,
        )
    # 512/768-class engines: sides of 320–1536 in multiples of 64, with at most 1,048,576 pixels and
    # at least 262,144 (589,824 for 768 engines).
    side = 768 if "768" in engine_id else 512
    return replace(
        base,
        default_size=(side, side),
        allowed_sizes=None,
        min_side=LEGACY_SIDES[0],
        max_side=LEGACY_SIDES[1],
        size_multiple=LEGACY_SIZE_MULTIPLE,
        max_pixels=LEGACY_MAX_PIXELS,
        min_pixels=side * side,
        steps=LEGACY_STEPS,
    )


def parse_engines(body: bytes) -> tuple[str, ...]:
    """The picture engines' ids in a ``GET /v1/engines/list`` answer (ValueError when unreadable)."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, list):
        raise ValueError("engine list is not an array")
    return tuple(
        str(e["id"])
        for e in data
        if isinstance(e, dict) and "id" in e and e.get("type", "PICTURE") == "PICTURE"
    )
