"""Several backends behind one: a job goes to the plugin that serves its model.

Why: operators enable several services at once (``EASEL_BACKENDS``); the job runner keeps
talking to one :class:`~services.backends.base.Backend`, and this one routes by model and,
when the chosen service is down, fails over to the model's declared fallback.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from services.backends.base import Backend, BackendLimits, ProgressCallback
from services.errors import BackendUnavailable, InvalidRequest
from services.types import CheckResult, GenerationRequest, GenerationResult, Operation

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelOffer:
    """One model a plugin offers: what it does, what it accepts and what an image costs."""

    name: str
    plugin: str
    operations: frozenset[Operation]
    limits: BackendLimits
    units_per_image: int = 1
    notes: tuple[str, ...] = ()  # e.g. ("SynthID",) for Gemini outputs


#: Units per image when neither the operator (``EASEL_MODEL_COSTS``) nor the plugin says otherwise.
DEFAULT_UNITS: Mapping[str, int] = {"core": 3, "ultra": 8, "sd3.5-large": 6, "esrgan": 1}


def offers_of(
    plugin: str, backend: Backend, costs: Mapping[str, int] | None = None
) -> tuple[ModelOffer, ...]:
    """The models a started backend declares (``limits.models``, else its default), priced by ``costs``."""
    limits = backend.limits
    names = limits.models or ((limits.default_model,) if limits.default_model else (plugin,))
    prices = {**DEFAULT_UNITS, **(costs or {})}
    notes = ("SynthID",) if plugin == "gemini" else ()
    offers = []
    for name in names:
        own = limits.for_model(name)
        offers.append(ModelOffer(name, plugin, own.operations, own, prices.get(name, 1), notes))
    return tuple(offers)


class UnknownModel(InvalidRequest):
    """``--model`` names a model no enabled backend serves."""


class RoutingBackend:
    """Composes enabled backends; routes each job by ``request.model`` (default: ``default_model``)."""

    name = "routing"

    def __init__(
        self,
        backends: Mapping[str, Backend],
        offers: tuple[ModelOffer, ...] | None = None,
        *,
        default_model: str | None = None,
        fallbacks: Mapping[str, str] | None = None,
        costs: Mapping[str, int] | None = None,
    ) -> None:
        """Without ``offers`` they are learned from each backend's limits in :meth:`start`."""
        self._backends = dict(backends)
        self._costs = dict(costs or {})
        self._wanted_default = default_model
        self.fallbacks = dict(fallbacks or {})
        self._offers: dict[str, ModelOffer] = {}
        self.default_model = ""
        if offers is not None:
            self._adopt(offers)

    def _adopt(self, offers: tuple[ModelOffer, ...]) -> None:
        missing = {o.plugin for o in offers} - set(self._backends)
        if missing:
            raise ValueError(f"offers name plugins that are not enabled: {sorted(missing)}")
        self._offers = {}
        for offer in offers:
            self._offers.setdefault(offer.name, offer)  # the first enabled plugin offering a name serves it
        default = self._wanted_default or (offers[0].name if offers else "")
        if default not in self._offers:
            raise ValueError(f"default model {default!r} is not offered")
        self.default_model = default

    @property
    def offers(self) -> tuple[ModelOffer, ...]:
        return tuple(self._offers.values())

    @property
    def plugins(self) -> Mapping[str, Backend]:
        """The enabled backends by plugin name (``/models`` asks each whether it works now)."""
        return MappingProxyType(self._backends)

    def offer(self, model: str | None) -> ModelOffer:
        """The offer for ``model`` (the default when empty); :class:`UnknownModel` with a polite list otherwise."""
        name = model or self.default_model
        try:
            return self._offers[name]
        except KeyError:
            few = ", ".join(sorted(self._offers)[:5])
            raise UnknownModel(
                f"I don't know the model {name!r}. Try one of: {few} (see /models).",
                log_detail=f"unknown model {name!r}",
            ) from None

    @property
    def limits(self) -> BackendLimits:
        default = self._offers[self.default_model].limits
        models = tuple(self._offers)
        return dataclasses.replace(
            default,
            operations=frozenset().union(*(o.operations for o in self._offers.values())),
            models=models,
            default_model=self.default_model,
            model_limits=tuple((o.name, o.limits) for o in self._offers.values()),
        )

    async def start(self) -> None:
        for backend in self._backends.values():
            await backend.start()
        if not self._offers:
            self._adopt(tuple(o for p, b in self._backends.items() for o in offers_of(p, b, self._costs)))

    async def close(self) -> None:
        for backend in self._backends.values():
            await backend.close()

    async def check(self) -> list[CheckResult]:
        results: list[CheckResult] = []
        for plugin, backend in self._backends.items():
            for result in await backend.check():
                results.append(dataclasses.replace(result, name=f"{plugin}: {result.name}"))
        return results

    async def cancel(self) -> None:
        for backend in self._backends.values():
            await backend.cancel()

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        """Run on the model's plugin; on :class:`BackendUnavailable` try the fallback chain once each."""
        offer = self.offer(request.model)
        tried: set[str] = set()
        while True:
            tried.add(offer.name)
            routed = dataclasses.replace(request, model=offer.name)
            try:
                return await self._backends[offer.plugin].generate(routed, progress)
            except BackendUnavailable as error:
                fallback = self.fallbacks.get(offer.name)
                if fallback is None or fallback in tried or fallback not in self._offers:
                    raise
                log.warning(
                    "model %s unavailable (%s); failing over to %s", offer.name, error.log_detail, fallback
                )
                offer = self._offers[fallback]
