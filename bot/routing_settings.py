"""Which backends run and how jobs are routed between them: ``EASEL_BACKEND(S)`` and the per-model lists.

Why apart from :mod:`bot.settings`: one job (issue 13's routing knobs), and the core settings
module stays small. :class:`bot.settings.Settings` extends this model, so these variables read,
validate and document exactly like every other (the README table lists them first).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import field_validator
from pydantic_settings import NoDecode

from services.backends import registry
from services.backends.settings import EnvSettings, setting, split_commas

__all__ = ["RoutingSettings"]


class RoutingSettings(EnvSettings):
    """The enabled backends and the model router's settings (:mod:`services.backends.routing`)."""

    # Backend: which plugin; its own variables are in its settings model.
    backend: str = setting("EASEL_BACKEND", registry.DEFAULT.name, meaning=registry.choices_markdown())
    # Several at once (issue 13): routed by model; empty means just EASEL_BACKEND.
    backends: Annotated[list[str], NoDecode] = setting(
        "EASEL_BACKENDS",
        default_factory=list,
        meaning="comma list of backends to run at once, jobs routed by `--model` (empty: `EASEL_BACKEND` alone)",
    )
    model_fallbacks: Annotated[dict[str, str], NoDecode] = setting(
        "EASEL_MODEL_FALLBACKS",
        default_factory=dict,
        meaning="comma list `model=fallback`: where a model's jobs go while its service is down",
    )
    model_costs: Annotated[dict[str, int], NoDecode] = setting(
        "EASEL_MODEL_COSTS",
        default_factory=dict,
        meaning="comma list `model=units`: quota units per image (defaults: core 3, ultra 8, sd3.5-large 6, "
        "OpenAI models 10, Gemini 4, others 1)",
    )
    default_models: Annotated[dict[str, str], NoDecode] = setting(
        "EASEL_DEFAULT_MODELS",
        default_factory=dict,
        meaning="comma list `command=model`: each command's default model, e.g. `imagine=core,upscale=esrgan`",
    )
    tokens_per_unit: int = setting(
        "EASEL_TOKENS_PER_UNIT", 400, ge=1, meaning="token-billed images (OpenAI): tokens charged as one unit"
    )
    circuit_failures: int = setting(
        "EASEL_CIRCUIT_FAILURES",
        3,
        ge=1,
        meaning="consecutive failed jobs (5xx, timeouts) after which a hosted service is skipped for a cool-down",
    )
    circuit_cooldown_s: float = setting(
        "EASEL_CIRCUIT_COOLDOWN_S",
        60.0,
        gt=0,
        meaning="seconds a failing service is skipped before one job probes it again",
    )

    @field_validator("backends", mode="before")
    @classmethod
    def _known_backends(cls, value: object) -> object:
        parts = split_commas(value)
        return [registry.get(p).name for p in parts] if isinstance(parts, list) else parts

    @field_validator("model_fallbacks", "model_costs", "default_models", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        parts = split_commas(value)
        if not isinstance(parts, list):
            return parts
        pairs: dict[str, str] = {}
        for part in parts:
            name, sep, target = (x.strip() for x in str(part).partition("="))
            if not sep or not name or not target:
                raise ValueError(f"{part!r} is not model=value")
            pairs[name] = target
        return pairs

    @property
    def backend_names(self) -> list[str]:
        """The plugins this process runs: ``EASEL_BACKENDS``, or ``EASEL_BACKEND`` as a one-element list."""
        return list(dict.fromkeys(self.backends)) or [self.backend]

    @property
    def routed(self) -> bool:
        """Whether jobs go through the model router (several backends, or any per-model setting)."""
        per_model = self.model_fallbacks or self.model_costs or self.default_models
        return len(self.backend_names) > 1 or bool(per_model)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        return registry.get(value).name  # an alias becomes the plugin's name
