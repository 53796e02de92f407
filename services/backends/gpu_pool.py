"""The GPU host backend: one or more AUTOMATIC1111-compatible hosts behind one :class:`Backend`.

::

    backend = GpuHostBackend(["http://gpu1:7860", "http://gpu2:7860"], auth=("easel", "pw"))
    await backend.start()                       # probes hosts: models, samplers, schedulers, upscalers
    result = await backend.generate(request, progress=on_progress)
    await backend.close()

A GPU runs one job at a time, so each host has ``per_host_concurrency`` slots (default
1). A job takes a slot on the least busy healthy host that can serve it (has the model,
sampler, upscaler); when every such host is full it waits. A host that fails
(connection error, 5xx, timeout, or it stops answering progress polls) is taken out of
rotation and the job is retried on another host, not lost. Hosts out of rotation are
re-probed every ``reprobe_interval_s``, and at once when a job finds none healthy.

While txt2img/img2img run, ``GET /sdapi/v1/progress`` is polled every
``progress_interval_s`` for the fraction, ETA and live preview. Cancelling the job's
task, or :meth:`GpuHostBackend.cancel`, sends ``POST /sdapi/v1/interrupt``.

The checkpoint is pinned on every call (``override_settings.sd_model_checkpoint``, the
request's model or the default), so all hosts draw with the same model; it stays loaded
afterwards (``override_settings_restore_afterwards=false``) so the next job does not
reload weights. Wire details live in :mod:`services.backends.a1111`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

import aiohttp

from services.backends import a1111 as api
from services.backends import a1111_wire as wire
from services.backends.a1111 import A1111Client, ApiMissing, HostAuthFailed, HostFailure
from services.backends.base import BackendLimits, ProgressCallback
from services.errors import (
    BackendError,
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
    JobCancelled,
    UnsupportedOption,
)
from services.outpaint import restore_original
from services.types import (
    CheckResult,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Operation,
)

__all__ = ["GpuHostBackend", "GpuPool", "HostState", "Lease", "PoolHost"]

log = logging.getLogger(__name__)

C = TypeVar("C")
T = TypeVar("T")

OPERATIONS = frozenset(Operation)
MAX_BATCH = 8
WATCH_FAILURES = 3  # progress polls failing in a row before the host counts as gone


# ---- the pool ------------------------------------------------------------------------------------


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
            raise ValueError("a GPU pool needs at least one host")
        if per_host_concurrency < 1:
            raise ValueError("per_host_concurrency must be at least 1")
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


# ---- the backend ---------------------------------------------------------------------------------


@dataclass(eq=False)
class _Running:
    """A call in flight on a host, so :meth:`GpuHostBackend.cancel` can interrupt it."""

    host: PoolHost[A1111Client]
    cancelled: bool = False  # by GpuHostBackend.cancel()
    lost: HostFailure | None = None  # set by the watcher when the host stops answering
    finished: bool = False  # the POST returned or failed: the watcher must not cancel any more


class GpuHostBackend:
    """:class:`services.backends.base.Backend` for AUTOMATIC1111-compatible GPU hosts."""

    name = "gpu-host"

    def __init__(
        self,
        urls: Sequence[str],
        *,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
        upscaler: str | None = None,
        per_host_concurrency: int = 1,
        timeout_s: float = 600,
        progress_interval_s: float = 1.0,
        session: aiohttp.ClientSession | None = None,
        reprobe_interval_s: float = 30,
        max_side: int = 2048,
        interrogator: str = "clip",
    ) -> None:
        urls = [u.strip() for u in urls if u.strip()]
        if not urls:
            raise ValueError("EASEL_GPU_HOST_URL must name at least one GPU host")
        if auth is not None and token:
            raise ValueError("set EASEL_GPU_HOST_AUTH or EASEL_GPU_HOST_TOKEN, not both")
        self._clients = [A1111Client(u, auth=auth, token=token, timeout_s=timeout_s) for u in urls]
        self._pool: GpuPool[A1111Client] = GpuPool(
            [(c.label, c) for c in self._clients],
            probe=lambda client: client.catalog(),
            per_host_concurrency=per_host_concurrency,
            reprobe_interval_s=reprobe_interval_s,
            on_change=self._rebuild_limits,
        )
        self._upscaler = upscaler
        self._interrogator = interrogator
        self._progress_interval_s = progress_interval_s
        self._max_side = max_side
        self._session = session
        self._own_session = session is None
        self._running: set[_Running] = set()
        self._default_model = ""  # fixed when first learned: hosts' loaded model follows users' --model
        self._limits = self._build_limits()

    # ---- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the session and probe every host. Unreachable hosts are re-probed later, not fatal."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        for client in self._clients:
            client.session = self._session
        await self._pool.start()
        up = self._pool.up_hosts()
        log.info(
            "gpu_host.started",
            extra={"hosts": len(self._clients), "up": len(up), "models": len(self._limits.models)},
        )
        if self._upscaler and not any(h.catalog and self._upscaler in h.catalog.upscalers for h in up):
            log.warning("gpu_host.upscaler_missing", extra={"upscaler": self._upscaler})

    async def close(self) -> None:
        await self._pool.close()
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
        for client in self._clients:
            client.session = None

    @property
    def limits(self) -> BackendLimits:
        return self._limits

    @property
    def pool(self) -> GpuPool[A1111Client]:
        return self._pool

    def host_states(self) -> dict[str, HostState]:
        """Each host's label (URL without credentials) and state, for health pages."""
        return {h.label: h.state for h in self._pool.hosts}

    # ---- capabilities ------------------------------------------------------------------------------
    def _rebuild_limits(self) -> None:
        self._limits = self._build_limits()

    def _build_limits(self) -> BackendLimits:
        catalogs = [h.catalog for h in self._pool.hosts if h.catalog is not None]
        models = _union(m.name for c in catalogs for m in c.models)
        if self._default_model not in models:
            loaded = next((c.current_model_name for c in catalogs if c.current_model), "")
            self._default_model = loaded if loaded in models else (models[0] if models else "")
        default_model = self._default_model
        side = 1024 if wire.looks_like_large_model(default_model) else 512
        return BackendLimits(
            operations=OPERATIONS,
            default_size=(side, side),
            allowed_sizes=None,
            min_side=64,
            max_side=self._max_side,
            size_multiple=8,
            max_pixels=self._max_side * self._max_side,
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
            models=models,
            default_model=default_model,
            upscale_factors=(2, 4),
            max_upscale_output_pixels=4096 * 4096,
            max_input_bytes=20 * 1024 * 1024,
            max_input_pixels=4096 * 4096,
        )

    # ---- generate ----------------------------------------------------------------------------------
    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        op = request.operation
        if op not in self._limits.operations:
            raise UnsupportedOption(f"/{op.value} is not available on this backend.")
        if request.style_preset:
            raise UnsupportedOption(
                "Style presets are not available on the GPU host; describe the style in your prompt instead."
            )
        request = self._canonical_names(request)
        started = time.monotonic()
        if op is Operation.UPSCALE:
            result = await self._upscale(request, progress)
        elif op is Operation.DESCRIBE:
            result = await self._describe(request)
        elif op is Operation.OUTPAINT:
            result = await self._outpaint(request, progress)
        else:
            if op is Operation.IMAGINE:
                payload = api.txt2img_payload(request, self._limits)
            elif op is Operation.REMIX:
                payload = await api.img2img_payload(request, self._limits)
            else:
                payload = await api.inpaint_payload(request, self._limits)
            path = api.TXT2IMG if op is Operation.IMAGINE else api.IMG2IMG
            result = await self._images(request, path, payload, progress)
        log.info(
            "gpu_host.generated",
            extra={
                "operation": op.value,
                "images": len(result.images),
                "model": result.model,
                "duration_s": round(time.monotonic() - started, 3),
            },
        )
        return result

    def _canonical_names(self, request: GenerationRequest) -> GenerationRequest:
        """Sampler/scheduler/model as the hosts spell them; unknown names refused before a host is busy."""
        lim = self._limits
        changes: dict[str, Any] = {}
        for what, value, known in (
            ("sampler", request.sampler, lim.samplers),
            ("scheduler", request.scheduler, lim.schedulers),
        ):
            if not value or not known:
                continue
            match = next((k for k in known if k.lower() == value.lower()), None)
            if match is None:
                raise UnsupportedOption(
                    f"The GPU host has no {what} called {value!r}. Available: {', '.join(known)}."
                )
            changes[what] = match
        if request.model and lim.models:
            found = next(
                (m for h in self._pool.hosts if h.catalog and (m := h.catalog.find_model(request.model))),
                None,
            )
            if found is None:
                raise UnsupportedOption(
                    f"The GPU host has no model called {request.model!r}. Available: {', '.join(lim.models)}."
                )
            changes["model"] = found.name
        return replace(request, **changes) if changes else request

    async def _images(
        self,
        request: GenerationRequest,
        path: str,
        payload: dict[str, Any],
        progress: ProgressCallback | None,
    ) -> GenerationResult:
        """Run a txt2img/img2img call on some host; decode images and seeds."""
        model = request.model or self._limits.default_model or None

        async def call(lease: Lease[A1111Client]) -> tuple[Any, PoolHost[A1111Client]]:
            title = _model_title(lease.host, model)
            body = dict(wire.with_model(payload, title)) if title else payload  # type: ignore[arg-type]
            return await self._call(lease, path, body, progress), lease.host

        body, host = await self._pool.run(
            call, can_serve=lambda h: _can_serve(h, request), what=request.operation.value
        )
        images, info = await api.decode_images(
            body, count=request.samples, requested_seed=request.seed, where=f"{host.label} {path}"
        )
        return GenerationResult(images=images, backend=self.name, model=_result_model(host, model, info))

    async def _outpaint(
        self, request: GenerationRequest, progress: ProgressCallback | None
    ) -> GenerationResult:
        payload, plan = await api.outpaint_payload(request, self._limits)
        result = await self._images(request, api.IMG2IMG, payload, progress)
        assert request.init_image is not None
        width, height = plan.output_size
        images = [
            GeneratedImage(
                png=await restore_original(image.png, request.init_image.png, plan),
                seed=image.seed,
                width=width,
                height=height,
                finish_reason=image.finish_reason,
            )
            for image in result.images
        ]
        return replace(result, images=tuple(images))

    async def _upscale(
        self, request: GenerationRequest, progress: ProgressCallback | None
    ) -> GenerationResult:
        if request.upscale_factor not in self._limits.upscale_factors:
            raise UnsupportedOption(
                f"The GPU host upscales by {' or '.join(map(str, self._limits.upscale_factors))}, "
                f"not {request.upscale_factor}."
            )
        base = await api.extras_payload(request, upscaler="")

        async def call(lease: Lease[A1111Client]) -> tuple[Any, str]:
            upscaler = self._upscaler_for(lease.host)
            return await self._call(lease, api.EXTRAS, base | {"upscaler_1": upscaler}, progress), upscaler

        body, upscaler = await self._pool.run(call, can_serve=self._can_upscale, what="upscale")
        image_b64 = body.get("image") if isinstance(body, dict) else None
        if not isinstance(image_b64, str) or not image_b64:
            raise BackendError(log_detail="upscale: response without an image")
        png, width, height = await api.decode_image(image_b64)
        seed = request.seed if request.seed is not None else 0
        image = GeneratedImage(png=png, seed=seed, width=width, height=height)
        return GenerationResult(images=(image,), backend=self.name, model=upscaler)

    async def _describe(self, request: GenerationRequest) -> GenerationResult:
        payload = await api.interrogate_payload(request, self._interrogator)

        async def call(lease: Lease[A1111Client]) -> Any:
            try:
                return await self._call(lease, api.INTERROGATE, payload, None, watch=False)
            except ApiMissing as err:
                raise UnsupportedOption(
                    "/describe is not available on this GPU host.", log_detail=err.log_detail
                ) from err

        body = await self._pool.run(call, what="describe")
        caption = body.get("caption") if isinstance(body, dict) else None
        if not isinstance(caption, str) or not caption.strip():
            raise BackendRejected("The GPU host could not describe this image.", log_detail="empty caption")
        return GenerationResult(
            images=(), backend=self.name, model=self._interrogator, text=" ".join(caption.split())
        )

    # ---- one call on one host ----------------------------------------------------------------------
    async def _call(
        self,
        lease: Lease[A1111Client],
        path: str,
        payload: dict[str, Any],
        progress: ProgressCallback | None,
        *,
        watch: bool = True,
    ) -> Any:
        """POST to the leased host while a watcher polls its progress.

        The POST is awaited in the job's own task (no extra hop on the path between one
        job and the next); the watcher cancels that task if the host stops answering, and
        the cancellation becomes a :class:`HostFailure`. If the job itself is cancelled,
        the host is interrupted so the GPU does not keep working for nobody.
        """
        host = lease.host
        running = _Running(host)
        self._running.add(running)
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.create_task(self._watch(host, progress, running, task)) if watch else None
        try:
            body = await host.client.post_json(path, payload)
        except asyncio.CancelledError:
            if running.lost is not None and task.uncancel() == 0:
                raise running.lost from None  # the watcher gave up on this host
            if host.in_flight <= 1:  # only our job is on this host
                await self._interrupt(host)
            raise
        finally:
            running.finished = True
            lease.release()  # the host has answered (or failed): the next job may start now
            self._running.discard(running)
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
        if running.cancelled:
            raise JobCancelled()
        return body

    async def _watch(
        self,
        host: PoolHost[A1111Client],
        progress: ProgressCallback | None,
        running: _Running,
        job: asyncio.Task[Any],
    ) -> None:
        """Poll ``/progress``: report previews, and notice a host that stopped answering."""
        failures = 0
        last: tuple[float, bytes | None] | None = None
        while True:
            await asyncio.sleep(self._progress_interval_s)
            try:
                body = await host.client.progress(with_preview=progress is not None)
            except HostFailure as err:
                failures += 1
                log.info("gpu_host.progress_failed", extra={"host": host.label, "failures": failures})
                if failures >= WATCH_FAILURES and not running.finished:
                    running.lost = HostFailure(
                        log_detail=f"{err.log_detail} ({failures} progress polls in a row)"
                    )
                    job.cancel()
                    return
                continue
            except BackendError:
                continue  # e.g. a fork without /progress: nothing to report, nothing wrong
            failures = 0
            if progress is None:
                continue
            report = await api.progress_from(body, with_preview=True)
            if report is None or (report.fraction, report.preview_png) == last:
                continue
            last = (report.fraction, report.preview_png)
            try:
                await progress(report)
            except Exception:
                log.warning("gpu_host.progress_callback_failed", extra={"host": host.label}, exc_info=True)

    async def _interrupt(self, host: PoolHost[A1111Client]) -> None:
        try:
            await asyncio.wait_for(host.client.interrupt(), 5)
            log.info("gpu_host.interrupted", extra={"host": host.label})
        except (BackendError, TimeoutError):
            log.warning("gpu_host.interrupt_failed", extra={"host": host.label})

    async def cancel(self) -> None:
        """Interrupt every running generation; their ``generate`` calls raise :class:`JobCancelled`."""
        running = list(self._running)
        for r in running:
            r.cancelled = True
        hosts = {id(r.host): r.host for r in running}
        await asyncio.gather(*(self._interrupt(h) for h in hosts.values()))

    # ---- per-host choices --------------------------------------------------------------------------
    def _can_upscale(self, host: PoolHost[A1111Client]) -> bool:
        cat = host.catalog
        if cat is None:
            return False
        return not self._upscaler or not cat.upscalers or self._upscaler in cat.upscalers

    def _upscaler_for(self, host: PoolHost[A1111Client]) -> str:
        if self._upscaler:
            return self._upscaler
        return wire.pick_upscaler(host.catalog.upscalers if host.catalog else ()) or "Lanczos"

    # ---- easel check -------------------------------------------------------------------------------
    async def check(self) -> list[CheckResult]:
        """One line per host: reachable, credentials accepted, models, upscaler. Never generates."""
        async with self._check_session():
            return list(await asyncio.gather(*(self._check_host(c) for c in self._clients)))

    @contextlib.asynccontextmanager
    async def _check_session(self) -> AsyncIterator[None]:
        if self._session is not None and not self._session.closed:
            for client in self._clients:
                client.session = self._session
            yield
            return
        async with aiohttp.ClientSession() as session:
            for client in self._clients:
                client.session = session
            try:
                yield
            finally:
                for client in self._clients:
                    client.session = None

    async def _check_host(self, client: A1111Client) -> CheckResult:
        name = f"gpu-host {client.label}"
        try:
            catalog = await client.catalog()
        except HostAuthFailed:
            return CheckResult(
                name,
                False,
                "credentials refused (HTTP 401/403): check EASEL_GPU_HOST_AUTH or EASEL_GPU_HOST_TOKEN",
            )
        except ApiMissing:
            return CheckResult(name, False, "reachable, but its API is off: start the web UI with --api")
        except BackendError as err:
            return CheckResult(name, False, f"unreachable: {err.log_detail or type(err).__name__}")
        parts = [
            "reachable",
            f"{len(catalog.models)} models (current: {catalog.current_model_name or 'unknown'})",
            f"{len(catalog.samplers)} samplers",
        ]
        ok = bool(catalog.models)
        if not catalog.models:
            parts.append("no models installed")
        if self._upscaler and catalog.upscalers and self._upscaler not in catalog.upscalers:
            ok = False
            parts.append(
                f"upscaler {self._upscaler!r} not offered (EASEL_GPU_UPSCALER; has: {', '.join(catalog.upscalers)})"
            )
        else:
            parts.append(f"upscaler {self._upscaler or wire.pick_upscaler(catalog.upscalers) or 'none'}")
        return CheckResult(name, ok, ", ".join(parts))


# ---- helpers ------------------------------------------------------------------------------------


def _union(names: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _model_title(host: PoolHost[A1111Client], name: str | None) -> str | None:
    """The host's own title for a model name; None when it lacks it (it then uses its loaded one)."""
    if not name or host.catalog is None:
        return None
    found = host.catalog.find_model(name)
    return found.title if found else None


def _result_model(host: PoolHost[A1111Client], name: str | None, info: dict[str, Any]) -> str:
    found = host.catalog.find_model(name) if (host.catalog and name) else None
    if found is not None:
        return found.name
    reported = info.get("sd_model_name")
    if isinstance(reported, str) and reported:
        return reported
    return host.catalog.current_model_name if host.catalog else ""


def _can_serve(host: PoolHost[A1111Client], request: GenerationRequest) -> bool:
    cat = host.catalog
    if cat is None:
        return False
    if request.model and not cat.find_model(request.model):
        return False
    if request.sampler and cat.samplers and request.sampler not in cat.samplers:
        return False
    return not (request.scheduler and cat.schedulers and request.scheduler not in cat.schedulers)
