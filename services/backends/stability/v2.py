"""Stability AI's current API (v2beta Stable Image): generate, edit, upscale — easel's second Stability backend.

Usage::

    backend = StabilityV2Backend(api_key, model="core")      # or "ultra", "sd3.5-large", …
    await backend.start()
    result = await backend.generate(request, progress)
    credits = await backend.balance()
    await backend.close()

What each easel operation calls (one image per HTTP request: ``samples=3`` sends three
requests at once, each paced by the shared :mod:`~services.backends.rate_limit` limiter):

==========  ===============================================================================
imagine     ``/generate/core`` · ``/generate/ultra`` · ``/generate/sd3`` (``model=sd3.5-…``)
remix       ``/generate/ultra`` or ``/generate/sd3`` with ``mode=image-to-image``
inpaint     ``/edit/inpaint`` (mask, or the image's transparent pixels; ``grow_mask``)
outpaint    ``/edit/outpaint`` (``left/right/up/down``; the original's pixels are pasted back)
replace     ``/edit/search-and-replace`` (``search_prompt`` from ``extras``)
cutout      ``/edit/remove-background``
upscale     ``/upscale/fast`` (4×, default) · ``/upscale/conservative`` ·
            ``/upscale/creative`` (asynchronous: submit, then poll ``/v2beta/results/{id}``)
==========  ===============================================================================

Strength: easel's ``strength`` is how much of the source to *keep* (Stability v1's
``image_strength``); v2's ``strength`` is how much to *change* (0 = the input unchanged),
so ``1 - strength`` is sent.

Backend-specific values travel in ``GenerationRequest.extras``: ``search_prompt``,
``grow_mask`` (inpaint 0–100, replace 0–20), ``upscale_mode`` (fast | conservative |
creative), ``creativity`` (outpaint 0–1, conservative 0.2–0.5, creative 0.1–0.5).

Errors, one readable line each (the API's ``errors`` list joined):

==================================  ==================================================
Stability says                      easel raises
==================================  ==================================================
400 / 422                           ``BackendRejected`` with the API's words
403 ``content_moderation``          that image ``CONTENT_FILTERED`` (all: ``ContentFiltered``)
200 ``finish-reason: CONTENT_FILTERED``  likewise
413                                 ``BackendRejected`` (inputs are compressed first, so rare)
401 / 402 / other 403 / 404         ``BackendMisconfigured`` (operator warning logged)
429 / 5xx / network                 retried (everybody pauses on 429), then ``BackendUnavailable``
==================================  ==================================================

Session, headers, pacing, retries and this mapping are shared with the v1 backend in
:mod:`~services.backends.stability.http` (``V2_DIALECT`` says where v2 differs).

Inside the package: :mod:`~.models` (the model table and limits), :mod:`~.v2_options` (option
checks), :mod:`~.v2_requests` and :mod:`~.v2_edits` (request builders), :mod:`~.fitting`
(images and bodies within the API's limits), :mod:`~.v2_samples` (one request per image),
:mod:`~.v2_upscale` (the asynchronous creative upscale).

Asynchronous upscales survive a restart: ``generate(..., on_resume_token=save)`` is called
with the generation id right after the submit; a later ``generate(same_request,
resume_token=saved)`` polls that id instead of paying for a second upscale (if Stability
no longer has it, the job is submitted afresh).

Images are checked against each endpoint's rules before sending (too small or too
elongated: a clear :class:`InvalidRequest`; more pixels than an edit takes: scaled down)
and bodies over 10 MiB are re-encoded (JPEG, or WebP when there is transparency) or
scaled down — nothing known to be too big is ever sent.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import replace

import aiohttp
from pydantic import SecretStr

from services.backends.base import BackendLimits, ProgressCallback, ResumableBackend, ResumeTokenCallback
from services.backends.rate_limit import STABILITY_BUDGET, RateBudget, RateLimiter
from services.backends.stability.api import V2_DIALECT
from services.backends.stability.checks import credits_result, probe_api
from services.backends.stability.http import DEFAULT_HOST, EASEL_VERSION, StabilityHttp
from services.backends.stability.models import (
    DEFAULT_MODEL,
    MODELS,
    known_models,
    limits_for_model,
    unsupported_options,
)
from services.backends.stability.v2_edits import upscale_call
from services.backends.stability.v2_options import ModelOptions, require_single, upscale_mode
from services.backends.stability.v2_requests import prepare
from services.backends.stability.v2_samples import run_samples
from services.backends.stability.v2_upscale import CreativeUpscale
from services.errors import BackendUnavailable
from services.outpaint import plan_outpaint, restore_original
from services.types import (
    CheckResult,
    FinishReason,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Operation,
)

__all__ = [
    "DEFAULT_MODEL",
    "ResumeTokenCallback",
    "StabilityV2Backend",
    "known_models",
    "limits_for_model",
    "unsupported_options",
]

log = logging.getLogger(__name__)


class StabilityV2Backend(ResumableBackend):
    """easel's :class:`~services.backends.base.Backend` for Stability AI's v2beta Stable Image API."""

    name = "stability"

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        host: str = DEFAULT_HOST,
        model: str = DEFAULT_MODEL,
        models: Sequence[str] | None = None,
        organization: str | None = None,
        client_id: str = "easel",
        client_version: str = EASEL_VERSION,
        timeout_s: float = 120,
        max_attempts: int = 4,
        retry_base_delay_s: float = 1.0,
        connect_timeout_s: float = 10,
        check_timeout_s: float = 15,
        poll_interval_s: float = 10.0,
        max_poll_s: float = 900.0,
        limiter: RateLimiter | None = None,
        budget: RateBudget = STABILITY_BUDGET,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        http = StabilityHttp(  # validates the key first
            api_key,
            host=host,
            dialect=V2_DIALECT,
            organization=organization,
            client_id=client_id,
            client_version=client_version,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            check_timeout_s=check_timeout_s,
            max_attempts=max_attempts,
            retry_base_delay_s=retry_base_delay_s,
            session=session,
            limiter=limiter,
            budget=budget,
        )
        self._limits = limits_for_model(model, models)  # raises ValueError for an unknown model
        self._http = http
        self._model = model
        self._options = ModelOptions(self._limits, model)
        self._upscale = CreativeUpscale(http, poll_interval_s=poll_interval_s, max_poll_s=max_poll_s)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(host={self._http.base_url!r}, model={self._model!r}, "
            f"organization={self._http.organization!r})"
        )

    # -- lifecycle --

    @property
    def limits(self) -> BackendLimits:
        return self._limits

    @property
    def model(self) -> str:
        return self._model

    async def start(self) -> None:
        """Open the session. v2beta has no model list to learn, so nothing is sent."""
        self._http.ensure_session()
        log.info("stability.started", extra={"api": "v2beta", "model": self._model})

    async def close(self) -> None:
        await self._http.close()

    async def cancel(self) -> None:
        """Stability cannot interrupt a generation: nothing to do (the job task is cancelled)."""

    # -- generation --

    async def generate_resumable(
        self,
        request: GenerationRequest,
        progress: ProgressCallback | None,
        *,
        resume_token: str | None,
        on_resume_token: ResumeTokenCallback | None,
    ) -> GenerationResult:
        """Run one job; see the module docstring for ``resume_token`` / ``on_resume_token``."""
        started = time.monotonic()
        op = request.operation
        if op is Operation.UPSCALE and upscale_mode(request) == "creative":
            require_single(request, "/upscale")
            call = await upscale_call(request, "creative", self._options)
            log.info("stability.request", extra={"operation": call.operation, "samples": 1})
            image = await self._upscale.run(call, progress, resume_token, on_resume_token)
            images: tuple[GeneratedImage, ...] = (image,)
        else:
            calls = await prepare(request, self._options)
            log.info(
                "stability.request",
                extra={"operation": calls[0].operation, "model": calls[0].model, "samples": len(calls)},
            )
            images = await run_samples(self._http, calls, progress)
            if op is Operation.OUTPAINT:
                images = await self._paste_back(images, request)
            call = calls[0]
        result = GenerationResult(images=images, backend=self.name, model=call.model)
        log.info(
            "stability.done",
            extra={
                "operation": call.operation,
                "model": call.model,
                "images": len(images),
                "filtered": sum(i.finish_reason is not FinishReason.SUCCESS for i in images),
                "duration_s": round(time.monotonic() - started, 3),
            },
        )
        return result

    # -- outpaint --

    async def _paste_back(
        self, images: tuple[GeneratedImage, ...], request: GenerationRequest
    ) -> tuple[GeneratedImage, ...]:
        """Outpaint keeps the original's exact pixels: paste them back over what came back."""
        init, margins = request.init_image, request.outpaint
        assert init is not None and margins is not None
        plan = plan_outpaint(init.width, init.height, margins, size_multiple=1, max_side=1 << 30)
        out: list[GeneratedImage] = []
        for img in images:
            if img.finish_reason is FinishReason.SUCCESS:
                png = await restore_original(img.png, init.png, plan)
                w, h = plan.output_size
                img = replace(img, png=png, width=w, height=h)
            out.append(img)
        return tuple(out)

    # -- account --

    async def balance(self) -> float:
        """The account's credits (``GET /v1/user/balance``), for ``easel check`` and operators.

        Raises ``BackendMisconfigured`` (key rejected) or ``BackendUnavailable``.
        """
        reply = await self._http.exchange("balance", "GET", "/v1/user/balance", accept="application/json")
        if reply.status != 200:
            raise self._http.error_for(reply, "balance")
        try:
            credits = float(json.loads(reply.body)["credits"])
        except (ValueError, KeyError, TypeError):
            raise BackendUnavailable(log_detail="balance: unreadable answer") from None
        if not math.isfinite(credits):
            raise BackendUnavailable(log_detail="balance: not a number")
        return credits

    async def check(self) -> list[CheckResult]:
        """``easel check``: API reachable + key accepted, model known, credits left."""
        api, model, credits_name = "stability api", "stability model", "stability credits"
        spec = MODELS[self._model]
        model_line = CheckResult(model, True, f"{self._model} via {spec.path} (v2beta)")
        probe = await probe_api(self._http, api, "/v1/user/balance")
        if probe.reply is None:
            return [
                probe.result,
                model_line,
                CheckResult(credits_name, False, f"not checked: {probe.skipped}"),
            ]
        return [probe.result, model_line, credits_result(credits_name, probe.reply.body)]
