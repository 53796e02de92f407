"""The v2beta models users may choose, and what easel accepts with each (no network needed).

::

    known_models()                                  # ("core", "ultra", "sd3.5-large", …)
    limits = limits_for_model("sd3.5-large", ["core", "sd3.5-large"])
    MODELS["ultra"].path                            # "/v2beta/stable-image/generate/ultra"
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from services.backends.base import BackendLimits
from services.backends.stability.v2_wire import (
    ASPECT_RATIOS,
    FAST_UPSCALE_FACTOR,
    GUIDED_UPSCALE_MODES,
    IMAGE_RULES,
    MAX_OUTPAINT_MARGIN,
    MAX_PROMPT_CHARS,
    MAX_PROMPT_WEIGHT,
    SEED_MAX,
    STYLE_PRESETS,
    UPSCALE_MODES,
)
from services.types import Operation

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "ModelSpec",
    "known_models",
    "limits_for_model",
    "unsupported_options",
]

DEFAULT_MODEL = "core"

_EDIT_OPERATIONS = frozenset(
    {Operation.INPAINT, Operation.OUTPAINT, Operation.UPSCALE, Operation.REPLACE, Operation.CUTOUT}
)
_EXTRA_OPTIONS = frozenset({"search_prompt", "grow_mask", "upscale_mode", "creativity"})
_ALWAYS_UNSUPPORTED = frozenset({"steps", "sampler", "scheduler", "size"})


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model users may choose: where it lives and which options it declares.

    ``wire_model`` is the ``model`` field of the shared ``/generate/sd3`` endpoint (None for
    models with their own endpoint). ``cfg_scale`` is None when the model takes none.
    """

    name: str
    path: str
    wire_model: str | None = None
    image_to_image: bool = False
    style_presets: bool = True
    cfg_scale: tuple[float, float] | None = None
    default_cfg_scale: float | None = None
    output_formats: tuple[str, ...] = ("png", "jpeg", "webp")


_GENERATE = "/v2beta/stable-image/generate"


def _sd3(name: str, default_cfg: float) -> ModelSpec:
    return ModelSpec(
        name=name,
        path=f"{_GENERATE}/sd3",
        wire_model=name,
        image_to_image=True,
        cfg_scale=(1.0, 10.0),
        default_cfg_scale=default_cfg,
        output_formats=("png", "jpeg"),
    )


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("core", f"{_GENERATE}/core"),
        ModelSpec("ultra", f"{_GENERATE}/ultra", image_to_image=True),
        _sd3("sd3.5-large", 4.0),
        _sd3("sd3.5-large-turbo", 1.0),
        _sd3("sd3.5-medium", 4.0),
        _sd3("sd3.5-flash", 1.0),
    )
}


def known_models() -> tuple[str, ...]:
    """Every model ``EASEL_STABILITY_MODEL`` / ``--model`` may name on this backend."""
    return tuple(MODELS)


def unsupported_options(model: str) -> frozenset[str]:
    """Names of the ``commands.options`` options ``model`` cannot take (``--steps`` on core …)."""
    spec = MODELS[model]
    names = set(_ALWAYS_UNSUPPORTED)
    if spec.cfg_scale is None:
        names.add("cfg_scale")
    if not spec.style_presets:
        names.add("style")
    if not spec.image_to_image:
        names.add("strength")
    return frozenset(names)


def limits_for_model(model: str, models: Sequence[str] | None = None) -> BackendLimits:
    """What v2beta accepts with ``model`` as the default; ``models`` are those users may pick.

    Generation takes aspect ratios, not sizes (``aspect_ratios`` set, ``allowed_sizes`` None);
    ``size_multiple``/``max_pixels`` bound the images sent to edits (up to 9.4 megapixels).
    """
    if model not in MODELS:
        raise ValueError(f"unknown Stability model {model!r}; choose one of: {', '.join(MODELS)}")
    choices = tuple(models) if models else tuple(MODELS)
    unknown = [m for m in choices if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown Stability model {unknown[0]!r}; choose from: {', '.join(MODELS)}")
    if model not in choices:
        choices = (model, *choices)
    spec = MODELS[model]
    operations = set(_EDIT_OPERATIONS) | {Operation.IMAGINE}
    if spec.image_to_image:
        operations.add(Operation.REMIX)
    limits = BackendLimits(
        operations=frozenset(operations),
        default_size=(1024, 1024),
        allowed_sizes=None,
        aspect_ratios=ASPECT_RATIOS,
        min_side=64,
        max_side=4096,
        size_multiple=8,
        max_pixels=9_437_184,
        min_pixels=4_096,
        samples=(1, 10),
        seed=(0, SEED_MAX),
        strength=(0.0, 1.0),
        style_presets=STYLE_PRESETS if spec.style_presets else (),
        samplers=(),
        schedulers=(),
        models=choices,
        default_model=model,
        upscale_factors=(FAST_UPSCALE_FACTOR,),
        max_upscale_output_pixels=IMAGE_RULES["upscale-fast"].max_pixels * FAST_UPSCALE_FACTOR**2,
        max_input_bytes=25 * 1024 * 1024,  # uploads are re-encoded under the API's 10 MiB
        max_input_pixels=4096 * 4096,
        max_prompt_chars=MAX_PROMPT_CHARS,
        supports_negative_weights=True,
        options=_EXTRA_OPTIONS,
    )
    if spec.cfg_scale is not None and spec.default_cfg_scale is not None:
        limits = replace(limits, cfg_scale=spec.cfg_scale, default_cfg_scale=spec.default_cfg_scale)
    return replace(
        limits,
        unsupported_options=unsupported_options(model),
        upscale_modes=UPSCALE_MODES,
        guided_upscale_modes=GUIDED_UPSCALE_MODES,
        outpaint_margin=(0, MAX_OUTPAINT_MARGIN),
        max_prompt_weight=MAX_PROMPT_WEIGHT,
    )
