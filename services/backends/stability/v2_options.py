"""What v2beta accepts of a :class:`GenerationRequest`, model by model: the option checks.

Commands fill ``steps``/``cfg_scale`` with the configured model's defaults, so only a
different value can have been typed by the user: those defaults pass silently, anything
else a model cannot take is refused with a sentence naming the flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.backends.base import BackendLimits
from services.backends.stability.models import MODELS, ModelSpec
from services.backends.stability.request_parts import NEED_PROMPT, parse_ratio
from services.backends.stability.v2_wire import (
    ASPECT_RATIOS,
    MAX_PROMPT_CHARS,
    MAX_PROMPT_WEIGHT,
    SEED_MAX,
    STYLE_PRESETS,
    UPSCALE_MODES,
)
from services.errors import InvalidRequest, UnsupportedOption
from services.types import GenerationRequest

__all__ = [
    "ModelOptions",
    "aspect_ratio",
    "extra",
    "extra_number",
    "form_number",
    "prompt_fields",
    "require_single",
    "style_fields",
    "upscale_mode",
]


@dataclass(frozen=True, slots=True)
class ModelOptions:
    """The checks that depend on the backend's configured model and the models users may pick."""

    limits: BackendLimits
    model: str  # the configured default

    def model_spec(self, request: GenerationRequest) -> ModelSpec:
        name = request.model or self.model
        if name not in self.limits.models:
            raise InvalidRequest(
                f"The model “{name}” is not available. Choose one of: {', '.join(self.limits.models)}."
            )
        return MODELS[name]

    def check_common(self, request: GenerationRequest, where: str) -> None:
        """Flags v2beta never takes (``steps`` only when it differs from the commands' default)."""
        if request.sampler:
            raise UnsupportedOption(f"--sampler isn't available {where}.")
        if request.scheduler:
            raise UnsupportedOption(f"--scheduler isn't available {where}.")
        if request.steps is not None and request.steps != self.limits.default_steps:
            raise UnsupportedOption(f"--steps isn't available {where}: it chooses its own number of steps.")
        if request.seed is not None and not 0 <= request.seed <= SEED_MAX:
            raise InvalidRequest(f"The seed must be between 0 and {SEED_MAX}.")

    def cfg_scale(self, request: GenerationRequest, spec: ModelSpec) -> float | None:
        """The ``cfg_scale`` to send (None: the chosen model's own default).

        Commands fill in the configured model's default when the user gives none, so only
        another value was typed; the default itself is left to whichever model runs.
        """
        value = request.cfg_scale
        if value is None:
            return None
        typed = value != self.limits.default_cfg_scale  # else: commands' default, the model decides
        if spec.cfg_scale is None:
            if typed:
                raise UnsupportedOption(f"--cfg isn't available with Stability's {spec.name} model.")
            return None
        if not typed:
            return None
        low, high = spec.cfg_scale
        if not low <= value <= high:
            raise InvalidRequest(
                f"--cfg must be between {form_number(low)} and {form_number(high)} for {spec.name}."
            )
        return value

    def no_edit_extras(self, request: GenerationRequest, where: str) -> None:
        """Edits run on Stability's own models: no ``--model``, no typed ``--cfg``."""
        if request.model and request.model != self.model:
            raise UnsupportedOption(
                f"--model doesn't apply {where}: Stability AI edits with its own models "
                "(--model works with /imagine and /remix)."
            )
        if request.cfg_scale is not None and request.cfg_scale != self.limits.default_cfg_scale:
            raise UnsupportedOption(f"--cfg isn't available {where}.")


# --- form values -----------------------------------------------------------------------------------


def form_number(value: float) -> str:
    """Form numbers as the API's examples write them: ``0.65``, ``4``."""
    return f"{round(value, 6):g}"


def _prompt_text(request: GenerationRequest) -> str:
    """Positive prompts joined; weights other than 1 in v2's ``(words:weight)`` syntax."""
    parts = []
    for p in request.prompts:
        text = p.text.strip()
        if not text or p.weight < 0:
            continue
        if p.weight > MAX_PROMPT_WEIGHT:  # commands refuse these first; a stored job may predate that
            raise InvalidRequest(
                f"Stability AI takes prompt weights up to {MAX_PROMPT_WEIGHT:g}; '{text}' has ::{p.weight:g}."
            )
        parts.append(text if p.weight == 1 else f"({text}:{form_number(p.weight)})")
    return ", ".join(parts)


def prompt_fields(
    request: GenerationRequest, *, required: bool, negative: bool = True
) -> list[tuple[str, str]]:
    """``prompt`` (and ``negative_prompt``) within the API's length limit."""
    prompt = _prompt_text(request)
    if required and not prompt:
        raise InvalidRequest(NEED_PROMPT)
    for text in (prompt, request.negative_prompt):
        if len(text) > MAX_PROMPT_CHARS:
            raise InvalidRequest(f"Prompts may be at most {MAX_PROMPT_CHARS:,} characters long.")
    fields = [("prompt", prompt)] if prompt else []
    if request.negative_prompt:
        if not negative:
            raise UnsupportedOption(f"--no isn't available for /{request.operation.value} on Stability AI.")
        fields.append(("negative_prompt", request.negative_prompt))
    return fields


def style_fields(request: GenerationRequest, allowed: bool, where: str) -> list[tuple[str, str]]:
    """``style_preset`` when one was asked for (and ``where`` takes one)."""
    style = request.style_preset
    if not style:
        return []
    if not allowed:
        raise UnsupportedOption(f"--style isn't available {where}.")
    if style not in STYLE_PRESETS:
        raise InvalidRequest(f"Unknown style “{style}”. Choose one of: {', '.join(STYLE_PRESETS)}.")
    return [("style_preset", style)]


def _nearest_ratio(ratio: float) -> str:
    def value(text: str) -> float:
        w, h = text.split(":")
        return float(w) / float(h)

    return min(ASPECT_RATIOS, key=lambda r: abs(math.log(value(r) / ratio)))


def aspect_ratio(request: GenerationRequest) -> str:
    """The ratio asked for (nearest of the nine), else the shape of ``width``×``height``, else 1:1."""
    if request.aspect_ratio:
        if request.aspect_ratio in ASPECT_RATIOS:
            return request.aspect_ratio
        ratio = parse_ratio(request.aspect_ratio)
        if ratio is None:
            raise InvalidRequest(
                f"I can't read the aspect ratio “{request.aspect_ratio}”; write it like 16:9."
            )
        return _nearest_ratio(ratio)
    if request.width and request.height:
        return _nearest_ratio(request.width / request.height)
    return "1:1"


# --- extras and counts -----------------------------------------------------------------------------


def extra(request: GenerationRequest, key: str) -> str | None:
    """A backend-specific value from ``request.extras``, stripped; None when absent or blank."""
    value = dict(request.extras).get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def extra_number(
    request: GenerationRequest, key: str, bounds: tuple[float, float], *, what: str, integer: bool = False
) -> float | None:
    """A numeric extra within ``bounds`` (None when absent); a clear refusal otherwise."""
    raw = extra(request, key)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    low, high = bounds
    if not math.isfinite(value) or not low <= value <= high or (integer and not value.is_integer()):
        kind = "a whole number" if integer else "a number"
        raise InvalidRequest(
            f"{what} must be {kind} between {form_number(low)} and {form_number(high)}; you gave {raw}."
        )
    return value


def upscale_mode(request: GenerationRequest) -> str:
    """``fast`` (the default), ``conservative`` or ``creative``."""
    mode = (extra(request, "upscale_mode") or "fast").lower()
    if mode not in UPSCALE_MODES:
        raise InvalidRequest(f"The upscale mode must be one of: {', '.join(UPSCALE_MODES)}.")
    return mode


def require_single(request: GenerationRequest, command: str) -> None:
    """Edits that make one image per request refuse ``--n`` above 1."""
    if request.samples != 1:
        raise UnsupportedOption(f"{command} makes one image at a time on Stability AI.")
