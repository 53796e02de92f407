"""What the GPU hosts offer, turned into decisions: the backend's limits and per-host choices.

Hosts list their models, samplers, schedulers and upscalers (:class:`wire.HostCatalog`);
the backend's :class:`BackendLimits` are their union, and a job goes only to a host that
has what it asks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import services.backends.a1111.wire as wire
from services.backends.a1111.client import A1111Client
from services.backends.a1111.pool import PoolHost
from services.backends.base import BackendLimits
from services.types import GenerationRequest, Operation

__all__ = [
    "DEFAULT_SAMPLER",
    "MAX_BATCH",
    "OPERATIONS",
    "can_serve",
    "default_model",
    "default_sampler",
    "limits_for",
    "model_title",
    "result_model",
]

#: What the web UI API can do: txt2img, img2img (remix, inpaint, outpaint), extras upscaling and
#: captioning. It has no search-and-replace or background-removal endpoint, so /replace and /cutout
#: are not declared (and therefore not registered, listed or accepted).
OPERATIONS = frozenset(
    {
        Operation.IMAGINE,
        Operation.REMIX,
        Operation.INPAINT,
        Operation.OUTPAINT,
        Operation.UPSCALE,
        Operation.DESCRIBE,
    }
)
MAX_BATCH = 8
#: The sampler A1111's web UI (1.9+) and Forge start with; the API alone would fall back to its own.
DEFAULT_SAMPLER = "DPM++ 2M"


def default_sampler(host: PoolHost[A1111Client], configured: str | None) -> str | None:
    """The host's spelling of the operator's default sampler, or None when it has none by that name
    (the host's API default then applies; ``easel check`` says so)."""
    if not configured or host.catalog is None:
        return None
    wanted = configured.lower()
    return next((s for s in host.catalog.samplers if s.lower() == wanted), None)


def default_model(catalogs: Sequence[wire.HostCatalog], current: str) -> str:
    """Keep ``current`` while some host has it; else the model the hosts have loaded, else the first."""
    models = _union(m.name for c in catalogs for m in c.models)
    if current in models:
        return current
    loaded = next((c.current_model_name for c in catalogs if c.current_model), "")
    return loaded if loaded in models else (models[0] if models else "")


def limits_for(catalogs: Sequence[wire.HostCatalog], *, default_model: str, max_side: int) -> BackendLimits:
    """The union of what the hosts offer, within the operator's ``max_side``.

    Each other model gets its own limits (``model_limits``): an SD 1.5 checkpoint picked with
    ``--model`` renders at its native 512 px class, not at the SDXL default's 1024.
    """
    limits = _limits(catalogs, default_model, max_side)
    others = tuple(
        (model, replace(limits, default_size=_native_size(model), default_model=model))
        for model in limits.models
        if model != default_model and _native_size(model) != limits.default_size
    )
    return replace(limits, model_limits=others)


def _native_size(model: str) -> tuple[int, int]:
    side = 1024 if wire.looks_like_large_model(model) else 512
    return (side, side)


def _limits(catalogs: Sequence[wire.HostCatalog], default_model: str, max_side: int) -> BackendLimits:
    return BackendLimits(
        operations=OPERATIONS,
        default_size=_native_size(default_model),
        allowed_sizes=None,
        min_side=64,
        max_side=max_side,
        size_multiple=8,
        max_pixels=max_side * max_side,
        samples=(1, MAX_BATCH),
        steps=(1, 150),
        default_steps=20,
        cfg_scale=(1.0, 30.0),
        default_cfg_scale=7.0,
        strength=(0.0, 1.0),
        default_strength=0.35,
        style_presets=(),
        samplers=_union(s for c in catalogs for s in c.samplers),
        schedulers=_union(s for c in catalogs for s in c.schedulers),
        models=_union(m.name for c in catalogs for m in c.models),
        default_model=default_model,
        upscale_factors=(2, 4),
        max_upscale_output_pixels=4096 * 4096,
        max_input_bytes=20 * 1024 * 1024,
        max_input_pixels=4096 * 4096,
    )


def model_title(host: PoolHost[A1111Client], name: str | None) -> str | None:
    """The host's own title for a model name; None when it lacks it (it then uses its loaded one)."""
    if not name or host.catalog is None:
        return None
    found = host.catalog.find_model(name)
    return found.title if found else None


def result_model(host: PoolHost[A1111Client], name: str | None, info: dict[str, Any]) -> str:
    """The model name to report for a result: the one asked for, else what the host says it used."""
    found = host.catalog.find_model(name) if (host.catalog and name) else None
    if found is not None:
        return found.name
    reported = info.get("sd_model_name")
    if isinstance(reported, str) and reported:
        return reported
    return host.catalog.current_model_name if host.catalog else ""


def can_serve(host: PoolHost[A1111Client], request: GenerationRequest) -> bool:
    """Whether this host has the model, sampler and scheduler the request names."""
    cat = host.catalog
    if cat is None:
        return False
    if request.model and not cat.find_model(request.model):
        return False
    if request.sampler and cat.samplers and request.sampler not in cat.samplers:
        return False
    # A host that lists no schedulers (SD.Next, A1111 before 1.9) has no ``scheduler`` field: it would
    # drop the choice silently, so it does not take such a job.
    return not (request.scheduler and request.scheduler not in cat.schedulers)


def _union(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))
