"""Stability AI REST v1 backend: text-to-image, image-to-image, masking (inpaint) and upscale.

Usage::

    backend = StabilityV1Backend(api_key, organization="org-123")
    await backend.start()                    # learns engines; never fails on a network outage
    result = await backend.generate(request, progress)
    await backend.close()

One :class:`aiohttp.ClientSession` serves every job (pass your own with ``session=``,
e.g. in tests; it is then left open on :meth:`close`). Transient failures (429 with
``Retry-After``, 5xx, connection errors, timeouts) are retried with the shared policy in
:mod:`services.backends.retry` (the HTTP plumbing both Stability backends share lives in
:mod:`services.backends.stability.http`); what is left is mapped onto :mod:`services.errors`:

==========================  ==================================================================
Stability says              easel raises
==========================  ==================================================================
400 / other 4xx             ``BackendRejected`` with the API's message (one line, for users)
401 / 402 / 403             ``BackendMisconfigured`` (operator warning logged, polite default)
404 for a chosen model      ``InvalidRequest`` naming the model
404 for the configured one  ``BackendRejected`` naming the engine (operator warning logged)
429 / 5xx / network         retried, then ``BackendUnavailable``
every image filtered        ``ContentFiltered`` (some filtered: those come back empty, refunded)
every image ERROR           ``BackendUnavailable``
==========================  ==================================================================

The API key lives in a :class:`pydantic.SecretStr` and only ever in the ``Authorization``
header: it is absent from ``repr``, logs and every exception message.
"""

from __future__ import annotations

import logging
import time

import aiohttp
from pydantic import SecretStr

from services.backends.base import BackendLimits, ProgressCallback
from services.backends.rate_limit import STABILITY_BUDGET, RateBudget, RateLimiter
from services.backends.stability.api import V1_DIALECT, Reply, describe
from services.backends.stability.checks import check_balance, probe_api
from services.backends.stability.http import DEFAULT_HOST, EASEL_VERSION, StabilityHttp
from services.backends.stability.progress import report_progress
from services.backends.stability.v1_answers import decode_artifacts
from services.backends.stability.v1_engines import is_generation_engine, limits_for_engine, parse_engines
from services.backends.stability.v1_requests import (
    EngineChoice,
    V1Call,
    image_to_image,
    masking,
    text_to_image,
    upscale,
)
from services.backends.stability.v1_wire import DEFAULT_ENGINE
from services.errors import (
    BackendError,
    BackendRejected,
    BackendUnavailable,
    ContentFiltered,
    InvalidRequest,
    UnsupportedOption,
)
from services.offload import run_cpu
from services.types import (
    CheckResult,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    Operation,
    Progress,
)

__all__ = ["DEFAULT_HOST", "EASEL_VERSION", "StabilityV1Backend", "limits_for_engine"]

log = logging.getLogger(__name__)


class StabilityV1Backend:
    """easel's :class:`~services.backends.base.Backend` for Stability AI's REST v1 API."""

    name = "stability"

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        host: str = DEFAULT_HOST,
        organization: str | None = None,
        engine: str = DEFAULT_ENGINE,
        client_id: str = "easel",
        client_version: str = EASEL_VERSION,
        timeout_s: float = 120,
        max_attempts: int = 4,
        session: aiohttp.ClientSession | None = None,
        retry_base_delay_s: float = 1.0,
        connect_timeout_s: float = 10,
        check_timeout_s: float = 15,
        limiter: RateLimiter | None = None,
        budget: RateBudget = STABILITY_BUDGET,
    ) -> None:
        self._http = StabilityHttp(
            api_key,
            host=host,
            dialect=V1_DIALECT,
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
        self._engine = engine
        # start() runs while the bot boots: a black-holed host must not hold it up for long
        self._start_timeout = aiohttp.ClientTimeout(total=min(5, self._http.check_timeout.total or 5))
        self._engines: tuple[str, ...] = ()  # from engines/list; empty until learned
        self._limits = limits_for_engine(engine)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(host={self._http.base_url!r}, engine={self._engine!r}, "
            f"organization={self._http.organization!r})"
        )

    # -- lifecycle --

    @property
    def limits(self) -> BackendLimits:
        return self._limits

    async def start(self) -> None:
        """Open the session and learn the engines. Logs (never raises) when the API is unreachable."""
        self._http.ensure_session()
        try:
            reply = await self._http.request("GET", "/v1/engines/list", client_timeout=self._start_timeout)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "stability.start_offline", extra={"host": self._http.base_url, "reason": describe(exc)}
            )
            return
        if reply.status != 200:
            self._http.warn_status(reply, "engines/list")
            return
        try:
            engines = parse_engines(reply.body)
        except ValueError as exc:
            log.warning("stability.engines_unreadable", extra={"reason": str(exc)})
            return
        self._learn_engines(engines)
        if self._engine not in engines:
            log.warning(
                "stability.engine_missing",
                extra={
                    "engine": self._engine,
                    "detail": f"Stability does not offer the configured engine {self._engine!r} to this key",
                },
            )
        log.info("stability.started", extra={"engine": self._engine, "engines": len(engines)})

    async def close(self) -> None:
        await self._http.close()

    async def cancel(self) -> None:
        """Stability v1 has no way to interrupt a generation: nothing to do."""

    # -- generation --

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        call = await self._prepare(request)
        log.info(
            "stability.request",
            extra={"operation": call.operation, "engine": call.engine, "samples": request.samples},
        )
        started = time.monotonic()
        await report_progress(progress, Progress(fraction=0.0, message="Sent to Stability AI"))
        reply = await self._http.exchange(
            call.operation,
            "POST",
            call.path,
            json_body=call.json_body,
            form=call.form if call.json_body is None else None,
        )
        if reply.status != 200:
            raise self._error_for(reply, call)
        result = await self._result_from(reply, call)
        await report_progress(progress, Progress(fraction=1.0, message="Done"))
        log.info(
            "stability.done",
            extra={
                "operation": call.operation,
                "engine": call.engine,
                "images": len(result.images),
                "filtered": sum(i.finish_reason is not FinishReason.SUCCESS for i in result.images),
                "duration_s": round(time.monotonic() - started, 3),
            },
        )
        return result

    async def _prepare(self, request: GenerationRequest) -> V1Call:
        match request.operation:
            case Operation.IMAGINE:
                return text_to_image(request, self._engine_for(request))
            case Operation.REMIX:
                return await image_to_image(request, self._engine_for(request))
            case Operation.INPAINT:
                return await masking(request, self._engine_for(request))
            case Operation.UPSCALE:
                return upscale(request, self._limits.max_upscale_output_pixels)
            case _:
                raise UnsupportedOption(f"Stability AI (v1) cannot {request.operation.value} images.")

    def _engine_for(self, request: GenerationRequest) -> EngineChoice:
        """The engine to call, the user's model choice (if any) and that engine's limits."""
        model = request.model
        if not model or model == self._engine:
            return EngineChoice(self._engine, None, self._limits)
        if not is_generation_engine(model) or (self._engines and model not in self._limits.models):
            raise InvalidRequest(
                f"The model “{model}” is not available. Choose one of: {', '.join(self._limits.models)}."
            )
        return EngineChoice(model, model, limits_for_engine(model, self._engines))

    async def _result_from(self, reply: Reply, call: V1Call) -> GenerationResult:
        try:
            images = await run_cpu(decode_artifacts, reply.body, call.expected_size)
        except (ValueError, TypeError) as exc:
            raise BackendUnavailable(
                log_detail=f"{call.operation}: unreadable response from Stability: {exc}"
            ) from None
        reasons = [i.finish_reason for i in images]
        if FinishReason.SUCCESS not in reasons:
            detail = f"{call.operation}: no usable image ({', '.join(r.value for r in reasons)})"
            if FinishReason.CONTENT_FILTERED in reasons:
                raise ContentFiltered(log_detail=detail)
            raise BackendUnavailable(log_detail=detail)
        return GenerationResult(images=images, backend=self.name, model=call.engine)

    def _error_for(self, reply: Reply, call: V1Call) -> BackendError | InvalidRequest:
        where = f"{call.operation} on {call.engine}"
        if reply.status == 404:  # v1 names the engine in the path: the model is what is missing
            detail = f"{where}: {self._http.api_error(reply).detail(reply.status)}"
            if call.user_model is not None:
                return InvalidRequest(f"The model “{call.user_model}” is not available.", log_detail=detail)
            log.warning(
                "stability.engine_missing",
                extra={"engine": call.engine, "detail": f"Stability does not know engine {call.engine!r}"},
            )
            return BackendRejected(
                f"Stability AI does not offer the engine “{call.engine}” to this account.", log_detail=detail
            )
        return self._http.error_for(reply, call.operation, where=where)

    # -- checks --

    async def check(self) -> list[CheckResult]:
        """``easel check``: API reachable + key accepted, engine offered, credits left."""
        api, engine, credits = "stability api", "stability engine", "stability credits"

        def api_failed(result: CheckResult, why: str) -> list[CheckResult]:
            return [
                result,
                CheckResult(engine, False, f"not checked: {why}"),
                CheckResult(credits, False, f"not checked: {why}"),
            ]

        probe = await probe_api(self._http, api, "/v1/engines/list")
        if probe.reply is None:
            return api_failed(probe.result, probe.skipped)
        try:
            engines = parse_engines(probe.reply.body)
        except ValueError as exc:
            unreadable = f"unreadable engine list from {self._http.base_url}: {exc}"
            return api_failed(CheckResult(api, False, unreadable), "API check failed")
        self._learn_engines(engines)
        results = [probe.result]
        if self._engine in engines:
            results.append(CheckResult(engine, True, f"{self._engine} available"))
        else:
            offered = ", ".join(e for e in engines if is_generation_engine(e)) or "none"
            results.append(CheckResult(engine, False, f"{self._engine} is not offered; available: {offered}"))
        results.append(await check_balance(self._http, credits))
        return results

    # -- engines --

    def _learn_engines(self, engines: tuple[str, ...]) -> None:
        self._engines = engines
        self._limits = limits_for_engine(self._engine, engines)
