"""OpenAI-compatible image APIs as an easel backend, through the official ``openai`` SDK's async client.

Usage::

    backend = OpenAIImagesBackend(api_key, base_url="https://api.openai.com/v1", model="gpt-image-2")
    await backend.start()
    result = await backend.generate(request, progress)
    await backend.close()

==========  ======================================================================
imagine     ``POST /v1/images/generations`` (``size``, ``quality``, ``background``,
            ``moderation``, ``output_format=png``, ``n``)
remix       ``POST /v1/images/edits`` with the source image (no mask)
inpaint     ``POST /v1/images/edits`` with ``mask``: easel's white/black/alpha masks are
            turned into OpenAI's transparent-means-edit PNG (:mod:`.masks`)
==========  ======================================================================

Nothing else is declared (no upscale, describe or outpaint; the variations endpoint is gone), so
those commands are not offered. Seeds, steps, CFG, samplers, styles and negative prompts do not
exist in this API: those options are declared unsupported and refused with a clear message.

The base URL is configurable, so LocalAI, diffusers-based servers and LiteLLM-style proxies that
speak this API work too. The SDK's own retries are off: easel's
:func:`~services.backends.retry.call_with_retries` retries 429/5xx/network failures (honouring
``retry-after-ms``/``retry-after``) like every other backend. Token usage from each answer is
logged per job (``openai.usage``) and returned (``GenerationResult.usage_tokens``, the total): the
job is charged by it (:mod:`services.backends.costs` says how tokens become quota units).

GPT image models always answer with ``b64_json``; each image is decoded and its base64 text
released from the response before the next is decoded, so the pictures are never held twice.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import openai

from services.backends.base import BackendLimits, ProgressCallback
from services.backends.openai.errors import as_easel_error
from services.backends.openai.limits import limits_for
from services.backends.openai.masks import openai_mask
from services.backends.openai.models import (
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    DEFAULT_MODELS,
    ModelSpec,
    model_spec,
)
from services.backends.originals import original_from
from services.backends.retry import RetryPolicy, call_with_retries
from services.errors import BackendError, BackendUnavailable, InvalidRequest
from services.offload import run_cpu
from services.types import (
    CheckResult,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    MaskSource,
    Operation,
    Progress,
)

__all__ = ["OpenAIImagesBackend"]

log = logging.getLogger(__name__)


class OpenAIImagesBackend:
    """easel's :class:`~services.backends.base.Backend` for ``/v1/images/generations`` and ``/edits``."""

    name = "openai"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        models: Sequence[str] = DEFAULT_MODELS,
        sizes: Sequence[tuple[int, int]] = (),
        quality: str = "auto",
        background: str = "auto",
        moderation: str = "auto",
        organization: str | None = None,
        project: str | None = None,
        timeout_s: float = 180.0,
        max_attempts: int = 3,
        retry_base_delay_s: float = 1.0,
    ) -> None:
        if not api_key.strip():
            raise ValueError("OPENAI_API_KEY is empty")
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._model = model
        self._models = tuple(dict.fromkeys((model, *models)))
        self._sizes = tuple(sizes)
        self._quality, self._background, self._moderation = quality, background, moderation
        self._organization, self._project = organization, project
        self._timeout_s = timeout_s
        self._policy = RetryPolicy(max_attempts=max_attempts, base_delay_s=retry_base_delay_s)
        self._limits = limits_for(model_spec(model, self._sizes), self._models)
        self._client: openai.AsyncOpenAI | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r}, model={self._model!r})"

    @property
    def limits(self) -> BackendLimits:
        return self._limits

    async def start(self) -> None:
        """Build the SDK client (no request is sent)."""
        if self._client is None:
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self._base_url,
                organization=self._organization,
                project=self._project,
                timeout=self._timeout_s,
                max_retries=0,  # easel's retry policy decides
            )
        log.info("openai.started", extra={"model": self._model})

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def cancel(self) -> None:
        """The images API cannot interrupt a generation; the job task is cancelled instead."""

    # -- generation --

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        started = time.monotonic()
        spec = self._spec(request)
        op = request.operation
        if op not in self._limits.operations:
            raise InvalidRequest(f"/{op.value} isn't available on this backend.")
        if progress is not None:
            await progress(Progress(0.0, message=f"asking {spec.model}"))
        kwargs = await self._arguments(request, spec)
        endpoint = "generate" if op is Operation.IMAGINE else "edit"

        async def attempt() -> Any:
            return await self._call(endpoint, kwargs)

        response = await call_with_retries(attempt, self._policy, backend=self.name, operation=endpoint)
        images = await _decode_all(response)
        tokens = self._log_usage(response, spec.model, len(images), time.monotonic() - started)
        return GenerationResult(images=images, backend=self.name, model=spec.model, usage_tokens=tokens)

    def _spec(self, request: GenerationRequest) -> ModelSpec:
        model = request.model or self._model
        if model not in self._models:
            raise InvalidRequest(f"{model} is not one of the models here: {', '.join(self._models)}.")
        spec = model_spec(model, self._sizes)
        if not 1 <= request.samples <= spec.max_samples:
            raise InvalidRequest(f"{model} makes 1 to {spec.max_samples} images at a time.")
        return spec

    async def _arguments(self, request: GenerationRequest, spec: ModelSpec) -> dict[str, Any]:
        """The SDK call's keyword arguments (validated here first: nothing known to fail is sent)."""
        kwargs: dict[str, Any] = {
            "model": spec.model,
            "prompt": request.positive_prompt,
            "n": request.samples,
            "output_format": "png",  # easel keeps PNG originals
        }
        if self._quality in spec.qualities:
            kwargs["quality"] = self._quality
        if self._background != "auto":
            kwargs["background"] = self._background
        if request.operation is Operation.IMAGINE:
            width, height = request.width or 1024, request.height or 1024
            if request.aspect_ratio and spec.sizes and (width, height) not in spec.sizes:
                # --ar promises "the nearest size the model can make"; a fixed-size model picked with
                # --model may not make the size the default model's limits gave.
                width, height = min(spec.sizes, key=lambda s: abs(math.log(s[0] / s[1] * height / width)))
            problem = spec.size_problem(width, height)
            if problem:
                raise InvalidRequest(problem)
            kwargs["size"] = f"{width}x{height}"
            kwargs["moderation"] = self._moderation
            return kwargs
        init = request.init_image
        if init is None:
            raise InvalidRequest(f"/{request.operation.value} needs an image: please attach one.")
        # The output takes the source's size when the model can make it, else the model chooses.
        kwargs["size"] = (
            "auto" if spec.size_problem(init.width, init.height) else f"{init.width}x{init.height}"
        )
        kwargs["image"] = [("image.png", init.png, "image/png")]
        if request.operation is Operation.INPAINT:
            source = request.mask_source or (MaskSource.WHITE if request.mask_image else MaskSource.ALPHA)
            mask = await openai_mask(init, request.mask_image, source)
            kwargs["mask"] = ("mask.png", mask, "image/png")
        return kwargs

    async def _call(self, endpoint: str, kwargs: dict[str, Any]) -> Any:
        client = self._client
        if client is None:
            raise BackendUnavailable(log_detail="openai backend used before start()")
        try:
            if endpoint == "generate":
                return await client.images.generate(**kwargs)
            return await client.images.edit(**kwargs)
        except openai.OpenAIError as exc:
            raise as_easel_error(exc, endpoint) from exc

    def _log_usage(self, response: Any, model: str, images: int, duration_s: float) -> int | None:
        """Log the answer's token usage; returns its total (None when the server reports none)."""
        usage = getattr(response, "usage", None)
        log.info(
            "openai.usage",
            extra={
                "model": model,
                "images": images,
                "input_tokens": usage.input_tokens if usage else None,
                "output_tokens": usage.output_tokens if usage else None,
                "total_tokens": usage.total_tokens if usage else None,
                "duration_s": round(duration_s, 3),
            },
        )
        total = getattr(usage, "total_tokens", None) if usage else None
        return int(total) if isinstance(total, int) else None

    # -- easel check --

    async def check(self) -> list[CheckResult]:
        """The API is reachable, takes the key, and knows the default model (``GET /models/{id}``)."""
        client = self._client
        assert client is not None, "check() runs between start() and close()"
        try:
            await client.models.retrieve(self._model, timeout=15)
        except openai.AuthenticationError:
            return [CheckResult("openai api", False, "the API rejected the key (401): check OPENAI_API_KEY")]
        except openai.NotFoundError:
            return [
                CheckResult("openai api", True, f"{self._base_url} reachable, API key accepted"),
                CheckResult("openai model", False, f"{self._model} is not offered: check EASEL_OPENAI_MODEL"),
            ]
        except openai.APIConnectionError as exc:
            return [CheckResult("openai api", False, f"cannot reach {self._base_url}: {type(exc).__name__}")]
        except openai.APIStatusError as exc:
            return [CheckResult("openai api", False, f"{self._base_url} answered HTTP {exc.status_code}")]
        return [
            CheckResult("openai api", True, f"{self._base_url} reachable, API key accepted"),
            CheckResult(
                "openai model", True, f"{self._model} (also: {', '.join(self._models[1:]) or 'none'})"
            ),
        ]


async def _decode_all(response: Any) -> tuple[GeneratedImage, ...]:
    """Each ``b64_json`` decoded to a PNG original, its text dropped from the response as we go."""
    data = list(response.data or ())
    response.data = None
    images: list[GeneratedImage] = []
    while data:
        item = data.pop(0)
        text, item.b64_json = item.b64_json, None
        del item
        if not text:
            raise BackendError(log_detail="openai: an image came without b64_json (URL answers are not used)")
        images.append(await run_cpu(_decode, text))
        del text
    if not images:
        raise BackendError(log_detail="openai: the answer held no images")
    return tuple(images)


def _decode(text: str) -> GeneratedImage:
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise BackendError(log_detail="openai: b64_json is not base64") from None
    return original_from(raw, 0, backend="openai")  # the images API has no seeds
