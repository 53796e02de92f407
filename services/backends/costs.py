"""Cost units: what one image of each model takes from the quota, and what a finished job is charged.

Why: a cheap draft and a photo-real ``ultra`` picture should not cost a person the same share of
their day. Each model declares its units per image (:attr:`BackendLimits.units_per_image`), found
in this order: the operator's ``EASEL_MODEL_COSTS``, what the plugin's limits declare, the plugin
defaults below (:data:`MODEL_UNITS` by model, then :data:`PLUGIN_UNITS` by plugin), else 1.

The life of a job's units::

    units = reserved_units(request, limits)      # images × the asked model's units, before queueing
    ...                                           # the job runs, maybe on a fallback model
    charge = charged_units(outcome, limits)      # delivered images × the delivering model's units

The reservation is the most a job can be charged (the quota ledger clamps the commit to it), so a
fallback that costs more than the model asked for is charged at most what was reserved; a cheaper
one refunds the difference; a failure refunds everything. Budgets (server day/month) sum the same
charged units.

Token-billed services (OpenAI's images API answers with ``usage``): the job is charged
``ceil(total_tokens / tokens_per_unit)`` units, at least one per delivered image, at most the
reservation. With the default :data:`DEFAULT_TOKENS_PER_UNIT` (``EASEL_TOKENS_PER_UNIT``) of 400, a
low-quality 1024×1024 GPT image (about 272 output tokens plus the prompt) costs 1 unit, a medium one
(about 1,056) 3, a high one (about 4,160) 10 or 11, capped at the model's 10 units reserved per image.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from services.backends.base import BackendLimits
from services.types import GenerationRequest, JobOutcome

__all__ = [
    "DEFAULT_TOKENS_PER_UNIT",
    "MODEL_UNITS",
    "PLUGIN_UNITS",
    "charged_units",
    "reserved_units",
    "units_per_image",
]

#: Plugin defaults by model name (Stability's published credit ratios, rounded; upscalers are cheap).
MODEL_UNITS: Mapping[str, int] = {
    "core": 3,
    "ultra": 8,
    "sd3.5-large": 6,
    "sd3.5-large-turbo": 4,
    "sd3.5-medium": 3,
    "sd3.5-flash": 2,
    "esrgan": 1,
}
#: Plugin defaults for models the table above does not name: a hosted API image is dearer.
PLUGIN_UNITS: Mapping[str, int] = {"openai": 10, "gemini": 4}
DEFAULT_TOKENS_PER_UNIT = 400


def units_per_image(
    plugin: str, model: str, declared: int = 1, overrides: Mapping[str, int] | None = None
) -> int:
    """The units one image of ``model`` (served by ``plugin``) costs; see the module docstring."""
    if overrides and model in overrides:
        return max(int(overrides[model]), 0)
    if declared != 1:
        return declared
    return MODEL_UNITS.get(model, PLUGIN_UNITS.get(plugin, 1))


def _model_of(request: GenerationRequest, limits: BackendLimits) -> str:
    return request.model or limits.default_for(request.operation)


def reserved_units(request: GenerationRequest, limits: BackendLimits) -> int:
    """Units to reserve before a job is queued: the images asked for × the asked model's units."""
    return max(request.images_requested, 0) * limits.for_model(_model_of(request, limits)).units_per_image


def charged_units(
    outcome: JobOutcome, limits: BackendLimits, tokens_per_unit: int = DEFAULT_TOKENS_PER_UNIT
) -> int:
    """Units a delivered job is charged (the ledger clamps it to the reservation).

    Priced by the model that delivered (a fallback's own price) when the outcome names a model
    the limits know, else by the model asked for; by tokens when the service billed in tokens.
    """
    delivered = len(outcome.images) or (1 if outcome.text is not None else 0)
    if delivered == 0:
        return 0
    if outcome.usage_tokens is not None and tokens_per_unit > 0:
        return max(delivered, math.ceil(outcome.usage_tokens / tokens_per_unit))
    model = outcome.model if outcome.model in limits.models else _model_of(outcome.request, limits)
    return delivered * limits.for_model(model).units_per_image
