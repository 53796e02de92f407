"""The GPU host backend: one or more AUTOMATIC1111-compatible hosts behind one :class:`Backend`.

::

    backend = A1111Backend(["http://gpu1:7860", "http://gpu2:7860"], auth=("easel", "pw"))
    await backend.start()                       # probes hosts: models, samplers, schedulers, upscalers
    result = await backend.generate(request, progress=on_progress)
    await backend.close()

Hosts share the work through :class:`~services.backends.a1111.pool.GpuPool` (slots,
failover, re-probing); one call runs through :class:`~services.backends.a1111.host_call.HostCalls`
(progress polls, interrupts). The checkpoint is pinned on every call
(``override_settings.sd_model_checkpoint``, the request's model or the default), so all
hosts draw with the same model; it stays loaded afterwards
(``override_settings_restore_afterwards=false``) so the next job does not reload weights.
Request bodies are built in :mod:`~services.backends.a1111.payloads`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import aiohttp

import services.backends.a1111.catalog as catalog
import services.backends.a1111.payloads as payloads
import services.backends.a1111.wire as wire
from services.backends.a1111.client import EXTRAS, IMG2IMG, INTERROGATE, TXT2IMG, A1111Client, ApiMissing
from services.backends.a1111.host_call import HostCalls
from services.backends.a1111.host_check import check_host
from services.backends.a1111.pool import GpuPool, HostState, Lease, PoolHost
from services.backends.a1111.responses import decode_image, decode_images
from services.backends.base import BackendLimits, ProgressCallback
from services.backends.plugin import BackendConfigError
from services.errors import BackendError, BackendRejected, UnsupportedOption
from services.outpaint import restore_original
from services.types import CheckResult, GeneratedImage, GenerationRequest, GenerationResult, Operation

__all__ = ["A1111Backend"]

log = logging.getLogger(__name__)


class A1111Backend:
    """:class:`services.backends.base.Backend` for AUTOMATIC1111-compatible GPU hosts."""

    name = "gpu-host"

    def __init__(
        self,
        urls: Sequence[str],
        *,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
        upscaler: str | None = None,
        sampler: str | None = catalog.DEFAULT_SAMPLER,
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
            raise BackendConfigError("EASEL_GPU_HOST_URL must name at least one GPU host")
        if auth is not None and token:
            raise BackendConfigError("set EASEL_GPU_HOST_AUTH or EASEL_GPU_HOST_TOKEN, not both")
        self._clients = [A1111Client(u, auth=auth, token=token, timeout_s=timeout_s) for u in urls]
        self._pool: GpuPool[A1111Client] = GpuPool(
            [(c.label, c) for c in self._clients],
            probe=lambda client: client.catalog(),
            per_host_concurrency=per_host_concurrency,
            reprobe_interval_s=reprobe_interval_s,
            on_change=self._rebuild_limits,
        )
        self._calls = HostCalls(progress_interval_s=progress_interval_s)
        self._upscaler = upscaler
        self._sampler = sampler
        self._concurrency = per_host_concurrency
        self._interrogator = interrogator
        self._max_side = max_side
        self._session = session
        self._own_session = session is None
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
        self._default_model = catalog.default_model(catalogs, self._default_model)
        return catalog.limits_for(catalogs, default_model=self._default_model, max_side=self._max_side)

    # ---- generate ----------------------------------------------------------------------------------
    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        op = request.operation
        if op not in self._limits.operations:
            raise UnsupportedOption(f"/{op.value} isn't available on this backend.")
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
                payload = payloads.txt2img_payload(request, self._limits)
            elif op is Operation.REMIX:
                payload = await payloads.img2img_payload(request, self._limits)
            else:
                payload = await payloads.inpaint_payload(request, self._limits)
            path = TXT2IMG if op is Operation.IMAGINE else IMG2IMG
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
            title = catalog.model_title(lease.host, model)
            body = dict(wire.with_model(payload, title)) if title else payload  # type: ignore[arg-type]
            sampler = None if request.sampler else catalog.default_sampler(lease.host, self._sampler)
            if sampler:  # the API's own default is not the UI's: say which one the operator chose
                body = {**body, "sampler_name": sampler}
            body = {**body, "force_task_id": f"easel-{uuid.uuid4().hex}"}  # "is this ours?" before interrupts
            return await self._calls.post(lease, path, body, progress), lease.host

        body, host = await self._pool.run(
            call, can_serve=lambda h: catalog.can_serve(h, request), what=request.operation.value
        )
        images, info = await decode_images(
            body, count=request.samples, requested_seed=request.seed, where=f"{host.label} {path}"
        )
        return GenerationResult(
            images=images, backend=self.name, model=catalog.result_model(host, model, info)
        )

    async def _outpaint(
        self, request: GenerationRequest, progress: ProgressCallback | None
    ) -> GenerationResult:
        payload, plan = await payloads.outpaint_payload(request, self._limits)
        result = await self._images(request, IMG2IMG, payload, progress)
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
        base = await payloads.extras_payload(request, upscaler="")

        async def call(lease: Lease[A1111Client]) -> tuple[Any, str]:
            upscaler = self._upscaler_for(lease.host)
            return await self._calls.post(lease, EXTRAS, base | {"upscaler_1": upscaler}, progress), upscaler

        body, upscaler = await self._pool.run(call, can_serve=self._can_upscale, what="upscale")
        image_b64 = body.get("image") if isinstance(body, dict) else None
        if not isinstance(image_b64, str) or not image_b64:
            raise BackendError(log_detail="upscale: response without an image")
        png, width, height = await decode_image(image_b64)
        seed = request.seed if request.seed is not None else 0
        image = GeneratedImage(png=png, seed=seed, width=width, height=height)
        return GenerationResult(images=(image,), backend=self.name, model=upscaler)

    async def _describe(self, request: GenerationRequest) -> GenerationResult:
        payload = await payloads.interrogate_payload(request, self._interrogator)

        async def call(lease: Lease[A1111Client]) -> Any:
            cat = lease.host.catalog
            path = cat.caption_path if cat is not None else INTERROGATE
            body = (
                payload if path == INTERROGATE else {"image": payload["image"]}
            )  # SD.Next: its default model
            try:
                return await self._calls.post(lease, path, body, None, watch=False)
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

    async def cancel(self) -> None:
        """Interrupt every running generation; their ``generate`` calls raise :class:`JobCancelled`."""
        await self._calls.cancel()

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
        return await check_host(
            client, upscaler=self._upscaler, sampler=self._sampler, concurrency=self._concurrency
        )
