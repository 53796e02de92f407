"""ComfyUI as an easel backend: workflows filled from easel's requests, run over HTTP + websocket.

Usage::

    backend = ComfyUIBackend("http://gpu-box:8188", workflows=load_workflows(folder))
    await backend.start()                       # GET /object_info: checkpoints, samplers, nodes
    result = await backend.generate(request, progress)
    await backend.close()

One job, per image (``--n 3`` runs the workflow three times with ``seed``, ``seed+1``, …; a GPU
runs them one after another anyway):

1. input images and masks → ``POST /upload/image`` (LoadImage / LoadImageMask take the stored name);
2. ``/ws?clientId=…`` opened, then ``POST /prompt`` with the filled graph;
3. ``progress`` events and binary preview frames → live progress with previews in chat;
4. ``executing`` with ``node: null`` → ``GET /history/{id}`` → ``GET /view`` for the output node's images.

Each run's prompt id is persisted as the job's resume token as soon as it is submitted; after a
restart the runs the host finished (or is still running) are fetched, not submitted again.

``cancel()`` calls ``POST /interrupt``. Operations are those with a workflow whose nodes all exist
on the host (``upscale`` also needs an upscale model); ``--model`` picks a checkpoint, ``--sampler``
and ``--scheduler`` come from the host's KSampler. Outpaint pads the canvas, runs the outpaint
workflow as an inpaint of the new area and pastes the original's pixels back
(:mod:`services.outpaint`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import aiohttp

from services.backends.base import BackendLimits, ProgressCallback, ResumableBackend, ResumeTokenCallback
from services.backends.comfyui.catalog import HostCatalog, merge
from services.backends.comfyui.client import ComfyClient, PreviewFrame
from services.backends.comfyui.hosts import ComfyHost, HostPool, HostState
from services.backends.comfyui.limits import SEED_MAX, UPSCALE_FACTORS, limits_for, usable_workflows
from services.backends.comfyui.masks import comfy_mask
from services.backends.comfyui.resume import ResumeToken, finished_outputs
from services.backends.comfyui.workflows import Workflow
from services.backends.originals import as_png, original_from
from services.backends.retry import RetryPolicy, TransientError, call_with_retries
from services.errors import (
    BackendError,
    BackendMisconfigured,
    BackendUnavailable,
    InvalidRequest,
    UnsupportedOption,
)
from services.offload import run_cpu
from services.outpaint import OutpaintPlan, plan_outpaint, prepare_outpaint, restore_original
from services.types import (
    CheckResult,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    MaskSource,
    Operation,
    Progress,
)

__all__ = ["ComfyUIBackend"]

log = logging.getLogger(__name__)


class ComfyUIBackend(ResumableBackend):
    """easel's :class:`~services.backends.base.Backend` for one ComfyUI host."""

    name = "comfyui"

    def __init__(
        self,
        urls: str | Sequence[str],
        *,
        workflows: dict[Operation, Workflow],
        checkpoint: str | None = None,
        upscale_model: str | None = None,
        max_side: int = 2048,
        timeout_s: float = 600.0,
        max_attempts: int = 2,
        retry_base_delay_s: float = 1.0,
        resume_poll_s: float = 1.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._urls = [u.rstrip("/") for u in ([urls] if isinstance(urls, str) else urls)]
        if not self._urls:
            raise ValueError("at least one ComfyUI host is needed")
        self._workflows = workflows
        self._checkpoint = checkpoint
        self._upscale_model = upscale_model
        self._max_side = max_side
        self._timeout_s = timeout_s
        self._policy = RetryPolicy(max_attempts=max_attempts, base_delay_s=retry_base_delay_s)
        self._resume_poll_s = resume_poll_s
        self._session = session
        self._owns_session = False
        self._pool: HostPool | None = None
        self._catalog: HostCatalog | None = None
        self._limits = self._build_limits()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(urls={self._urls!r})"

    @property
    def limits(self) -> BackendLimits:
        return self._limits

    # -- lifecycle --

    async def start(self) -> None:
        """Open the session and learn every host (hosts that are down now are asked again later)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        clients = [ComfyClient(url, self._session, timeout_s=self._timeout_s) for url in self._urls]
        self._pool = HostPool(clients)
        await self._learn(force=True)

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session, self._owns_session, self._pool = None, False, None

    def host_states(self) -> dict[str, str]:
        """Each host's state for ``/status`` (:class:`~services.backends.base.HostStateReporter`)."""
        return self._pool.states() if self._pool is not None else {}

    async def _learn(self, *, force: bool) -> None:
        assert self._pool is not None
        await self._pool.probe(force=force)
        known = [h.catalog for h in self._pool.up() if h.catalog is not None]
        if known:
            self._catalog = merge(known)
            self._limits = self._build_limits()

    def _usable(self) -> dict[Operation, Workflow]:
        return usable_workflows(self._workflows, self._catalog)

    def _build_limits(self) -> BackendLimits:
        return limits_for(self._usable(), self._catalog, checkpoint=self._checkpoint, max_side=self._max_side)

    # -- generation --

    async def generate_resumable(
        self,
        request: GenerationRequest,
        progress: ProgressCallback | None,
        *,
        resume_token: str | None,
        on_resume_token: ResumeTokenCallback | None,
    ) -> GenerationResult:
        """Run one job; each run's prompt id is saved (``on_resume_token``) right after it is
        submitted, and a job given its saved token fetches the runs the host finished or is still
        working on instead of submitting them again (:mod:`~services.backends.comfyui.resume`)."""
        started = time.monotonic()
        pool = self._pool
        if pool is None:
            raise BackendUnavailable(log_detail="comfyui backend used before start()")
        if self._catalog is None:
            await self._learn(force=True)
        workflow = self._usable().get(request.operation)
        if workflow is None:
            raise UnsupportedOption(f"/{request.operation.value} isn't available on this backend.")
        values, uploads, plan = await self._values(request, workflow)
        checkpoint = values.get("checkpoint")
        catalog = self._catalog
        if workflow.maps("checkpoint") and checkpoint and catalog and checkpoint not in catalog.checkpoints:
            raise BackendMisconfigured(log_detail=f"comfyui: no host has the checkpoint {checkpoint!r}")
        saved = ResumeToken.load(resume_token)
        first_seed = request.seed if request.seed is not None else None
        if first_seed is None:
            first_seed = saved.first_seed if saved else int.from_bytes(uuid.uuid4().bytes[:4], "big")
        token = ResumeToken(first_seed)
        runs = 1 if request.operation is Operation.UPSCALE else request.samples
        images: list[GeneratedImage] = []
        for index in range(runs):
            seed = (first_seed + index) % (SEED_MAX + 1)
            graph = workflow.fill({**values, "seed": seed})
            reporter = _Reporter(progress, index, runs)

            async def submitted(url: str, prompt_id: str, index: int = index) -> None:
                nonlocal token
                token = token.with_run(url, prompt_id, index)
                await _save(on_resume_token, token)

            async def on_host(
                host: ComfyHost, graph: dict[str, Any] = graph, reporter: _Reporter = reporter
            ) -> list[bytes]:
                for key, (data, filename) in uploads.items():
                    graph[workflow.inputs[key][0]]["inputs"][
                        workflow.inputs[key][1]
                    ] = await host.client.upload_image(data, filename)
                return await self._run(host.client, graph, workflow.output, reporter, submitted)

            async def attempt(on_host: Any = on_host) -> list[bytes]:
                return await pool.run(on_host, serves=lambda host: self._serves(host, workflow, values))

            outputs = await self._resumed(saved, index, workflow.output)
            if outputs is not None:
                assert saved is not None
                token = token.with_run(*saved.runs[index], index)
            else:
                outputs = await call_with_retries(
                    attempt, self._policy, backend=self.name, operation=workflow.name
                )
            for data in outputs:
                images.append(await run_cpu(original_from, data, seed, backend=self.name))
        if plan is not None:
            assert request.init_image is not None
            width, height = plan.output_size
            images = [
                replace(
                    img,
                    png=await restore_original(img.png, request.init_image.png, plan),
                    width=width,
                    height=height,
                )
                for img in images
            ]
        model = str(values.get("checkpoint") or workflow.name)
        log.info(
            "comfyui.done",
            extra={
                "workflow": workflow.name,
                "images": len(images),
                "duration_s": round(time.monotonic() - started, 3),
            },
        )
        return GenerationResult(images=tuple(images), backend=self.name, model=model)

    async def _values(
        self, request: GenerationRequest, workflow: Workflow
    ) -> tuple[dict[str, Any], dict[str, tuple[bytes, str]], OutpaintPlan | None]:
        """What the mapping's keys get, the images to upload (key → bytes, file name) and the outpaint plan."""
        op = request.operation
        values: dict[str, Any] = {
            "prompt": request.positive_prompt,
            "negative": request.negative_prompt,
            "steps": request.steps,
            "cfg": request.cfg_scale,
            "sampler": request.sampler,
            "scheduler": request.scheduler,
            "checkpoint": request.model or self._limits.default_model or None,
        }
        if op is Operation.IMAGINE:
            values.update(width=request.width or 1024, height=request.height or 1024)
            return values, {}, None
        init = request.init_image
        if init is None:
            raise InvalidRequest(f"/{op.value} needs an image: please attach one.")
        tag = uuid.uuid4().hex[:12]
        image, mask_name = f"easel-{tag}.png", f"easel-{tag}-mask.png"
        if op is Operation.UPSCALE:
            if request.upscale_factor not in UPSCALE_FACTORS:
                raise UnsupportedOption(f"ComfyUI upscales by 2 or 4, not {request.upscale_factor}.")
            catalog = self._catalog
            model = self._upscale_model or (
                catalog.upscale_models[0] if catalog and catalog.upscale_models else None
            )
            values = {"upscale_model": model, "scale_by": request.upscale_factor / workflow.native_scale}
            return values, {"image": (init.png, image)}, None
        if op is Operation.OUTPAINT:
            assert request.outpaint is not None
            plan = plan_outpaint(
                init.width, init.height, request.outpaint, size_multiple=8, max_side=self._max_side
            )
            canvas, mask = await prepare_outpaint(init.png, plan)
            return values, {"image": (canvas, image), "mask": (mask, mask_name)}, plan
        uploads = {"image": (init.png, image)}
        if op is Operation.REMIX:
            strength = request.strength if request.strength is not None else self._limits.default_strength
            values["denoise"] = round(1.0 - strength, 4)
        if op is Operation.INPAINT:
            source = request.mask_source or (MaskSource.WHITE if request.mask_image else MaskSource.ALPHA)
            uploads["mask"] = (await comfy_mask(init, request.mask_image, source), mask_name)
        return values, uploads, None

    def _serves(self, host: ComfyHost, workflow: Workflow, values: dict[str, Any]) -> bool:
        """Whether ``host`` has the workflow's nodes and the checkpoint / upscale model asked for."""
        catalog = host.catalog
        if catalog is None or catalog.missing_nodes(workflow.class_types()):
            return False
        if (
            workflow.maps("checkpoint")
            and values.get("checkpoint")
            and values["checkpoint"] not in catalog.checkpoints
        ):
            return False
        model = values.get("upscale_model")
        return not (workflow.maps("upscale_model") and model and model not in catalog.upscale_models)

    async def _resumed(self, saved: ResumeToken | None, index: int, node: str) -> list[bytes] | None:
        """Run ``index``'s images from the host it was submitted to before a restart, if it has them."""
        if saved is None or index >= len(saved.runs) or self._pool is None:
            return None
        url, prompt_id = saved.runs[index]
        host = next((h for h in self._pool.hosts if h.client.base_url == url), None)
        if host is None:  # that host is no longer configured
            return None
        try:
            outputs = await finished_outputs(host.client, prompt_id, node=node, poll_s=self._resume_poll_s)
        except (TransientError, BackendError) as exc:
            log.warning("comfyui.resume_failed", extra={"host": host.label, "detail": str(exc)[:200]})
            return None
        log.info("comfyui.resumed", extra={"host": host.label, "run": index, "reused": outputs is not None})
        return outputs

    async def _run(
        self,
        client: ComfyClient,
        graph: dict[str, Any],
        output: str,
        reporter: _Reporter,
        submitted: Callable[[str, str], Awaitable[None]],
    ) -> list[bytes]:
        async with client.events() as events:
            prompt_id = await client.submit(graph)
            await submitted(client.base_url, prompt_id)
            async for event in events.until_done(prompt_id):
                if isinstance(event, PreviewFrame):
                    preview, _, _ = await run_cpu(as_png, event.image, backend=self.name)
                    reporter.preview = preview
                    await reporter.report()
                elif event.type == "progress":
                    value, maximum = float(event.data.get("value", 0)), float(event.data.get("max", 1) or 1)
                    reporter.step = min(max(value / maximum, 0.0), 1.0)
                    await reporter.report()
        return await client.outputs(prompt_id, output)

    async def cancel(self) -> None:
        """``POST /interrupt`` on every host running one of this backend's prompts."""
        if self._pool is None:
            return
        for host in self._pool.hosts:
            if host.in_flight:
                try:
                    await host.client.interrupt()
                except (TransientError, BackendUnavailable):
                    log.warning("comfyui.interrupt_failed", extra={"host": host.label})

    # -- easel check --

    async def check(self) -> list[CheckResult]:
        """Each host answers ``/object_info``; each workflow's nodes exist; checkpoints are listed."""
        assert self._pool is not None, "check() runs between start() and close()"
        await self._learn(force=True)
        lines = []
        for host in self._pool.hosts:
            if host.catalog is not None and host.state is HostState.UP:
                lines.append(
                    CheckResult(
                        "comfyui host",
                        True,
                        f"{host.label} answers, {len(host.catalog.node_classes)} node types",
                    )
                )
            else:
                lines.append(
                    CheckResult("comfyui host", False, f"cannot reach {host.label}: {host.last_error}")
                )
        catalog = self._catalog
        if catalog is None or not self._pool.up():
            return lines
        for op, workflow in sorted(self._workflows.items()):
            missing = catalog.missing_nodes(workflow.class_types())
            if missing:
                lines.append(
                    CheckResult(
                        f"comfyui {workflow.name}", False, f"nodes missing on the host: {', '.join(missing)}"
                    )
                )
            else:
                lines.append(CheckResult(f"comfyui {workflow.name}", True, f"/{op.value} ready"))
        if not catalog.checkpoints:
            lines.append(CheckResult("comfyui checkpoints", False, "the host lists no checkpoints"))
        elif self._limits.default_model not in catalog.checkpoints:
            detail = f"{self._limits.default_model} is on no host: check EASEL_COMFYUI_CHECKPOINT"
            lines.append(CheckResult("comfyui checkpoints", False, detail))
        else:
            lines.append(
                CheckResult(
                    "comfyui checkpoints",
                    True,
                    f"{len(catalog.checkpoints)}, default {self._limits.default_model}",
                )
            )
        return lines


async def _save(on_resume_token: ResumeTokenCallback | None, token: ResumeToken) -> None:
    """Persist the token; failing to is logged, never the job's failure (it only costs a rerun)."""
    if on_resume_token is None:
        return
    try:
        await on_resume_token(token.dump())
    except Exception:
        log.warning("comfyui.resume_token_not_saved", exc_info=True)


class _Reporter:
    """Progress across the runs of one job: run ``index`` of ``runs`` at ``step`` (0..1)."""

    def __init__(self, progress: ProgressCallback | None, index: int, runs: int) -> None:
        self._progress, self._index, self._runs = progress, index, runs
        self.step = 0.0
        self.preview: bytes | None = None

    async def report(self) -> None:
        if self._progress is None:
            return
        fraction = (self._index + self.step) / self._runs
        message = f"image {self._index + 1} of {self._runs}" if self._runs > 1 else "rendering"
        await self._progress(
            Progress(fraction=min(fraction, 0.99), preview_png=self.preview, message=message)
        )
