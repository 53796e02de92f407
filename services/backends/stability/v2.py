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
:mod:`services.backends.stability.http` (``V2_DIALECT`` says where v2 differs).

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

import asyncio
import base64
import binascii
import io
import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import aiohttp
from PIL import Image, ImageOps
from pydantic import SecretStr

from services.backends.base import BackendLimits, ProgressCallback, ResumeTokenCallback
from services.backends.rate_limit import RateLimiter
from services.backends.stability.http import (
    DEFAULT_HOST,
    EASEL_VERSION,
    V2_DIALECT,
    Reply,
    StabilityHttp,
    parse_ratio,
    report_progress,
)
from services.backends.stability.v2_wire import (
    ASPECT_RATIO_SIZES,
    ASPECT_RATIOS,
    CREATIVE_OUTPUT_PIXELS,
    CREATIVITY_RANGE,
    ENDPOINTS,
    FAST_UPSCALE_FACTOR,
    GROW_MASK_RANGE,
    IMAGE_RULES,
    MAX_OUTPAINT_MARGIN,
    MAX_PROMPT_CHARS,
    MAX_REQUEST_BYTES,
    MODELS,
    RESULTS_PATH,
    SEED_MAX,
    STYLE_PRESETS,
    UPSCALE_MODES,
    ImageRule,
    ModelSpec,
)
from services.errors import (
    BackendError,
    BackendUnavailable,
    ContentFiltered,
    EaselError,
    InvalidRequest,
    UnsupportedOption,
)
from services.images import ensure_transparency_async, image_size, sniff_format
from services.offload import run_cpu
from services.outpaint import plan_outpaint, restore_original
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

__all__ = [
    "DEFAULT_MODEL",
    "ResumeTokenCallback",
    "StabilityV2Backend",
    "known_models",
    "limits_for_model",
    "unsupported_options",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "core"

_EDIT_OPERATIONS = frozenset(
    {Operation.INPAINT, Operation.OUTPAINT, Operation.UPSCALE, Operation.REPLACE, Operation.CUTOUT}
)
_EXTRA_OPTIONS = frozenset({"search_prompt", "grow_mask", "upscale_mode", "creativity"})
_ALWAYS_UNSUPPORTED = frozenset({"steps", "sampler", "scheduler", "size"})
_RESUME_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_BODY_MARGIN_BYTES = 64 * 1024  # multipart headers and text fields, with room to spare
_EXPECTED_CREATIVE_S = 45.0  # how long a creative upscale usually takes (for progress)
_FALLBACK_UPSCALE_PROMPT = "a high quality, detailed, sharp image"


# --- models and limits ---------------------------------------------------------------------------


def known_models() -> tuple[str, ...]:
    """Every model ``EASEL_STABILITY_MODEL`` / ``--model`` may name on this backend."""
    return tuple(MODELS)


def unsupported_options(model: str) -> frozenset[str]:
    """Names of the ``commands.options`` options ``model`` cannot take (``--steps`` on core …)."""
    spec = MODELS[model]
    names = set(_ALWAYS_UNSUPPORTED)
    if spec.cfg_scale is None:
        names.add("cfg_scale")
    if not spec.style_presets:
        names.add("style")
    if not spec.image_to_image:
        names.add("strength")
    return frozenset(names)


def limits_for_model(model: str, models: Sequence[str] | None = None) -> BackendLimits:
    """What v2beta accepts with ``model`` as the default; ``models`` are those users may pick.

    Generation takes aspect ratios, not sizes (``aspect_ratios`` set, ``allowed_sizes`` None);
    ``size_multiple``/``max_pixels`` bound the images sent to edits (up to 9.4 megapixels).
    """
    if model not in MODELS:
        raise ValueError(f"unknown Stability model {model!r}; choose one of: {', '.join(MODELS)}")
    choices = tuple(models) if models else tuple(MODELS)
    unknown = [m for m in choices if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown Stability model {unknown[0]!r}; choose from: {', '.join(MODELS)}")
    if model not in choices:
        choices = (model, *choices)
    spec = MODELS[model]
    operations = set(_EDIT_OPERATIONS) | {Operation.IMAGINE}
    if spec.image_to_image:
        operations.add(Operation.REMIX)
    limits = BackendLimits(
        operations=frozenset(operations),
        default_size=(1024, 1024),
        allowed_sizes=None,
        aspect_ratios=ASPECT_RATIOS,
        min_side=64,
        max_side=4096,
        size_multiple=8,
        max_pixels=9_437_184,
        min_pixels=4_096,
        samples=(1, 10),
        seed=(0, SEED_MAX),
        strength=(0.0, 1.0),
        style_presets=STYLE_PRESETS if spec.style_presets else (),
        samplers=(),
        schedulers=(),
        models=choices,
        default_model=model,
        upscale_factors=(FAST_UPSCALE_FACTOR,),
        max_upscale_output_pixels=IMAGE_RULES["upscale-fast"].max_pixels * FAST_UPSCALE_FACTOR**2,
        max_input_bytes=25 * 1024 * 1024,  # uploads are re-encoded under the API's 10 MiB
        max_input_pixels=4096 * 4096,
        max_prompt_chars=MAX_PROMPT_CHARS,
        supports_negative_weights=True,
        options=_EXTRA_OPTIONS,
    )
    if spec.cfg_scale is not None and spec.default_cfg_scale is not None:
        limits = replace(limits, cfg_scale=spec.cfg_scale, default_cfg_scale=spec.default_cfg_scale)
    return replace(limits, unsupported_options=unsupported_options(model), upscale_modes=UPSCALE_MODES)


def _nearest_ratio(ratio: float) -> str:
    def value(text: str) -> float:
        w, h = text.split(":")
        return float(w) / float(h)

    return min(ASPECT_RATIOS, key=lambda r: abs(math.log(value(r) / ratio)))


# --- small helpers -------------------------------------------------------------------------------


def _num(value: float) -> str:
    """Form numbers as the API's examples write them: ``0.65``, ``4``."""
    return f"{round(value, 6):g}"


def _prompt_text(request: GenerationRequest) -> str:
    """Positive prompts joined; weights other than 1 in v2's ``(words:weight)`` syntax."""
    parts = []
    for p in request.prompts:
        text = p.text.strip()
        if not text or p.weight < 0:
            continue
        parts.append(text if p.weight == 1 else f"({text}:{_num(p.weight)})")
    return ", ".join(parts)


def _extra(request: GenerationRequest, key: str) -> str | None:
    value = dict(request.extras).get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _extra_number(
    request: GenerationRequest, key: str, bounds: tuple[float, float], *, what: str, integer: bool = False
) -> float | None:
    raw = _extra(request, key)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    low, high = bounds
    if not math.isfinite(value) or not low <= value <= high or (integer and not value.is_integer()):
        kind = "a whole number" if integer else "a number"
        raise InvalidRequest(f"{what} must be {kind} between {_num(low)} and {_num(high)}; you gave {raw}.")
    return value


# --- image preparation (Pillow work runs through run_cpu) ------------------------------------------


def _resize(png: bytes, size: tuple[int, int], *, nearest: bool = False) -> bytes:
    with Image.open(io.BytesIO(png)) as img:
        img.load()
        method = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
        out = io.BytesIO()
        img.resize(size, method).save(out, "PNG", compress_level=4)
        return out.getvalue()


def _invert_mask(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as img:
        grey = img.convert("L")
    out = io.BytesIO()
    ImageOps.invert(grey).save(out, "PNG", compress_level=4)
    return out.getvalue()


def _to_png(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        out = io.BytesIO()
        img.save(out, "PNG", compress_level=4)
        return out.getvalue()


def _probe(data: bytes) -> tuple[bool, tuple[int, int]]:
    """Whether an image has transparency, and its size."""
    with Image.open(io.BytesIO(data)) as img:
        return img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info, img.size


def _reencode(png: bytes, has_alpha: bool, quality: int) -> tuple[bytes, str]:
    """A smaller encoding of ``png``: JPEG, or WebP when transparency must survive."""
    with Image.open(io.BytesIO(png)) as img:
        img.load()
        out = io.BytesIO()
        if has_alpha:
            img.convert("RGBA").save(out, "WEBP", quality=quality, method=4)
            return out.getvalue(), "image/webp"
        img.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
        return out.getvalue(), "image/jpeg"


@dataclass(frozen=True, slots=True)
class _File:
    field: str
    data: bytes
    content_type: str = "image/png"

    @property
    def filename(self) -> str:
        ext = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(self.content_type, "bin")
        return f"{self.field}.{ext}"


@dataclass(frozen=True, slots=True)
class _Call:
    """One HTTP request producing one image, ready to send (and re-send on retries)."""

    operation: str  # "generate core", "inpaint", "upscale-creative", …
    path: str
    model: str  # what GenerationResult.model reports
    expected_size: tuple[int, int]
    fields: tuple[tuple[str, str], ...] = ()
    files: tuple[_File, ...] = ()

    def form(self) -> aiohttp.MultipartWriter:
        """A fresh ``multipart/form-data`` body (v2beta takes nothing else, even without files)."""
        form = aiohttp.MultipartWriter("form-data")
        for file in self.files:
            part = form.append(io.BytesIO(file.data), {"Content-Type": file.content_type})
            part.set_content_disposition("form-data", name=file.field, filename=file.filename)
        for name, value in self.fields:
            form.append(value).set_content_disposition("form-data", name=name)
        return form

    @property
    def body_bytes(self) -> int:
        return sum(len(f.data) for f in self.files) + sum(len(n) + len(v) for n, v in self.fields)

    def with_seed(self, seed: int | None) -> _Call:
        fields = tuple((n, v) for n, v in self.fields if n != "seed")
        if seed:
            fields += (("seed", str(seed)),)
        return replace(self, fields=fields)


class _ResultGone(Exception):
    """``/v2beta/results/{id}`` answered 404: expired (24 h), or another key's generation."""


# --- the backend ---------------------------------------------------------------------------------


class StabilityV2Backend:
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
        )
        self._limits = limits_for_model(model, models)  # raises ValueError for an unknown model
        self._http = http
        self._model = model
        self._poll_interval_s = poll_interval_s
        self._max_poll_s = max_poll_s

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

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        return await self.generate_resumable(request, progress, resume_token=None, on_resume_token=None)

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
        if op is Operation.UPSCALE and self._upscale_mode(request) == "creative":
            self._single(request, "/upscale")
            call = await self._upscale_call(request, "creative")
            log.info("stability.request", extra={"operation": call.operation, "samples": 1})
            image = await self._run_async(call, progress, resume_token, on_resume_token)
            images: tuple[GeneratedImage, ...] = (image,)
        else:
            calls = await self._prepare(request)
            log.info(
                "stability.request",
                extra={"operation": calls[0].operation, "model": calls[0].model, "samples": len(calls)},
            )
            images = await self._run_samples(calls, progress)
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

    async def _prepare(self, request: GenerationRequest) -> list[_Call]:
        """One call per sample (each with its own seed), checked before anything is sent."""
        match request.operation:
            case Operation.IMAGINE | Operation.REMIX:
                call = await self._generate_call(request)
            case Operation.INPAINT:
                call = await self._inpaint_call(request)
            case Operation.OUTPAINT:
                call = await self._outpaint_call(request)
            case Operation.REPLACE:
                call = await self._replace_call(request)
            case Operation.CUTOUT:
                self._single(request, "/cutout")
                return [await self._cutout_call(request)]
            case Operation.UPSCALE:
                self._single(request, "/upscale")
                return [await self._upscale_call(request, self._upscale_mode(request))]
            case _:
                raise UnsupportedOption(f"Stability AI cannot {request.operation.value} images.")
        lo, hi = self._limits.samples
        if not lo <= request.samples <= hi:
            raise InvalidRequest(f"Ask for between {lo} and {hi} images.")
        return [call.with_seed(self._sample_seed(request.seed, i)) for i in range(request.samples)]

    @staticmethod
    def _sample_seed(seed: int | None, index: int) -> int | None:
        """``--seed 7 --n 3`` → 7, 8, 9 (reproducible); no seed → Stability picks each one."""
        if not seed:
            return None
        return (seed - 1 + index) % SEED_MAX + 1  # stays in 1..SEED_MAX; 0 would mean random

    @staticmethod
    def _single(request: GenerationRequest, command: str) -> None:
        if request.samples != 1:
            raise UnsupportedOption(f"{command} makes one image at a time on Stability AI.")

    # -- option checks --

    def _model_spec(self, request: GenerationRequest) -> ModelSpec:
        name = request.model or self._model
        if name not in self._limits.models:
            raise InvalidRequest(
                f"The model “{name}” is not available. Choose one of: {', '.join(self._limits.models)}."
            )
        return MODELS[name]

    def _check_common(self, request: GenerationRequest, where: str) -> None:
        """Flags v2beta never takes. Commands fill ``steps``/``cfg_scale`` with the default
        model's defaults, so only a different value can have been typed by the user."""
        if request.sampler:
            raise UnsupportedOption(f"--sampler isn't available {where}.")
        if request.scheduler:
            raise UnsupportedOption(f"--scheduler isn't available {where}.")
        if request.steps is not None and request.steps != self._limits.default_steps:
            raise UnsupportedOption(f"--steps isn't available {where}: it chooses its own number of steps.")
        if request.seed is not None and not 0 <= request.seed <= SEED_MAX:
            raise InvalidRequest(f"The seed must be between 0 and {SEED_MAX}.")

    def _cfg_scale(self, request: GenerationRequest, spec: ModelSpec) -> float | None:
        """The ``cfg_scale`` to send (None: the chosen model's own default).

        Commands fill in the configured model's default when the user gives none, so only
        another value was typed; the default itself is left to whichever model runs.
        """
        value = request.cfg_scale
        if value is None:
            return None
        typed = value != self._limits.default_cfg_scale  # else: commands' default, the model decides
        if spec.cfg_scale is None:
            if typed:
                raise UnsupportedOption(f"--cfg isn't available with Stability's {spec.name} model.")
            return None
        if not typed:
            return None
        low, high = spec.cfg_scale
        if not low <= value <= high:
            raise InvalidRequest(f"--cfg must be between {_num(low)} and {_num(high)} for {spec.name}.")
        return value

    def _no_edit_extras(self, request: GenerationRequest, where: str) -> None:
        if request.model and request.model != self._model:
            raise UnsupportedOption(
                f"--model doesn't apply {where}: Stability AI edits with its own models "
                "(--model works with /imagine and /remix)."
            )
        if request.cfg_scale is not None and request.cfg_scale != self._limits.default_cfg_scale:
            raise UnsupportedOption(f"--cfg isn't available {where}.")

    @staticmethod
    def _style(request: GenerationRequest, allowed: bool, where: str) -> list[tuple[str, str]]:
        style = request.style_preset
        if not style:
            return []
        if not allowed:
            raise UnsupportedOption(f"--style isn't available {where}.")
        if style not in STYLE_PRESETS:
            raise InvalidRequest(f"Unknown style “{style}”. Choose one of: {', '.join(STYLE_PRESETS)}.")
        return [("style_preset", style)]

    @staticmethod
    def _prompt_fields(
        request: GenerationRequest, *, required: bool, negative: bool = True
    ) -> list[tuple[str, str]]:
        prompt = _prompt_text(request)
        if required and not prompt:
            raise InvalidRequest("Stability AI needs a text prompt: describe the picture you want.")
        for text in (prompt, request.negative_prompt):
            if len(text) > MAX_PROMPT_CHARS:
                raise InvalidRequest(f"Prompts may be at most {MAX_PROMPT_CHARS:,} characters long.")
        fields = [("prompt", prompt)] if prompt else []
        if request.negative_prompt:
            if not negative:
                raise UnsupportedOption(
                    f"--no isn't available for /{request.operation.value} on Stability AI."
                )
            fields.append(("negative_prompt", request.negative_prompt))
        return fields

    # -- requests per operation --

    async def _generate_call(self, request: GenerationRequest) -> _Call:
        spec = self._model_spec(request)
        where = f"with Stability's {spec.name} model"
        self._check_common(request, where)
        fields = self._prompt_fields(request, required=True)
        if spec.wire_model is not None:
            fields.append(("model", spec.wire_model))
        cfg = self._cfg_scale(request, spec)
        if cfg is not None:
            fields.append(("cfg_scale", _num(cfg)))
        fields += self._style(request, spec.style_presets, where)
        files: list[_File] = []
        if request.operation is Operation.REMIX:
            if not spec.image_to_image:
                able = ", ".join(
                    n for n, s in MODELS.items() if s.image_to_image and n in self._limits.models
                )
                raise UnsupportedOption(
                    f"Stability's {spec.name} model can't remix images; use --model with one of: {able}."
                )
            init = self._require_image(request.init_image, "remix")
            keep = request.strength if request.strength is not None else self._limits.default_strength
            if not 0.0 <= keep <= 1.0:
                raise InvalidRequest("--strength must be between 0 and 1.")
            image = await self._fit_image(init, IMAGE_RULES["generate"], "remix")
            if spec.wire_model is not None:
                fields.append(("mode", "image-to-image"))
            fields.append(("strength", _num(1.0 - keep)))  # v2: how much to change; easel: how much to keep
            files.append(_File("image", image.png))
            w, h = image.width, image.height
            scale = math.sqrt(1024 * 1024 / (w * h))
            expected = (round(w * scale), round(h * scale))
        else:
            ratio = self._aspect_ratio(request)
            fields.append(("aspect_ratio", ratio))
            expected = ASPECT_RATIO_SIZES[ratio]
        fields.append(("output_format", "png"))
        call = _Call(
            operation=f"generate {spec.name}",
            path=spec.path,
            model=spec.name,
            expected_size=expected,
            fields=tuple(fields),
            files=tuple(files),
        )
        return await self._within_body_limit(call)

    @staticmethod
    def _aspect_ratio(request: GenerationRequest) -> str:
        """The ratio asked for (nearest of the nine), else the shape of ``width``×``height``, else 1:1."""
        if request.aspect_ratio:
            if request.aspect_ratio in ASPECT_RATIOS:
                return request.aspect_ratio
            ratio = parse_ratio(request.aspect_ratio)
            if ratio is None:
                raise InvalidRequest(
                    f"I can't read the aspect ratio “{request.aspect_ratio}”; write it like 16:9."
                )
            return _nearest_ratio(ratio)
        if request.width and request.height:
            return _nearest_ratio(request.width / request.height)
        return "1:1"

    async def _inpaint_call(self, request: GenerationRequest) -> _Call:
        where = "for /inpaint on Stability AI"
        self._check_common(request, where)
        self._no_edit_extras(request, where)
        init = self._require_image(request.init_image, "inpaint")
        fields = self._prompt_fields(request, required=True)
        fields += self._style(request, True, where)
        grow = _extra_number(request, "grow_mask", GROW_MASK_RANGE["inpaint"], what="grow_mask", integer=True)
        if grow is not None:
            fields.append(("grow_mask", str(int(grow))))
        source = request.mask_source or (
            MaskSource.WHITE if request.mask_image is not None else MaskSource.ALPHA
        )
        mask = request.mask_image
        if source is MaskSource.ALPHA:
            if mask is not None:
                raise InvalidRequest(
                    "With mask source alpha the image's transparent areas are repainted; leave out the mask."
                )
            await ensure_transparency_async(init)
        elif mask is None:
            raise InvalidRequest(
                "Inpainting needs a mask image (white = repaint), or an image with transparent areas."
            )
        image = await self._fit_image(init, IMAGE_RULES["inpaint"], "inpaint")
        files = [_File("image", image.png)]
        if mask is not None:
            if source is MaskSource.BLACK:  # v2 repaints white: flip a black-means-repaint mask
                mask = replace(mask, png=await run_cpu(_invert_mask, mask.png))
            if (mask.width, mask.height) != (image.width, image.height):
                mask = InputImage(
                    png=await run_cpu(_resize, mask.png, (image.width, image.height), nearest=True),
                    width=image.width,
                    height=image.height,
                )
            files.append(_File("mask", mask.png))
        fields.append(("output_format", "png"))
        call = _Call(
            "inpaint",
            ENDPOINTS["inpaint"],
            "stable-image-inpaint",
            (image.width, image.height),
            tuple(fields),
            tuple(files),
        )
        return await self._within_body_limit(call)

    async def _outpaint_call(self, request: GenerationRequest) -> _Call:
        where = "for /outpaint on Stability AI"
        self._check_common(request, where)
        self._no_edit_extras(request, where)
        self._style(request, False, where)
        init = self._require_image(request.init_image, "outpaint")
        margins = request.outpaint
        sides = (margins.left, margins.right, margins.up, margins.down) if margins else (0, 0, 0, 0)
        if not any(sides) or margins is None:
            raise InvalidRequest("Tell me where to extend the image, e.g. --right 256 or --ar 16:9.")
        if any(not 0 <= s <= MAX_OUTPAINT_MARGIN for s in sides):
            raise InvalidRequest(
                f"Stability AI extends an image by at most {MAX_OUTPAINT_MARGIN} pixels per side."
            )
        rule = IMAGE_RULES["outpaint"]
        self._check_image(init, rule, "outpaint")
        if init.pixels > rule.max_pixels:
            raise InvalidRequest(
                f"That image has {init.pixels:,} pixels; Stability AI extends images of at most {rule.max_pixels:,}."
            )
        fields = self._prompt_fields(request, required=False, negative=False)
        fields += [
            (name, str(value))
            for name, value in zip(("left", "right", "up", "down"), sides, strict=True)
            if value
        ]
        creativity = _extra_number(request, "creativity", CREATIVITY_RANGE["outpaint"], what="creativity")
        if creativity is not None:
            fields.append(("creativity", _num(creativity)))
        fields.append(("output_format", "png"))
        expected = (init.width + margins.left + margins.right, init.height + margins.up + margins.down)
        call = _Call(
            "outpaint",
            ENDPOINTS["outpaint"],
            "stable-image-outpaint",
            expected,
            tuple(fields),
            (_File("image", init.png),),
        )
        return await self._within_body_limit(call, may_resize=False)

    async def _replace_call(self, request: GenerationRequest) -> _Call:
        where = "for /replace on Stability AI"
        self._check_common(request, where)
        self._no_edit_extras(request, where)
        init = self._require_image(request.init_image, "replace")
        search = _extra(request, "search_prompt")
        if search is None:
            raise InvalidRequest("Say what to replace, e.g. --search the red car.")
        if len(search) > MAX_PROMPT_CHARS:
            raise InvalidRequest(f"The search text may be at most {MAX_PROMPT_CHARS:,} characters long.")
        fields = self._prompt_fields(request, required=True)
        fields.append(("search_prompt", search))
        fields += self._style(request, True, where)
        grow = _extra_number(request, "grow_mask", GROW_MASK_RANGE["replace"], what="grow_mask", integer=True)
        if grow is not None:
            fields.append(("grow_mask", str(int(grow))))
        fields.append(("output_format", "png"))
        image = await self._fit_image(init, IMAGE_RULES["replace"], "replace")
        call = _Call(
            "replace",
            ENDPOINTS["replace"],
            "stable-image-search-and-replace",
            (image.width, image.height),
            tuple(fields),
            (_File("image", image.png),),
        )
        return await self._within_body_limit(call)

    async def _cutout_call(self, request: GenerationRequest) -> _Call:
        where = "for /cutout on Stability AI"
        self._check_common(request, where)
        self._no_edit_extras(request, where)
        init = self._require_image(request.init_image, "cutout")
        image = await self._fit_image(init, IMAGE_RULES["cutout"], "cutout")
        call = _Call(
            "cutout",
            ENDPOINTS["cutout"],
            "stable-image-remove-background",
            (image.width, image.height),
            (("output_format", "png"),),
            (_File("image", image.png),),
        )
        return await self._within_body_limit(call)

    @staticmethod
    def _upscale_mode(request: GenerationRequest) -> str:
        mode = (_extra(request, "upscale_mode") or "fast").lower()
        if mode not in UPSCALE_MODES:
            raise InvalidRequest(f"The upscale mode must be one of: {', '.join(UPSCALE_MODES)}.")
        return mode

    async def _upscale_call(self, request: GenerationRequest, mode: str) -> _Call:
        where = "for /upscale on Stability AI"
        self._check_common(request, where)
        self._no_edit_extras(request, where)
        image = self._require_image(request.init_image, "upscale")
        endpoint = f"upscale-{mode}"
        rule = IMAGE_RULES[endpoint]
        self._check_image(image, rule, "upscale")
        if image.pixels > rule.max_pixels or (
            rule.max_side and max(image.width, image.height) > rule.max_side
        ):
            side = f" and at most {rule.max_side} pixels per side" if rule.max_side else ""
            raise InvalidRequest(
                f"That image is {image.width}×{image.height}; Stability AI's {mode} upscaler takes images of at "
                f"most {rule.max_pixels:,} pixels{side}."
            )
        fields: list[tuple[str, str]] = []
        if mode == "fast":
            if request.upscale_factor != FAST_UPSCALE_FACTOR:
                raise UnsupportedOption(
                    f"Stability AI's fast upscaler always enlarges {FAST_UPSCALE_FACTOR}×; use --scale {FAST_UPSCALE_FACTOR}."
                )
            if request.prompts:
                raise UnsupportedOption(
                    "The fast upscaler takes no prompt; use the creative or conservative mode."
                )
            expected = (image.width * FAST_UPSCALE_FACTOR, image.height * FAST_UPSCALE_FACTOR)
        else:
            fields = self._prompt_fields(request, required=False)
            if not any(name == "prompt" for name, _ in fields):
                fields.insert(0, ("prompt", _FALLBACK_UPSCALE_PROMPT))  # the API requires one
            if mode == "creative":
                fields += self._style(request, True, where)
            else:
                self._style(request, False, f"for the {mode} upscaler")
            creativity = _extra_number(request, "creativity", CREATIVITY_RANGE[endpoint], what="creativity")
            if creativity is not None:
                fields.append(("creativity", _num(creativity)))
            if request.seed:
                fields.append(("seed", str(request.seed)))
            scale = max(1.0, math.sqrt(CREATIVE_OUTPUT_PIXELS / image.pixels))
            expected = (round(image.width * scale), round(image.height * scale))
        fields.append(("output_format", "png"))
        call = _Call(
            f"upscale-{mode}",
            ENDPOINTS[endpoint],
            f"stable-image-upscale-{mode}",
            expected,
            tuple(fields),
            (_File("image", image.png),),
        )
        return await self._within_body_limit(call, may_resize=False)

    # -- images --

    @staticmethod
    def _require_image(image: InputImage | None, command: str) -> InputImage:
        if image is None:
            raise InvalidRequest(f"/{command} needs an image to work on.")
        return image

    @staticmethod
    def _check_image(image: InputImage, rule: ImageRule, command: str) -> None:
        """Refuse what no scaling can fix: too small, or too long and thin."""
        w, h = image.width, image.height
        if min(w, h) < rule.min_side or w * h < rule.min_pixels:
            raise InvalidRequest(
                f"That image is {w}×{h}; Stability AI needs at least {rule.min_side} pixels per side "
                f"and {rule.min_pixels:,} pixels in all for /{command}."
            )
        if rule.max_aspect is not None and max(w, h) / min(w, h) > rule.max_aspect:
            raise InvalidRequest(
                f"That image is {w}×{h}, too long and thin for /{command}: Stability AI takes shapes "
                f"between 1:{rule.max_aspect:g} and {rule.max_aspect:g}:1. Crop it and try again."
            )

    async def _fit_image(self, image: InputImage, rule: ImageRule, command: str) -> InputImage:
        """``image`` within the endpoint's pixel limits (scaled down, never up)."""
        self._check_image(image, rule, command)
        scale = min(1.0, math.sqrt(rule.max_pixels / image.pixels))
        if rule.max_side is not None:
            scale = min(scale, rule.max_side / max(image.width, image.height))
        if scale >= 1.0:
            return image
        size = (max(1, math.floor(image.width * scale)), max(1, math.floor(image.height * scale)))
        png = await run_cpu(_resize, image.png, size)
        log.info(
            "stability.image_resized",
            extra={"command": command, "from": f"{image.width}x{image.height}", "to": f"{size[0]}x{size[1]}"},
        )
        return InputImage(png=png, width=size[0], height=size[1], has_alpha=image.has_alpha)

    async def _within_body_limit(self, call: _Call, *, may_resize: bool = True) -> _Call:
        """Re-encode (and if allowed, scale down) the main image until the body fits in 10 MiB."""
        budget = MAX_REQUEST_BYTES - _BODY_MARGIN_BYTES
        if call.body_bytes <= budget:
            return call
        image = next(f for f in call.files if f.field == "image")
        rest = call.body_bytes - len(image.data)
        has_alpha, size = await run_cpu(_probe, image.data)
        data = image.data
        for quality in (95, 90, 85, 75):
            data, ctype = await run_cpu(_reencode, image.data, has_alpha, quality)
            if rest + len(data) <= budget:
                log.info(
                    "stability.image_compressed", extra={"operation": call.operation, "bytes": len(data)}
                )
                return self._swap_image(call, _File("image", data, ctype))
        if may_resize:
            png = image.data
            for _ in range(6):
                scale = 0.9 * math.sqrt(budget / max(rest + len(data), 1))
                size = (max(64, math.floor(size[0] * scale)), max(64, math.floor(size[1] * scale)))
                png = await run_cpu(_resize, png, size)
                data, ctype = await run_cpu(_reencode, png, has_alpha, 90)
                if rest + len(data) <= budget:
                    log.info(
                        "stability.image_shrunk",
                        extra={"operation": call.operation, "to": f"{size[0]}x{size[1]}"},
                    )
                    files = []
                    for f in call.files:
                        if f.field == "mask":
                            f = _File("mask", await run_cpu(_resize, f.data, size, nearest=True))
                        files.append(f)
                    shrunk = self._swap_image(replace(call, files=tuple(files)), _File("image", data, ctype))
                    return replace(shrunk, expected_size=size)
        raise InvalidRequest(
            "That image is too large to send to Stability AI (over 10 MiB even after compressing it). "
            "Please use a smaller image."
        )

    @staticmethod
    def _swap_image(call: _Call, image: _File) -> _Call:
        return replace(call, files=tuple(image if f.field == "image" else f for f in call.files))

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

    # -- running calls --

    async def _run_samples(
        self, calls: list[_Call], progress: ProgressCallback | None
    ) -> tuple[GeneratedImage, ...]:
        """Send every call at once (the limiter paces them); keep what succeeded."""
        total = len(calls)
        done = 0
        await report_progress(progress, Progress(fraction=0.0, message="Sent to Stability AI"))

        async def one(call: _Call) -> GeneratedImage:
            nonlocal done
            try:
                return await self._send(call)
            finally:
                done += 1
                if done < total:
                    await report_progress(
                        progress, Progress(fraction=done / total, message=f"{done} of {total} images ready")
                    )

        outcomes = await asyncio.gather(*(one(c) for c in calls), return_exceptions=True)
        images: list[GeneratedImage] = []
        errors: list[EaselError] = []
        for call, outcome in zip(calls, outcomes, strict=True):
            if isinstance(outcome, GeneratedImage):
                images.append(outcome)
                continue
            if isinstance(outcome, ContentFiltered):
                images.append(self._empty(call, FinishReason.CONTENT_FILTERED))
            elif isinstance(outcome, EaselError):
                errors.append(outcome)
                images.append(self._empty(call, FinishReason.ERROR))
            else:
                raise outcome  # a bug, or cancellation: not something to hide
        if not any(i.finish_reason is FinishReason.SUCCESS for i in images):
            if errors:
                raise errors[0]
            raise ContentFiltered(log_detail=f"{calls[0].operation}: all {total} image(s) content-filtered")
        for error in errors:
            log.warning(
                "stability.sample_failed",
                extra={
                    "operation": calls[0].operation,
                    "error_kind": type(error).__name__,
                    "detail": error.log_detail,
                },
            )
        await report_progress(progress, Progress(fraction=1.0, message="Done"))
        return tuple(images)

    @staticmethod
    def _empty(call: _Call, reason: FinishReason) -> GeneratedImage:
        w, h = call.expected_size
        return GeneratedImage(png=b"", seed=0, width=w, height=h, finish_reason=reason)

    async def _send(self, call: _Call) -> GeneratedImage:
        reply = await self._exchange(call, "POST", call.path, form=call.form)
        if reply.status != 200:
            raise self._error_for(reply, call)
        return await self._image_from(reply, call)

    async def _exchange(
        self,
        call: _Call,
        method: str,
        path: str,
        *,
        form: Callable[[], aiohttp.MultipartWriter] | None = None,
        accept: str = "image/*",
    ) -> Reply:
        """One request with the shared retry policy (429/5xx/network); other statuses returned."""
        return await self._http.exchange(call.operation, method, path, form=form, accept=accept)

    async def _image_from(self, reply: Reply, call: _Call) -> GeneratedImage:
        """The image of a 200 answer (raw bytes with headers, or the JSON form)."""
        reason_text, seed_text, png = reply.finish_reason, reply.seed, reply.body
        if reply.content_type == "application/json":
            try:
                data = json.loads(reply.body)
                png = base64.b64decode(data.get("image") or "", validate=True)
                reason_text = str(data.get("finish_reason", "SUCCESS"))
                seed_text = str(data.get("seed", "0"))
            except (ValueError, AttributeError, TypeError, binascii.Error) as exc:
                raise BackendUnavailable(
                    log_detail=f"{call.operation}: unreadable JSON image: {exc}"
                ) from None
        elif not reply.content_type.startswith("image/"):
            raise BackendUnavailable(
                log_detail=f"{call.operation}: unexpected content type {reply.content_type or '(none)'}"
            )
        reason = (reason_text or "SUCCESS").strip().upper()
        try:
            seed = int(seed_text or 0)
        except ValueError:
            seed = 0
        if reason == "CONTENT_FILTERED":
            return replace(self._empty(call, FinishReason.CONTENT_FILTERED), seed=seed)
        if reason != "SUCCESS" or not png:
            raise BackendUnavailable(log_detail=f"{call.operation}: finish-reason {reason}, {len(png)} bytes")
        if sniff_format(png) != "PNG":
            try:
                png = await run_cpu(_to_png, png)
            except (OSError, ValueError) as exc:
                raise BackendUnavailable(log_detail=f"{call.operation}: undecodable image: {exc}") from None
        try:
            width, height = image_size(png)
        except InvalidRequest:
            raise BackendUnavailable(log_detail=f"{call.operation}: the answer is not an image") from None
        return GeneratedImage(png=png, seed=seed, width=width, height=height)

    # -- asynchronous results (creative upscale) --

    async def _run_async(
        self,
        call: _Call,
        progress: ProgressCallback | None,
        resume_token: str | None,
        on_resume_token: ResumeTokenCallback | None,
    ) -> GeneratedImage:
        if resume_token is not None and not _RESUME_TOKEN.match(resume_token):
            log.warning("stability.resume_token_invalid", extra={"operation": call.operation})
            resume_token = None
        if resume_token is not None:
            await report_progress(
                progress, Progress(fraction=0.0, message="Picking up the upscale where it was")
            )
            try:
                return await self._poll(call, resume_token, progress, first_delay_s=0.0)
            except _ResultGone:
                log.warning("stability.resume_expired", extra={"operation": call.operation})
        await report_progress(progress, Progress(fraction=0.0, message="Sent to Stability AI"))
        generation_id = await self._submit(call)
        if on_resume_token is not None:
            try:
                await on_resume_token(generation_id)
            except Exception:  # the job still runs; it just could not be resumed after a restart
                log.warning(
                    "stability.resume_token_not_saved", exc_info=True, extra={"operation": call.operation}
                )
        try:
            return await self._poll(call, generation_id, progress, first_delay_s=self._poll_interval_s)
        except _ResultGone:
            raise BackendUnavailable(
                log_detail=f"{call.operation}: result {generation_id[:12]}… vanished while polling"
            ) from None

    async def _submit(self, call: _Call) -> str:
        reply = await self._exchange(call, "POST", call.path, form=call.form, accept="application/json")
        if reply.status != 200:
            raise self._error_for(reply, call)
        try:
            generation_id = str(json.loads(reply.body)["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendUnavailable(
                log_detail=f"{call.operation}: unreadable submit answer: {exc}"
            ) from None
        if not _RESUME_TOKEN.match(generation_id):
            raise BackendUnavailable(log_detail=f"{call.operation}: unexpected generation id format")
        log.info("stability.submitted", extra={"operation": call.operation, "generation": generation_id[:12]})
        return generation_id

    async def _poll(
        self, call: _Call, generation_id: str, progress: ProgressCallback | None, *, first_delay_s: float
    ) -> GeneratedImage:
        """``GET /v2beta/results/{id}`` until 200 (202 = still running), reporting progress."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        delay = first_delay_s
        polls = 0
        while True:
            if delay > 0:
                await asyncio.sleep(delay)
            delay = self._poll_interval_s
            reply = await self._exchange(call, "GET", f"{RESULTS_PATH}/{generation_id}")
            polls += 1
            if reply.status == 200:
                image = await self._image_from(reply, call)
                await report_progress(progress, Progress(fraction=1.0, message="Done"))
                log.info("stability.result_ready", extra={"operation": call.operation, "polls": polls})
                if image.finish_reason is FinishReason.CONTENT_FILTERED:
                    raise ContentFiltered(log_detail=f"{call.operation}: result content-filtered")
                return image
            if reply.status == 404:
                raise _ResultGone()
            if reply.status != 202:
                raise self._error_for(reply, call)
            elapsed = loop.time() - started
            if elapsed > self._max_poll_s:
                raise BackendUnavailable(
                    log_detail=f"{call.operation}: still in progress after {elapsed:.0f} s ({polls} polls)"
                )
            fraction = min(0.95, elapsed / _EXPECTED_CREATIVE_S) if elapsed else 0.05
            await report_progress(
                progress,
                Progress(
                    fraction=max(fraction, 0.05),
                    eta_s=max(_EXPECTED_CREATIVE_S - elapsed, 0.0) or None,
                    message="Upscaling (creative)…",
                ),
            )

    # -- errors --

    def _error_for(self, reply: Reply, call: _Call) -> BackendError:
        return self._http.error_for(reply, call.operation)

    # -- account --

    async def balance(self) -> float:
        """The account's credits (``GET /v1/user/balance``), for ``easel check`` and operators.

        Raises ``BackendMisconfigured`` (key rejected) or ``BackendUnavailable``.
        """
        call = _Call("balance", "/v1/user/balance", self._model, (0, 0))
        reply = await self._exchange(call, "GET", "/v1/user/balance", accept="application/json")
        if reply.status != 200:
            raise self._error_for(reply, call)
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
        probe = await self._http.probe(api, "/v1/user/balance")
        if probe.reply is None:
            return [
                probe.result,
                model_line,
                CheckResult(credits_name, False, f"not checked: {probe.skipped}"),
            ]
        return [probe.result, model_line, self._http.credits_result(credits_name, probe.reply.body)]
