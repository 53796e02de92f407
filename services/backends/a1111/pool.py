"""Several GPU hosts behind one queue: routing, per-host slots, failover and health. Knows no payloads.

A GPU runs one job at a time, so each host has ``per_host_concurrency`` slots (default
1). A job takes a slot on the least busy healthy host that can serve it (has the model,
sampler, upscaler); when every such host is full it waits. A host that fails
(connection error, 5xx, timeout) is taken out of rotation and the job is retried on
another host, not lost. Hosts out of rotation are re-probed every ``reprobe_interval_s``,
and at once when a job finds none healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Generic, TypeVar

import services.backends.a1111.wire as wire
from services.backends.a1111.client import HostAuthFailed, HostFailure
from services.backends.plugin import BackendConfigError
from services.errors import BackendError, BackendMisconfigured, BackendUnavailable

__all__ = ["GpuPool", "HostState", "Lease", "PoolHost"]

log = logging.getLogger(__name__)

C = TypeVar("C")
T = TypeVar("T")


class HostState(StrEnum):
    UNKNOWN = "unknown"  # not probed yet
    UP = "up"
    DOWN = "down"  # unreachable or failing; re-probed periodically
    AUTH_FAILED = "auth_failed"


class PoolHost(Generic[C]):
    """One host's client and score. Mutated only by :class:`GpuPool`, on the event loop."""

    def __init__(self, label: str, client: C) -> None:
        self.label = label  # URL without credentials: safe for logs and ``easel check``
        self.client = client
        self.state = HostState.UNKNOWN
        self.catalog: wire.HostCatalog | None = None
        self.in_flight = 0
        self.started = 0  # jobs started here: tie-break so equally idle hosts share the work
        self.last_error = ""
        self.checked_at = 0.0

    def __repr__(self) -> str:
        return f"<PoolHost {self.label} {self.state} in_flight={self.in_flight}>"


class Lease(Generic[C]):
    """One slot on one host, held for one call. :meth:`release` may come early (idempotent):
    as soon as the host has answered, so the next job starts while this one tidies up."""

    def __init__(self, pool: GpuPool[C], host: PoolHost[C]) -> None:
        self.host = host
        self._pool = pool
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._pool._release(self.host)


class GpuPool(Generic[C]):
    """Routes calls to hosts, serialises them per host, keeps hosts' health. Knows no payloads::

    pool = GpuPool([("gpu1", client1), ("gpu2", client2)], probe=lambda c: c.catalog())
    await pool.start()
    body = await pool.run(lambda lease: lease.host.client.post_json(...), what="imagine")
    """

    MIN_PROBE_GAP_S = 1.0  # a host found down is not re-probed on demand sooner than this

    def __init__(
        self,
        hosts: Sequence[tuple[str, C]],
        *,
        probe: Callable[[C], Awaitable[wire.HostCatalog]],
        per_host_concurrency: int = 1,
        reprobe_interval_s: float = 30.0,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        if not hosts:
            raise BackendConfigError("a GPU pool needs at least one host")
        if per_host_concurrency < 1:
            raise BackendConfigError("per_host_concurrency must be at least 1")
        self.hosts: tuple[PoolHost[C], ...] = tuple(PoolHost(label, client) for label, client in hosts)
        self.capacity = per_host_concurrency
        self._probe_fn = probe
        self._reprobe_interval_s = reprobe_interval_s
        self._on_change = on_change
        self._waiters: list[asyncio.Future[None]] = []
        self._probes: dict[int, asyncio.Task[None]] = {}
        self._reprober: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Probe every host once (an unreachable host is not an error) and start re-probing."""
        await self.probe(force=True)
        if self._reprober is None and self._reprobe_interval_s > 0:
            self._reprober = asyncio.create_task(self._reprobe_loop(), name="gpu-pool-reprobe")

    async def close(self) -> None:
        tasks = [t for t in (self._reprober, *self._probes.values()) if t is not None]
        self._reprober = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._wake()

    def up_hosts(self) -> list[PoolHost[C]]:
        return [h for h in self.hosts if h.state is HostState.UP]

    async def run(
        self,
        fn: Callable[[Lease[C]], Awaitable[T]],
        *,
        can_serve: Callable[[PoolHost[C]], bool] | None = None,
        what: str = "job",
    ) -> T:
        """``await fn(lease)`` on the least busy healthy host that ``can_serve``; on a host failure,
        take that host out and try another (each host at most about once). The slot is freed
        when ``fn`` ends, or earlier if it calls ``lease.release()``.

        Other errors (a rejected request, a cancellation) propagate at once: another host
        would say the same.
        """
        serve = can_serve or (lambda host: True)
        failures: list[BackendError] = []
        for _ in range(len(self.hosts) + 1):
            host = await self._acquire(serve)
            lease = Lease(self, host)
            try:
                return await fn(lease)
            except HostAuthFailed as err:
                self._set_state(host, HostState.AUTH_FAILED, err.log_detail)
                failures.append(err)
            except HostFailure as err:
                self._set_state(host, HostState.DOWN, err.log_detail)
                failures.append(err)
            finally:
                lease.release()
            log.warning(
                "gpu_pool.retry_elsewhere", extra={"host": host.label, "what": what, "attempt": len(failures)}
            )
        detail = "; ".join(f.log_detail for f in failures)
        if all(isinstance(f, HostAuthFailed) for f in failures):
            raise BackendMisconfigured(log_detail=f"GPU hosts refused our credentials: {detail}")
        raise BackendUnavailable(log_detail=f"{what} failed {len(failures)} times: {detail}")

    async def _acquire(self, serve: Callable[[PoolHost[C]], bool]) -> PoolHost[C]:
        probed = False
        while True:
            candidates = [h for h in self.hosts if h.state is HostState.UP and serve(h)]
            if candidates:
                free = [h for h in candidates if h.in_flight < self.capacity]
                if free:
                    host = min(free, key=lambda h: (h.in_flight, h.started))
                    host.in_flight += 1
                    host.started += 1
                    return host
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                finally:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
                continue
            if probed:
                raise self._no_host_error()
            await self.probe(force=False)
            probed = True

    def _release(self, host: PoolHost[C]) -> None:
        host.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        """Wake every waiter; they re-check in arrival order and the ones that lose wait again."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _no_host_error(self) -> BackendError:
        summary = ", ".join(f"{h.label}={h.state} {h.last_error}".strip() for h in self.hosts)
        if {h.state for h in self.hosts} == {HostState.AUTH_FAILED}:
            return BackendMisconfigured(log_detail=f"every GPU host refused our credentials ({summary})")
        return BackendUnavailable(log_detail=f"no GPU host can take the job ({summary})")

    def _set_state(self, host: PoolHost[C], state: HostState, reason: str = "") -> None:
        previous = host.state
        host.state = state
        host.last_error = "" if state is HostState.UP else reason
        if previous is not state:
            if state is HostState.UP:
                log.info("gpu_pool.host_up", extra={"host": host.label})
            else:
                log.warning(
                    "gpu_pool.host_out", extra={"host": host.label, "state": str(state), "reason": reason}
                )
        self._wake()

    async def probe(self, *, force: bool) -> None:
        """Probe hosts out of rotation (every host when ``force``), concurrently."""
        now = time.monotonic()
        targets = [
            h
            for h in self.hosts
            if force or (h.state is not HostState.UP and now - h.checked_at >= self.MIN_PROBE_GAP_S)
        ]
        await asyncio.gather(*(self._probe(h) for h in targets))

    async def _probe(self, host: PoolHost[C]) -> None:
        """One probe per host at a time; concurrent callers share it."""
        key = id(host)
        task = self._probes.get(key)
        if task is None:
            task = asyncio.create_task(self._probe_once(host), name=f"gpu-probe {host.label}")
            self._probes[key] = task
            task.add_done_callback(lambda _t: self._probes.pop(key, None))
        await asyncio.shield(task)

    async def _probe_once(self, host: PoolHost[C]) -> None:
        try:
            catalog = await self._probe_fn(host.client)
        except HostAuthFailed as err:
            self._set_state(host, HostState.AUTH_FAILED, err.log_detail)
        except BackendError as err:
            self._set_state(host, HostState.DOWN, err.log_detail or type(err).__name__)
        except Exception as err:  # a probe must never take the pool down with it
            log.exception("gpu_pool.probe_crashed", extra={"host": host.label})
            self._set_state(host, HostState.DOWN, type(err).__name__)
        else:
            changed = catalog != host.catalog
            host.catalog = catalog
            self._set_state(host, HostState.UP)
            if changed and self._on_change is not None:
                self._on_change()
        finally:
            host.checked_at = time.monotonic()

    async def _reprobe_loop(self) -> None:
        while True:
            await asyncio.sleep(self._reprobe_interval_s)
            # Hosts out of rotation come back; idle hosts refresh their listings (new models).
            targets = [h for h in self.hosts if h.state is not HostState.UP or h.in_flight == 0]
            await asyncio.gather(*(self._probe(h) for h in targets), return_exceptions=True)
