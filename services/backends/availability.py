"""Which enabled services work right now, for ``/models`` and ``easel models``.

A service counts as unavailable when every one of its hosts is down (the GPU pools' own
circuit: :class:`~services.backends.base.HostStateReporter`), when the router opened its circuit
after repeated failures (:mod:`.circuit`), or when its last check failed.
Checks are the same ones ``easel check`` runs (reachability and credentials, never a
generation); they run when someone asks and at most once per ``ttl_s`` per service, so a
channel full of people typing ``/models`` costs each service one cheap request a minute::

    watch = ServiceWatch({"stability": stability, "gemini": gemini})
    states = await watch.states()      # {"stability": ServiceState(available=True), ...}
    states["gemini"].reason            # "failed its last check (gemini api)"
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from services.backends.base import Backend, HostStateReporter
from services.backends.circuit import Circuit, CircuitState
from services.types import CheckResult

__all__ = ["ServiceState", "ServiceWatch"]

log = logging.getLogger(__name__)

#: Host states that mean "this host will not take a job now" (both GPU pools spell them so).
_HOST_DOWN = frozenset({"down", "auth_failed"})


@dataclass(frozen=True, slots=True)
class ServiceState:
    """Whether ``plugin`` can take jobs now; ``reason`` (shown to users) says why not, without details
    that belong to the operator (URLs, keys)."""

    plugin: str
    available: bool
    reason: str = ""


@dataclass(slots=True)
class _LastCheck:
    at: float
    results: tuple[CheckResult, ...]


class ServiceWatch:
    """Remembers each service's last check and answers :meth:`states` from it and from host states."""

    def __init__(
        self,
        backends: Mapping[str, Backend],
        *,
        ttl_s: float = 60.0,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        circuits: Mapping[str, Circuit] | None = None,
    ) -> None:
        self._backends = dict(backends)
        self._circuits = circuits or {}
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._last: dict[str, _LastCheck] = {}
        self._locks = {name: asyncio.Lock() for name in self._backends}

    @property
    def plugins(self) -> tuple[str, ...]:
        return tuple(self._backends)

    async def states(self) -> dict[str, ServiceState]:
        """Each enabled service's state now (checks older than ``ttl_s`` are run again, concurrently)."""
        names = list(self._backends)
        found = await asyncio.gather(*(self._state(name) for name in names))
        return dict(zip(names, found, strict=True))

    async def _state(self, plugin: str) -> ServiceState:
        backend = self._backends[plugin]
        if isinstance(backend, HostStateReporter):
            hosts = [str(state) for state in backend.host_states().values()]
            if hosts and all(state in _HOST_DOWN for state in hosts):
                return ServiceState(plugin, False, "none of its hosts is up")
        circuit = self._circuits.get(plugin)
        if circuit is not None and circuit.state is CircuitState.OPEN:
            return ServiceState(plugin, False, "paused after repeated failures, retried shortly")
        results = await self._checked(plugin)
        failed = [r.name for r in results if not r.ok]
        if failed:
            return ServiceState(plugin, False, f"failed its last check ({', '.join(failed)})")
        return ServiceState(plugin, True)

    async def _checked(self, plugin: str) -> tuple[CheckResult, ...]:
        async with self._locks[plugin]:  # one check per service at a time; others read its answer
            last = self._last.get(plugin)
            if last is not None and self._clock() - last.at < self._ttl_s:
                return last.results
            results = await self._run_check(plugin)
            self._last[plugin] = _LastCheck(self._clock(), results)
            return results

    async def _run_check(self, plugin: str) -> tuple[CheckResult, ...]:
        try:
            async with asyncio.timeout(self._timeout_s):
                results = tuple(await self._backends[plugin].check())
        except TimeoutError:
            results = (CheckResult("reachability", False, f"no answer within {self._timeout_s:g} s"),)
        except Exception as exc:  # a check that crashes says the service is not usable, not that we are
            log.warning("models.check_crashed", extra={"backend": plugin, "error_kind": type(exc).__name__})
            results = (CheckResult("check", False, type(exc).__name__),)
        if not all(r.ok for r in results):
            log.info(
                "models.service_unavailable",
                extra={"backend": plugin, "failed": [r.name for r in results if not r.ok]},
            )
        return results
