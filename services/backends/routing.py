"""Several backends behind one: a job goes to the plugin that serves its model.

Why: operators enable several services at once (``EASEL_BACKENDS``); the job runner keeps
talking to one :class:`~services.backends.base.Backend`, and this one routes by model and,
when the chosen service is down, fails over to the model's declared fallback. A hosted service that
keeps failing has its circuit opened (:mod:`.circuit`): its jobs skip it for a cool-down, straight to
the fallback (or refunded), then one job probes it. A plugin whose
generations are asynchronous (:class:`~services.backends.base.ResumableBackend`) stays resumable
behind it: its token is stored with the model it belongs to, so a restart polls the same generation.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from services.backends.base import (
    Backend,
    BackendLimits,
    HostStateReporter,
    ProgressCallback,
    ResumableBackend,
    ResumeTokenCallback,
)
from services.backends.circuit import Circuit, CircuitPolicy
from services.backends.costs import units_per_image
from services.backends.plugin import BackendConfigError
from services.errors import BackendUnavailable, InvalidRequest
from services.types import CheckResult, GenerationRequest, GenerationResult, Operation

__all__ = ["ModelOffer", "RoutingBackend", "UnknownModel", "offers_of"]

log = logging.getLogger(__name__)

_TOKEN_SEP = "\n"  # resume tokens are stored as "<model>\n<the plugin's token>"


@dataclass(frozen=True, slots=True)
class ModelOffer:
    """One model a plugin offers: what it does, what it accepts and what an image costs."""

    name: str
    plugin: str
    operations: frozenset[Operation]
    limits: BackendLimits
    units_per_image: int = 1
    notes: tuple[str, ...] = ()  # e.g. ("SynthID",) for Gemini outputs


def offers_of(
    plugin: str, backend: Backend, costs: Mapping[str, int] | None = None
) -> tuple[ModelOffer, ...]:
    """The models a started backend declares (``limits.models``, else its default), priced by
    :func:`services.backends.costs.units_per_image` (``costs``: the operator's overrides)."""
    limits = backend.limits
    names = limits.models or ((limits.default_model,) if limits.default_model else (plugin,))
    notes = ("SynthID",) if plugin == "gemini" else ()
    offers = []
    for name in names:
        own = limits.for_model(name)
        price = units_per_image(plugin, name, own.units_per_image, costs)
        priced = dataclasses.replace(own, units_per_image=price, model_limits=(), default_models=())
        offers.append(ModelOffer(name, plugin, own.operations, priced, price, notes))
    return tuple(offers)


class UnknownModel(InvalidRequest):
    """``--model`` names a model no enabled backend serves."""


class RoutingBackend(ResumableBackend):
    """Composes enabled backends; routes each job by ``request.model`` (default: the command's).

    ``default_models`` maps a command (an :class:`Operation` value) to its default model
    (``EASEL_DEFAULT_MODELS``); :meth:`start` refuses one that no enabled backend serves for that
    command, naming the variable. Results say which model made them (``GenerationResult.model``
    is the offer's name) and, after a failover, which was asked for (``fallback_from``).
    """

    name = "routing"

    def __init__(
        self,
        backends: Mapping[str, Backend],
        offers: tuple[ModelOffer, ...] | None = None,
        *,
        default_model: str | None = None,
        fallbacks: Mapping[str, str] | None = None,
        costs: Mapping[str, int] | None = None,
        default_models: Mapping[str, str] | None = None,
        circuit: CircuitPolicy | None = None,
    ) -> None:
        """Without ``offers`` they are learned from each backend's limits in :meth:`start`.

        ``circuit`` (default :class:`CircuitPolicy()`) applies to every plugin but the GPU host
        pools, which keep their own per-host state.
        """
        self._backends = dict(backends)
        policy = circuit or CircuitPolicy()
        self._circuits = {
            name: Circuit(name, policy)
            for name, backend in self._backends.items()
            if not isinstance(backend, HostStateReporter)
        }
        self._costs = dict(costs or {})
        self._wanted_default = default_model
        self._wanted_defaults = dict(default_models or {})
        self.fallbacks = dict(fallbacks or {})
        self._offers: dict[str, ModelOffer] = {}
        self.default_model = ""
        self._limits: BackendLimits | None = None
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
            raise BackendConfigError(f"default model {default!r} is not offered")
        self.default_model = default
        problems = self.default_problems()
        if problems:
            raise BackendConfigError("EASEL_DEFAULT_MODELS: " + "; ".join(problems))
        self._limits = self._merged_limits()

    def default_problems(self) -> list[str]:
        """One sentence per per-command default that no enabled backend serves for that command."""
        problems = []
        for command, model in self._wanted_defaults.items():
            try:
                operation = Operation(command)
            except ValueError:
                problems.append(f"{command!r} is not a command that makes pictures")
                continue
            offer = self._offers.get(model)
            if offer is None:
                problems.append(f"{command}={model}: no enabled backend serves {model!r}")
            elif operation not in offer.operations:
                problems.append(f"{command}={model}: {model} cannot /{command}")
        return problems

    @property
    def offers(self) -> tuple[ModelOffer, ...]:
        return tuple(self._offers.values())

    @property
    def plugins(self) -> Mapping[str, Backend]:
        """The enabled backends by plugin name (``/models`` asks each whether it works now)."""
        return MappingProxyType(self._backends)

    @property
    def circuits(self) -> Mapping[str, Circuit]:
        """Each hosted service's circuit by plugin name (``/models`` shows an open one as unavailable)."""
        return MappingProxyType(self._circuits)

    def offer(self, model: str | None, operation: Operation | None = None) -> ModelOffer:
        """The offer for ``model`` (empty: the default of ``operation``'s command); :class:`UnknownModel`
        with a polite list of the models that can do ``operation`` otherwise."""
        name = model or (self.limits.default_for(operation) if operation else self.default_model)
        offer = self._offers.get(name)
        if offer is not None and (operation is None or operation in offer.operations):
            return offer
        names = [o.name for o in self._offers.values() if operation is None or operation in o.operations]
        few = ", ".join(sorted(names)[:8]) or "none"
        command = f" for /{operation.value}" if operation else ""
        raise UnknownModel(
            f"I don't know the model {name!r}{command}. Try one of: {few} (see /models).",
            log_detail=f"unknown model {name!r}{command}",
        )

    @property
    def limits(self) -> BackendLimits:
        if self._limits is None:
            raise RuntimeError("RoutingBackend.limits read before start()")
        return self._limits

    def _merged_limits(self) -> BackendLimits:
        default = self._offers[self.default_model].limits
        return dataclasses.replace(
            default,
            operations=frozenset().union(*(o.operations for o in self._offers.values())),
            models=tuple(self._offers),
            default_model=self.default_model,
            model_limits=tuple((o.name, o.limits) for o in self._offers.values()),
            default_models=tuple(self._wanted_defaults.items()),
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
        several = len(self._backends) > 1
        for plugin, backend in self._backends.items():
            for result in await backend.check():
                name = f"{plugin}: {result.name}" if several else result.name
                results.append(dataclasses.replace(result, name=name))
        defaults = ", ".join(f"{c}={m}" for c, m in self._wanted_defaults.items())
        priced = ", ".join(f"{o.name} {o.units_per_image}" for o in self._offers.values())
        detail = f"{len(self._offers)} from {len(self._backends)} service(s); units per image: {priced}"
        results.append(CheckResult("models", True, detail + (f"; defaults {defaults}" if defaults else "")))
        return results

    async def cancel(self) -> None:
        for backend in self._backends.values():
            await backend.cancel()

    async def generate_resumable(
        self,
        request: GenerationRequest,
        progress: ProgressCallback | None,
        *,
        resume_token: str | None,
        on_resume_token: ResumeTokenCallback | None,
    ) -> GenerationResult:
        """Run on the model's plugin; on :class:`BackendUnavailable` (or an open circuit) try the
        fallback chain once each. Resumes a plugin's asynchronous generation after a restart
        (``generate`` is this with no token, inherited from :class:`ResumableBackend`).

        The stored token names the model it belongs to, so a job that had failed over resumes on
        its fallback; tokens are handed only to plugins that are :class:`ResumableBackend`.
        """
        asked = self.offer(request.model, request.operation)
        offer = asked
        if resume_token and _TOKEN_SEP in resume_token:
            model, _, resume_token = resume_token.partition(_TOKEN_SEP)
            offer = self._offers.get(model, asked)
        tried: set[str] = set()
        while True:
            tried.add(offer.name)
            try:
                result = await self._run(offer, request, progress, resume_token, on_resume_token)
            except BackendUnavailable as error:
                fallback = self._offers.get(self.fallbacks.get(offer.name, ""))
                if fallback is None or fallback.name in tried or request.operation not in fallback.operations:
                    raise
                log.warning(
                    "routing.failover",
                    extra={
                        "model": offer.name,
                        "fallback": fallback.name,
                        "detail": error.log_detail,
                        "circuit": self._circuit_state(offer.plugin),
                    },
                )
                offer, resume_token = fallback, None
                continue
            fallback_from = asked.name if offer.name != asked.name else None
            return dataclasses.replace(result, model=offer.name, fallback_from=fallback_from)

    async def _run(
        self,
        offer: ModelOffer,
        request: GenerationRequest,
        progress: ProgressCallback | None,
        resume_token: str | None,
        on_resume_token: ResumeTokenCallback | None,
    ) -> GenerationResult:
        circuit = self._circuits.get(offer.plugin)
        if circuit is None:
            return await self._call(offer, request, progress, resume_token, on_resume_token)
        with circuit.attempt():
            return await self._call(offer, request, progress, resume_token, on_resume_token)

    def _circuit_state(self, plugin: str) -> str:
        circuit = self._circuits.get(plugin)
        return circuit.state.value if circuit is not None else "none"

    async def _call(
        self,
        offer: ModelOffer,
        request: GenerationRequest,
        progress: ProgressCallback | None,
        resume_token: str | None,
        on_resume_token: ResumeTokenCallback | None,
    ) -> GenerationResult:
        backend = self._backends[offer.plugin]
        routed = dataclasses.replace(request, model=offer.name)
        if not isinstance(backend, ResumableBackend):
            return await backend.generate(routed, progress)
        save = None
        if on_resume_token is not None:
            persist = on_resume_token

            async def save(token: str) -> None:
                await persist(f"{offer.name}{_TOKEN_SEP}{token}")

        return await backend.generate_resumable(
            routed, progress, resume_token=resume_token, on_resume_token=save
        )
