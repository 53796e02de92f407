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

import base64
import binascii
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from pydantic import SecretStr

from services.backends.base import BackendLimits, ProgressCallback
from services.backends.rate_limit import RateLimiter
from services.backends.stability.http import (
    DEFAULT_HOST,
    EASEL_VERSION,
    V1_DIALECT,
    Reply,
    StabilityHttp,
    describe,
    parse_ratio,
    report_progress,
)
from services.backends.stability.v1_wire import (
    CFG_SCALE_RANGE,
    DEFAULT_ENGINE,
    LEGACY_MAX_PIXELS,
    LEGACY_SIZE_MULTIPLE,
    LEGACY_STEPS,
    MAX_PROMPT_CHARS,
    MAX_UPSCALE_OUTPUT_PIXELS,
    SAMPLERS,
    SAMPLES_RANGE,
    SDXL_ENGINE_PREFIX,
    SDXL_SIZES,
    SDXL_STEPS,
    SEED_RANGE,
    STYLE_PRESETS,
    UPSCALE_ENGINE,
    MaskSourceWire,
    TextPrompt,
    TextToImageBody,
)
from services.errors import (
    BackendError,
    BackendRejected,
    BackendUnavailable,
    ContentFiltered,
    InvalidRequest,
    UnsupportedOption,
)
from services.images import (
    ensure_transparency_async,
    fit_to_backend_async,
    image_size,
    prepare_mask_async,
    target_size,
)
from services.offload import run_cpu
from services.types import (
    CheckResult,
    FinishReason,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    InputImage,
    MaskSource,
    Operation,
    Progress,
)

__all__ = ["DEFAULT_HOST", "EASEL_VERSION", "StabilityV1Backend", "limits_for_engine"]

log = logging.getLogger(__name__)

_OPERATIONS = frozenset({Operation.IMAGINE, Operation.REMIX, Operation.INPAINT, Operation.UPSCALE})
_EXTRA_OPTIONS = frozenset({"init_image_mode", "step_schedule_start", "step_schedule_end"})
_MASK_SOURCES: dict[MaskSource, MaskSourceWire] = {
    MaskSource.WHITE: "MASK_IMAGE_WHITE",
    MaskSource.BLACK: "MASK_IMAGE_BLACK",
    MaskSource.ALPHA: "INIT_IMAGE_ALPHA",
}


# --- limits ------------------------------------------------------------------------------------


def is_sdxl_engine(engine_id: str) -> bool:
    """SDXL 1024 engines take a closed list of sizes and 10–50 steps."""
    return engine_id.startswith(SDXL_ENGINE_PREFIX)


def is_generation_engine(engine_id: str) -> bool:
    """Engines that diffuse images (models users may pick), as opposed to upscalers."""
    return not engine_id.startswith("esrgan-") and "upscaler" not in engine_id


def limits_for_engine(engine_id: str, engines: Sequence[str] = ()) -> BackendLimits:
    """What Stability v1 accepts with ``engine_id`` as the default model; no network needed.

    ``engines`` are the ids ``GET /v1/engines/list`` returned (upscalers are left out of
    ``models``); without them the configured engine is the only model.
    """
    models = tuple(e for e in engines if is_generation_engine(e)) or (engine_id,)
    base = BackendLimits(
        operations=_OPERATIONS,
        samples=SAMPLES_RANGE,
        seed=SEED_RANGE,
        cfg_scale=CFG_SCALE_RANGE,
        style_presets=STYLE_PRESETS,
        samplers=SAMPLERS,
        models=models,
        default_model=engine_id,
        upscale_factors=(2,),
        max_upscale_output_pixels=MAX_UPSCALE_OUTPUT_PIXELS,
        max_prompt_chars=MAX_PROMPT_CHARS,
        supports_negative_weights=True,
        options=_EXTRA_OPTIONS,
    )
    if is_sdxl_engine(engine_id):
        return replace(
            base,
            default_size=(1024, 1024),
            allowed_sizes=SDXL_SIZES,
            min_side=min(min(s) for s in SDXL_SIZES),
            max_side=max(max(s) for s in SDXL_SIZES),
            max_pixels=max(w * h for w, h in SDXL_SIZES),
            steps=SDXL_STEPS,
        )
    # 512/768-class engines: any multiple of 64 with at most 1,048,576 pixels and at least
    # 262,144 (589,824 for 768 engines).
    min_side = 320
    side = 768 if "768" in engine_id else 512
    return replace(
        base,
        default_size=(side, side),
        allowed_sizes=None,
        min_side=min_side,
        max_side=(LEGACY_MAX_PIXELS // min_side) // LEGACY_SIZE_MULTIPLE * LEGACY_SIZE_MULTIPLE,
        size_multiple=LEGACY_SIZE_MULTIPLE,
        max_pixels=LEGACY_MAX_PIXELS,
        min_pixels=side * side,
        steps=LEGACY_STEPS,
    )


def _sizes_text(sizes: Sequence[tuple[int, int]]) -> str:
    return ", ".join(f"{w}x{h}" for w, h in sizes)


# --- responses ---------------------------------------------------------------------------------


def _size_of(png: bytes, fallback: tuple[int, int]) -> tuple[int, int]:
    """Read from the image header (nothing decoded); ``fallback`` when there is no image."""
    try:
        return image_size(png)
    except InvalidRequest:
        return fallback


def _decode_artifacts(body: bytes, expected_size: tuple[int, int]) -> tuple[GeneratedImage, ...]:
    """Parse a generation response (raises ValueError when it is not what the API documents).

    Images the filter withheld (or that failed) come back with an empty ``png`` so nobody
    can publish them; their size is the one that was asked for.
    """
    payload = json.loads(body)
    artifacts = payload.get("artifacts") if isinstance(payload, dict) else None
    if not isinstance(artifacts, list) or not artifacts:
        raise ValueError("response has no artifacts")
    images: list[GeneratedImage] = []
    for item in artifacts:
        if not isinstance(item, dict):
            raise ValueError("artifact is not an object")
        raw_reason = item.get("finishReason", "SUCCESS")
        reason = (
            FinishReason(raw_reason) if raw_reason in ("SUCCESS", "CONTENT_FILTERED") else FinishReason.ERROR
        )
        png = b""
        if reason is FinishReason.SUCCESS:
            try:
                png = base64.b64decode(item["base64"], validate=True)
            except (KeyError, TypeError, binascii.Error) as exc:
                raise ValueError(f"artifact image is missing or not base64: {exc}") from None
        seed = item.get("seed", 0)
        width, height = _size_of(png, expected_size)
        images.append(
            GeneratedImage(
                png=png,
                seed=int(seed) if isinstance(seed, int | float) and math.isfinite(seed) else 0,
                width=width,
                height=height,
                finish_reason=reason,
            )
        )
    return tuple(images)


# --- requests ----------------------------------------------------------------------------------


def _form_number(value: float) -> str:
    """Numbers in multipart fields: ``7``, ``0.35``, ``-1`` (what the API's examples send)."""
    return f"{value:g}"


@dataclass(frozen=True, slots=True)
class _File:
    field: str
    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class _Call:
    """One generation call, ready to send (and to re-send on retries)."""

    operation: str  # "text-to-image", "image-to-image", "masking", "upscale"
    engine: str
    path: str
    expected_size: tuple[int, int]
    user_model: str | None = None  # the model the user chose, when it differs from the default
    json_body: TextToImageBody | None = None
    fields: tuple[tuple[str, str], ...] = ()
    files: tuple[_File, ...] = ()

    def form(self) -> aiohttp.FormData:
        form = aiohttp.FormData()
        for file in self.files:
            form.add_field(file.field, file.data, filename=file.filename, content_type="image/png")
        for name, value in self.fields:
            form.add_field(name, value)
        return form


# --- the backend -------------------------------------------------------------------------------


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
            engines = self._parse_engines(reply.body)
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

    async def _prepare(self, request: GenerationRequest) -> _Call:
        match request.operation:
            case Operation.IMAGINE:
                return self._text_to_image(request)
            case Operation.REMIX:
                return await self._image_to_image(request)
            case Operation.INPAINT:
                return await self._masking(request)
            case Operation.UPSCALE:
                return self._upscale(request)
            case _:
                raise UnsupportedOption(f"Stability AI (v1) cannot {request.operation.value} images.")

    def _engine_for(self, request: GenerationRequest) -> tuple[str, str | None, BackendLimits]:
        """The engine to call, the user's model choice (if any) and that engine's limits."""
        model = request.model
        if not model or model == self._engine:
            return self._engine, None, self._limits
        if not is_generation_engine(model) or (self._engines and model not in self._limits.models):
            raise InvalidRequest(
                f"The model “{model}” is not available. Choose one of: {', '.join(self._limits.models)}."
            )
        return model, model, limits_for_engine(model, self._engines)

    @staticmethod
    def _text_prompts(request: GenerationRequest) -> list[TextPrompt]:
        prompts = [TextPrompt(text=p.text, weight=float(p.weight)) for p in request.prompts if p.text.strip()]
        if not prompts:
            raise InvalidRequest("Stability AI needs a text prompt: describe the picture you want.")
        return prompts

    def _text_to_image(self, request: GenerationRequest) -> _Call:
        engine, user_model, limits = self._engine_for(request)
        width, height = self._size_for(request, limits)
        body: TextToImageBody = {
            "text_prompts": self._text_prompts(request),
            "width": width,
            "height": height,
            "samples": request.samples,
        }
        if request.seed:
            body["seed"] = request.seed
        if request.steps is not None:
            body["steps"] = request.steps
        if request.cfg_scale is not None:
            body["cfg_scale"] = request.cfg_scale
        if request.sampler:
            body["sampler"] = request.sampler
        if request.style_preset:
            body["style_preset"] = request.style_preset
        return _Call(
            operation="text-to-image",
            engine=engine,
            path=f"/v1/generation/{engine}/text-to-image",
            expected_size=(width, height),
            user_model=user_model,
            json_body=body,
        )

    @staticmethod
    def _size_for(request: GenerationRequest, limits: BackendLimits) -> tuple[int, int]:
        ratio = parse_ratio(request.aspect_ratio)
        if request.width is None and request.height is None and ratio is not None:
            width, height = target_size(round(ratio * 1024), 1024, limits)
        else:
            width = request.width or limits.default_size[0]
            height = request.height or limits.default_size[1]
        if limits.allowed_sizes is not None and (width, height) not in limits.allowed_sizes:
            raise InvalidRequest(
                f"{width}x{height} is not a size this model can make. "
                f"Choose one of: {_sizes_text(limits.allowed_sizes)}."
            )
        return width, height

    @staticmethod
    def _multipart_prompts(request: GenerationRequest) -> list[tuple[str, str]]:
        fields: list[tuple[str, str]] = []
        for i, prompt in enumerate(StabilityV1Backend._text_prompts(request)):
            fields.append((f"text_prompts[{i}][text]", prompt["text"]))
            fields.append((f"text_prompts[{i}][weight]", _form_number(prompt["weight"])))
        return fields

    @staticmethod
    def _optional_fields(request: GenerationRequest) -> list[tuple[str, str]]:
        fields = [("samples", str(request.samples))]
        if request.seed:
            fields.append(("seed", str(request.seed)))
        if request.steps is not None:
            fields.append(("steps", str(request.steps)))
        if request.cfg_scale is not None:
            fields.append(("cfg_scale", _form_number(request.cfg_scale)))
        if request.sampler:
            fields.append(("sampler", request.sampler))
        if request.style_preset:
            fields.append(("style_preset", request.style_preset))
        return fields

    @staticmethod
    def _require_image(image: InputImage | None, command: str) -> InputImage:
        if image is None:
            raise InvalidRequest(f"/{command} needs an image to work on.")
        return image

    @staticmethod
    async def _fitted(image: InputImage, limits: BackendLimits) -> InputImage:
        """The init image as this engine takes it (SDXL: one of its sizes); usually itself.

        Commands normally fit images already; this keeps the backend safe when they did not.
        """
        fitted = await fit_to_backend_async(image, limits)
        if fitted is not image:
            log.info(
                "stability.image_refit",
                extra={"from": f"{image.width}x{image.height}", "to": f"{fitted.width}x{fitted.height}"},
            )
        return fitted

    async def _image_to_image(self, request: GenerationRequest) -> _Call:
        engine, user_model, limits = self._engine_for(request)
        init = self._require_image(request.init_image, "remix")
        fields = self._multipart_prompts(request) + self._init_mode_fields(request, limits)
        fields += self._optional_fields(request)
        fitted = await self._fitted(init, limits)
        return _Call(
            operation="image-to-image",
            engine=engine,
            path=f"/v1/generation/{engine}/image-to-image",
            expected_size=(fitted.width, fitted.height),
            user_model=user_model,
            fields=tuple(fields),
            files=(_File("init_image", "init_image.png", fitted.png),),
        )

    @staticmethod
    def _init_mode_fields(request: GenerationRequest, limits: BackendLimits) -> list[tuple[str, str]]:
        extras = dict(request.extras)
        mode = extras.get("init_image_mode", "IMAGE_STRENGTH").strip().upper()
        if mode == "IMAGE_STRENGTH":
            strength = request.strength if request.strength is not None else limits.default_strength
            return [("init_image_mode", "IMAGE_STRENGTH"), ("image_strength", _form_number(float(strength)))]
        if mode != "STEP_SCHEDULE":
            raise InvalidRequest("init_image_mode must be IMAGE_STRENGTH or STEP_SCHEDULE.")
        fields = [("init_image_mode", "STEP_SCHEDULE")]
        start = _extra_fraction(extras, "step_schedule_start")
        if start is None and request.strength is not None:
            start = 1.0 - request.strength  # the API's own relation between the two modes
        if start is not None:
            fields.append(("step_schedule_start", _form_number(start)))
        end = _extra_fraction(extras, "step_schedule_end")
        if end is not None:
            fields.append(("step_schedule_end", _form_number(end)))
        return fields

    async def _masking(self, request: GenerationRequest) -> _Call:
        engine, user_model, limits = self._engine_for(request)
        init = self._require_image(request.init_image, "inpaint")
        mask = request.mask_image
        source = request.mask_source or (MaskSource.WHITE if mask is not None else MaskSource.ALPHA)
        if source is not MaskSource.ALPHA and mask is None:
            raise InvalidRequest("Inpainting needs a mask image (white = repaint, or use mask source black).")
        fields = [("mask_source", _MASK_SOURCES[source]), *self._multipart_prompts(request)]
        fields += self._optional_fields(request)
        if source is MaskSource.ALPHA:
            await ensure_transparency_async(init)
        fitted = await self._fitted(init, limits)
        files = [_File("init_image", "init_image.png", fitted.png)]
        if source is not MaskSource.ALPHA and mask is not None:
            if (mask.width, mask.height) != (fitted.width, fitted.height):
                mask = await prepare_mask_async(mask, init, fitted)  # same shape rule, same crop
            files.append(_File("mask_image", "mask_image.png", mask.png))
        return _Call(
            operation="masking",
            engine=engine,
            path=f"/v1/generation/{engine}/image-to-image/masking",
            expected_size=(fitted.width, fitted.height),
            user_model=user_model,
            fields=tuple(fields),
            files=tuple(files),
        )

    def _upscale(self, request: GenerationRequest) -> _Call:
        image = self._require_image(request.init_image, "upscale")
        factor = request.upscale_factor
        if factor < 1:
            raise InvalidRequest("The upscale factor must be at least 1.")
        out_w, out_h = image.width * factor, image.height * factor
        limit = self._limits.max_upscale_output_pixels
        if out_w * out_h > limit:
            raise InvalidRequest(
                f"Upscaling this {image.width}x{image.height} image {factor}x would make it "
                f"{out_w}x{out_h} ({out_w * out_h:,} pixels), but Stability AI upscales to at most "
                f"{limit:,} pixels (e.g. 2048x2048). Use an image of at most {limit // factor**2:,} pixels."
            )
        fields = () if factor == 2 else (("width", str(out_w)),)
        return _Call(
            operation="upscale",
            engine=UPSCALE_ENGINE,
            path=f"/v1/generation/{UPSCALE_ENGINE}/image-to-image/upscale",
            expected_size=(out_w, out_h),
            fields=fields,
            files=(_File("image", "image.png", image.png),),
        )

    async def _result_from(self, reply: Reply, call: _Call) -> GenerationResult:
        try:
            images = await run_cpu(_decode_artifacts, reply.body, call.expected_size)
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

    def _error_for(self, reply: Reply, call: _Call) -> BackendError | InvalidRequest:
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

        probe = await self._http.probe(api, "/v1/engines/list")
        if probe.reply is None:
            return api_failed(probe.result, probe.skipped)
        try:
            engines = self._parse_engines(probe.reply.body)
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
        results.append(await self._http.check_balance(credits))
        return results

    # -- engines --

    def _learn_engines(self, engines: tuple[str, ...]) -> None:
        self._engines = engines
        self._limits = limits_for_engine(self._engine, engines)

    @staticmethod
    def _parse_engines(body: bytes) -> tuple[str, ...]:
        try:
            data: Any = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(data, list):
            raise ValueError("engine list is not an array")
        return tuple(
            str(e["id"])
            for e in data
            if isinstance(e, dict) and "id" in e and e.get("type", "PICTURE") == "PICTURE"
        )


def _extra_fraction(extras: dict[str, str], key: str) -> float | None:
    raw = extras.get(key)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidRequest(f"{key} must be a number between 0 and 1.") from None
    if not 0.0 <= value <= 1.0:
        raise InvalidRequest(f"{key} must be between 0 and 1.")
    return value
