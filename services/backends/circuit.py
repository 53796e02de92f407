"""An open-circuit state per hosted service, so the router stops sending jobs to a service that keeps failing.

Usage::

    circuit = Circuit("stability", CircuitPolicy(failures=3, cooldown_s=60))
    with circuit.attempt():   # BackendUnavailable at once, nothing sent, while the circuit is open
        result = await backend.generate(request)
        # leaving normally or with any error but BackendUnavailable counts as "the service answered"

Why: failover per job (:mod:`.routing`) still spends each job's retries and timeouts on a service
that is down, so every user waits a timeout before the fallback answers. After ``failures``
consecutive availability failures (:class:`~services.errors.BackendUnavailable`: 5xx, timeouts,
refused connections after easel's own retries) the circuit opens and jobs skip the service at once
(to the fallback, or refunded). After ``cooldown_s`` one job goes through as a probe (half-open);
others keep skipping while it runs. The probe's success closes the circuit; its failure opens it
for another cool-down.

The GPU host pools keep their own per-host state (:mod:`.a1111.pool`, probed by ``check``);
this is for services easel cannot probe cheaply per host (Stability, OpenAI, Gemini). Small and
here, not a library: the async breakers on PyPI read the wall clock themselves (tests would have
to sleep) and let any number of calls through when half-open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from services.errors import BackendUnavailable

__all__ = ["Circuit", "CircuitPolicy", "CircuitState"]

log = logging.getLogger(__name__)


class CircuitState(StrEnum):
    CLOSED = "closed"  # jobs go through
    OPEN = "open"  # jobs skip the service until the cool-down is over
    HALF_OPEN = "half_open"  # the next job is the probe


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    """``failures`` consecutive availability failures open the circuit for ``cooldown_s``."""

    failures: int = 3
    cooldown_s: float = 60.0
    clock: Callable[[], float] = time.monotonic


class Circuit:
    """The breaker of one service (a plugin name). Not thread-safe; one event loop."""

    def __init__(self, service: str, policy: CircuitPolicy) -> None:
        if policy.failures < 1 or policy.cooldown_s <= 0:
            raise ValueError("a circuit needs failures >= 1 and cooldown_s > 0")
        self.service = service
        self._policy = policy
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._probing or self._policy.clock() - self._opened_at < self._policy.cooldown_s:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """One job's call to the service. While open: :class:`BackendUnavailable` before any call
        (the plain one, so the job fails, fails over and is stored like any outage)."""
        state = self.state
        if state is CircuitState.OPEN:
            raise BackendUnavailable(log_detail=f"{self.service}: circuit open, not sent")
        probe = state is CircuitState.HALF_OPEN
        self._probing = probe
        try:
            yield
        except BackendUnavailable:
            self._failed(probe)
            raise
        except BaseException:
            # The service answered (a refusal, a filter) or the job was cancelled: neither says the
            # service is down. A cancelled probe only hands the probe to the next job.
            if probe:
                self._probing = False
            raise
        else:
            self._succeeded(probe)

    def _failed(self, probe: bool) -> None:
        if probe:
            self._probing = False
            self._opened_at = self._policy.clock()
            log.warning("circuit.reopened", extra={"backend": self.service})
            return
        if self._opened_at is not None:
            return  # a job admitted before the circuit opened (or a probe is out): already counted
        self._failures += 1
        if self._failures >= self._policy.failures:
            self._opened_at = self._policy.clock()
            log.warning(
                "circuit.opened",
                extra={
                    "backend": self.service,
                    "failures": self._failures,
                    "cooldown_s": self._policy.cooldown_s,
                },
            )

    def _succeeded(self, probe: bool) -> None:
        if probe or self._opened_at is not None:
            log.info("circuit.closed", extra={"backend": self.service})
        self._failures = 0
        self._opened_at = None
        self._probing = False
