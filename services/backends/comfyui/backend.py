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
from dataclasses import replace
from typing import Any

import aiohttp

from services.backends.base import BackendLimits, ProgressCallback
from services.backends.comfyui.catalog import HostCatalog
from services.backends.comfyui.client import ComfyClient, PreviewFrame
from services.backends.comfyui.masks import comfy_mask
from services.backends.comfyui.workflows import Workflow
from services.backends.originals import as_png, original_from
from services.backends.retry import RetryPolicy, TransientError, call_with_retries
from services.errors import BackendUnavailable, InvalidRequest, UnsupportedOption
from services.offload import run_cpu
from services.outpaint import plan_outpaint, prepare_outpaint, restore_original
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

SEED_MAX = 2**32 - 1
UPSCALE_FACTORS = (2, 4)


class ComfyUIBackend:
    """easel's :class:`~services.backends.base.Backend` for one ComfyUI host."""

    name = "comfyui"

    def __init__(
        self,
        url: str,
        *,
        workflows: dict[Operation, Workflow],
        checkpoint: str | None = None,
        upscale_model: str | None = None,
        max_side: int = 2048,
        timeout_s: float = 600.0,
        max_attempts: int = 2,
        retry_base_delay_s: float = 1.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        self._workflows = workflows
        self._checkpoint = checkpoint
        self._upscale_model = upscale_model
        self._max_side = max_side
        self._timeout_s = timeout_s
        self._policy = RetryPolicy(max_attempts=max_attempts, base_delay_s=retry_base_delay_s)
        self._session = session
        self._owns_session = False
        self._client: ComfyClient | None = None
        self._catalog: HostCatalog | None = None
        self._limits = self._build_limits()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self._url!r})"

    @property
    def limits(self) -> BackendLimits:
        return self._limits

    # -- lifecycle --

    async def start(self) -> None:
        """Open the session and learn the host (a host that is down now is asked again per job)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        self._client = ComfyClient(self._url, self._session, timeout_s=self._timeout_s)
        try:
            await self._learn()
        except (TransientError, BackendUnavailable) as exc:
            log.warning("comfyui.unreachable", extra={"reason": str(exc)})

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session, self._owns_session, self._client = None, False, None

    async def _learn(self) -> HostCatalog:
        assert self._client is not None
        self._catalog = HostCatalog.from_object_info(await self._client.object_info())
        self._limits = self._build_limits()
        return self._catalog

    def _usable(self) -> dict[Operation, Workflow]:
        catalog = self._catalog
        if catalog is None:
            return dict(self._workflows)
        usable = {}
        for op, workflow in self._workflows.items():
            if catalog.missing_nodes(workflow.class_types()):
                continue
            if op is Operation.UPSCALE and workflow.maps("upscale_model") and not catalog.upscale_models:
                continue
            usable[op] = workflow
        return usable

    def _build_limits(self) -> BackendLimits:
        catalog = self._catalog
        usable = self._usable()
        sampler_wf = usable.get(Operation.IMAGINE) or next(iter(usable.values()), None)
        steps = cfg = None
        if sampler_wf is not None and sampler_wf.maps("steps"):
            steps = int(sampler_wf.node_value("steps"))
        if sampler_wf is not None and sampler_wf.maps("cfg"):
            cfg = float(sampler_wf.node_value("cfg"))
        default_model = self._checkpoint or (
            catalog.checkpoints[0] if catalog and catalog.checkpoints else ""
        )
        return BackendLimits(
            operations=frozenset(usable),
            default_size=(1024, 1024),
            min_side=64,
            max_side=self._max_side,
            size_multiple=8,
            max_pixels=self._max_side * self._max_side,
            samples=(1, 4),
            seed=(0, SEED_MAX),
            steps=(1, 150),
            default_steps=steps or 30,
            cfg_scale=(0.0, 30.0),
            default_cfg_scale=cfg if cfg is not None else 7.0,
            samplers=catalog.samplers if catalog else (),
            schedulers=catalog.schedulers if catalog else (),
            models=catalog.checkpoints if catalog else (),
            default_model=default_model,
            upscale_factors=UPSCALE_FACTORS,
            max_upscale_output_pixels=8192 * 8192,
            unsupported_options=frozenset({"style"}),
        )

    # -- generation --

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        started = time.monotonic()
        if self._client is None:
            raise BackendUnavailable(log_detail="comfyui backend used before start()")
        if self._catalog is None:
            await call_with_retries(self._learn, self._policy, backend=self.name, operation="object_info")
        workflow = self._usable().get(request.operation)
        if workflow is None:
            raise UnsupportedOption(f"/{request.operation.value} isn't available on this backend.")
        values, plan = await self._values(request, workflow)
        first_seed = (
            request.seed if request.seed is not None else int.from_bytes(uuid.uuid4().bytes[:4], "big")
        )
        runs = 1 if request.operation is Operation.UPSCALE else request.samples
        images: list[GeneratedImage] = []
        for index in range(runs):
            seed = (first_seed + index) % (SEED_MAX + 1)
            graph = workflow.fill({**values, "seed": seed})
            reporter = _Reporter(progress, index, runs)

            async def attempt(graph: dict[str, Any] = graph, reporter: _Reporter = reporter) -> list[bytes]:
                return await self._run(graph, workflow.output, reporter)

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

    async def _values(self, request: GenerationRequest, workflow: Workflow) -> tuple[dict[str, Any], Any]:
        """What the mapping's keys get for this request (uploads done), and the outpaint plan if any."""
        assert self._client is not None
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
            return values, None
        init = request.init_image
        if init is None:
            raise InvalidRequest(f"/{op.value} needs an image: please attach one.")
        tag = uuid.uuid4().hex[:12]
        plan = None
        if op is Operation.UPSCALE:
            if request.upscale_factor not in UPSCALE_FACTORS:
                raise UnsupportedOption(f"ComfyUI upscales by 2 or 4, not {request.upscale_factor}.")
            catalog = self._catalog
            model = self._upscale_model or (
                catalog.upscale_models[0] if catalog and catalog.upscale_models else None
            )
            values = {"upscale_model": model, "scale_by": request.upscale_factor / workflow.native_scale}
            values["image"] = await self._client.upload_image(init.png, f"easel-{tag}.png")
            return values, None
        if op is Operation.OUTPAINT:
            assert request.outpaint is not None
            plan = plan_outpaint(
                init.width, init.height, request.outpaint, size_multiple=8, max_side=self._max_side
            )
            canvas, mask = await prepare_outpaint(init.png, plan)
            values["image"] = await self._client.upload_image(canvas, f"easel-{tag}.png")
            values["mask"] = await self._client.upload_image(mask, f"easel-{tag}-mask.png")
            return values, plan
        values["image"] = await self._client.upload_image(init.png, f"easel-{tag}.png")
        if op is Operation.REMIX:
            strength = request.strength if request.strength is not None else self._limits.default_strength
            values["denoise"] = round(1.0 - strength, 4)
        if op is Operation.INPAINT:
            source = request.mask_source or (MaskSource.WHITE if request.mask_image else MaskSource.ALPHA)
            mask = await comfy_mask(init, request.mask_image, source)
            values["mask"] = await self._client.upload_image(mask, f"easel-{tag}-mask.png")
        return values, plan

    async def _run(self, graph: dict[str, Any], output: str, reporter: _Reporter) -> list[bytes]:
        client = self._client
        assert client is not None
        async with client.events() as events:
            prompt_id = await client.submit(graph)
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
        if self._client is not None:
            try:
                await self._client.interrupt()
            except (TransientError, BackendUnavailable):
                log.warning("comfyui.interrupt_failed")

    # -- easel check --

    async def check(self) -> list[CheckResult]:
        """The host answers ``/object_info``; each workflow's nodes exist there; checkpoints listed."""
        try:
            catalog = await self._learn()
        except TransientError as exc:
            return [CheckResult("comfyui host", False, f"cannot reach {self._url}: {exc.detail}")]
        lines = [
            CheckResult("comfyui host", True, f"{self._url} answers, {len(catalog.node_classes)} node types")
        ]
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
        else:
            lines.append(
                CheckResult(
                    "comfyui checkpoints",
                    True,
                    f"{len(catalog.checkpoints)}, default {self._limits.default_model}",
                )
            )
        return lines


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
