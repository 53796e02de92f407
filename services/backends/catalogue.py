"""The models this process offers and which of them work right now: what ``/models`` is made from.

One backend or several (:class:`~services.backends.routing.RoutingBackend`), the catalogue reads
the same :class:`~services.backends.routing.ModelOffer` values the router routes by, so the
listing cannot drift from what a job would do::

    catalogue = ModelCatalogue(services.backend, plugin="stability", costs={"ultra": 9})
    snapshot = await catalogue.snapshot()     # offers + each service's state, checked at most once a minute
    snapshot.states["stability"].available    # False when its last check failed
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.backends.availability import ServiceState, ServiceWatch
from services.backends.base import Backend, BackendLimits
from services.backends.routing import ModelOffer, RoutingBackend, offers_of

__all__ = ["CatalogueSnapshot", "ModelCatalogue"]


@dataclass(frozen=True, slots=True)
class CatalogueSnapshot:
    """The offers (in the router's order), each service's state, and the backend's limits (whose
    :meth:`~services.backends.base.BackendLimits.default_for` names each command's default model)."""

    offers: tuple[ModelOffer, ...]
    states: Mapping[str, ServiceState]
    limits: BackendLimits

    def available(self, offer: ModelOffer) -> bool:
        state = self.states.get(offer.plugin)
        return state is None or state.available


class ModelCatalogue:
    """The running backend's offers, priced, with a :class:`ServiceWatch` over its services.

    ``plugin`` names a single backend (several are named by the router); ``costs`` are the
    operator's ``EASEL_MODEL_COSTS`` (the router already applied them to its offers).
    """

    def __init__(
        self, backend: Backend, *, plugin: str, costs: Mapping[str, int] | None = None, ttl_s: float = 60.0
    ) -> None:
        self._backend = backend
        self._plugin = plugin
        self._costs = dict(costs or {})
        plugins = backend.plugins if isinstance(backend, RoutingBackend) else {plugin: backend}
        circuits = backend.circuits if isinstance(backend, RoutingBackend) else None
        self.watch = ServiceWatch(plugins, ttl_s=ttl_s, circuits=circuits)

    def offers(self) -> tuple[ModelOffer, ...]:
        """What the backend serves now (no I/O: GPU hosts' checkpoints are learned at start)."""
        if isinstance(self._backend, RoutingBackend):
            return self._backend.offers
        return offers_of(self._plugin, self._backend, self._costs)

    async def snapshot(self) -> CatalogueSnapshot:
        """The offers and the state of every service behind them (runs stale checks)."""
        return CatalogueSnapshot(self.offers(), await self.watch.states(), self._backend.limits)
