"""Gemini's image models through the official ``google-genai`` SDK (``generateContent`` with image output).

Usage::

    backend = GeminiImagesBackend(api_key, model="gemini-3.1-flash-image")
    # or through Vertex AI (:mod:`.vertex`): Google credentials for a project, or express mode
    backend = GeminiImagesBackend(None, vertex=VertexAI("my-project", "global", Path("sa.json")))
    await backend.start()
    result = await backend.generate(request, progress)
    await backend.close()

==========  ========================================================================
imagine     the prompt, ``responseModalities=["IMAGE"]``, ``imageConfig.aspectRatio``
            (``--ar``, nearest allowed) and ``imageSize`` (operator setting, Gemini 3)
remix       edit by instruction: the prompt plus the source image as ``inlineData``
==========  ========================================================================

One request makes one image, so ``--n 3`` sends three at once; each that Gemini blocks comes back
``CONTENT_FILTERED`` (refunded), the others are delivered. Seeds are easel's: given or chosen here,
sent as ``generationConfig.seed`` (``seed + i`` per image) and reported back. Safety settings are
the operator's (one threshold for the harm categories). The base URL is overridable (tests,
proxies) on the Gemini API and on Vertex AI alike; the SDK's retries are off and easel's policy
retries 429/5xx/network failures, honouring the API's ``RetryInfo``. On Vertex AI the SDK fetches
and refreshes the access token itself; a token endpoint that refuses the credentials is
``BackendMisconfigured``, one that cannot be reached is retried. Every picture carries Google's
SynthID watermark.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
from google import genai
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import Credentials
from google.genai import errors as genai_errors
from google.genai import types

from services.backends.base import BackendLimits, ProgressCallback
from services.backends.gemini.answers import blocked_reason, read_image
from services.backends.gemini.checks import check_endpoint
from services.backends.gemini.errors import as_easel_error, auth_error
from services.backends.gemini.limits import SEED_MAX, limits_for
from services.backends.gemini.models import (
    ASPECT_RATIOS,
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    DEFAULT_MODELS,
    model_spec,
)
from services.backends.gemini.vertex import API_VERSION as VERTEX_API_VERSION
from services.backends.gemini.vertex import VertexAI, load_credentials
from services.backends.retry import RetryPolicy, call_with_retries
from services.errors import BackendUnavailable, ContentFiltered, InvalidRequest
from services.offload import run_cpu
from services.types import (
    CheckResult,
    FinishReason,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Operation,
    Progress,
)

__all__ = ["HARM_CATEGORIES", "GeminiImagesBackend"]

log = logging.getLogger(__name__)

API_VERSION = "v1beta"
HARM_CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)


class GeminiImagesBackend:
    """easel's :class:`~services.backends.base.Backend` for Gemini image models."""

    name = "gemini"

    def __init__(
        self,
        api_key: str | None,
        *,
        vertex: VertexAI | None = None,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        models: Sequence[str] = DEFAULT_MODELS,
        image_size: str = "1K",
        safety_threshold: str | None = None,
        aspect_ratios: Sequence[str] = ASPECT_RATIOS,
        timeout_s: float = 180.0,
        max_attempts: int = 3,
        retry_base_delay_s: float = 1.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._credentials: Credentials | None = None
        if vertex is not None and not vertex.express:
            if api_key:
                raise ValueError(
                    "GEMINI_API_KEY: Vertex AI with EASEL_GEMINI_VERTEX_PROJECT signs in with Google "
                    "credentials, not an API key; unset one of them"
                )
            if vertex.credentials_file is not None:
                self._credentials = load_credentials(vertex.credentials_file)
        elif not (api_key or "").strip():
            raise ValueError("GEMINI_API_KEY is empty")
        self._vertex = vertex
        self._session = session  # shared (BackendContext.session) or opened by start()
        self._owns_session = False
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        where = vertex.describe() if vertex is not None else self._base_url
        if vertex is not None and vertex.base_url:
            where += f" at {vertex.base_url}"
        self._where = where  # names the endpoint in `easel check`, never a key
        self._model = model
        self._models = tuple(dict.fromkeys((model, *models)))
        self._image_size = image_size
        self._safety = (
            [
                types.SafetySetting(
                    category=types.HarmCategory(c), threshold=types.HarmBlockThreshold(safety_threshold)
                )
                for c in HARM_CATEGORIES
            ]
            if safety_threshold
            else None
        )
        self._timeout_s = timeout_s
        self._policy = RetryPolicy(max_attempts=max_attempts, base_delay_s=retry_base_delay_s)
        self._limits = limits_for(model, self._models, tuple(aspect_ratios))
        self._client: genai.Client | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self._where!r}, model={self._model!r})"

    @property
    def limits(self) -> BackendLimits:
        return self._limits

    async def start(self) -> None:
        """Build the SDK client (nothing is sent)."""
        if self._client is None:
            if self._session is None:
                self._session = aiohttp.ClientSession()
                self._owns_session = True
            vertex = self._vertex
            self._client = genai.Client(
                **(
                    vertex.client_kwargs(self._api_key, self._credentials)
                    if vertex is not None
                    else {"api_key": self._api_key, "vertexai": False}
                ),
                http_options=types.HttpOptions(
                    base_url=self._base_url if vertex is None else vertex.base_url,
                    api_version=API_VERSION if vertex is None else VERTEX_API_VERSION,
                    timeout=int(self._timeout_s * 1000),  # the SDK counts milliseconds
                    aiohttp_client=self._session,  # ours: the SDK's own subclasses ClientSession
                    # Retries are easel's (RetryPolicy). Without options the SDK retries a refused
                    # connection once on its own after sleeping 1-10 s at random, so a service that is
                    # down took up to 11 s to say so (/models, easel check, every failover).
                    retry_options=types.HttpRetryOptions(attempts=1),
                ),
            )
        log.info("gemini.started", extra={"model": self._model, "endpoint": self._where})

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aio.aclose()
            self._client = None
        if self._session is not None and self._owns_session:
            await self._session.close()
            self._session = None
            self._owns_session = False

    async def cancel(self) -> None:
        """Gemini cannot interrupt a generation; the job task is cancelled instead."""

    # -- generation --

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        started = time.monotonic()
        model = request.model or self._model
        if model not in self._models:
            raise InvalidRequest(f"{model} is not one of the models here: {', '.join(self._models)}.")
        if request.operation not in self._limits.operations:
            raise InvalidRequest(f"/{request.operation.value} isn't available on this backend.")
        low, high = self._limits.samples
        if not low <= request.samples <= high:
            raise InvalidRequest(f"{model} makes {low} to {high} images at a time.")
        contents = self._contents(request)
        first_seed = request.seed if request.seed is not None else random.randint(0, SEED_MAX)
        seeds = [(first_seed + i) % (SEED_MAX + 1) for i in range(request.samples)]
        total, done = len(seeds), 0
        if progress is not None:
            await progress(Progress(0.0, message=f"asking {model}"))

        async def one(seed: int) -> GeneratedImage:
            nonlocal done
            response = await self._send(model, contents, self._config(request, model, seed))
            reason = blocked_reason(response)
            if reason is not None:
                log.info("gemini.blocked", extra={"model": model, "reason": reason})
            image = await run_cpu(read_image, response, seed)
            del response
            done += 1
            if progress is not None and done < total:
                await progress(Progress(done / total, message=f"{done} of {total} images ready"))
            return image

        images = tuple(await asyncio.gather(*(one(s) for s in seeds)))
        filtered = sum(i.finish_reason is FinishReason.CONTENT_FILTERED for i in images)
        log.info(
            "gemini.done",
            extra={
                "model": model,
                "images": total,
                "filtered": filtered,
                "duration_s": round(time.monotonic() - started, 3),
            },
        )
        if filtered == total:
            raise ContentFiltered(log_detail=f"gemini: all {total} image(s) blocked")
        return GenerationResult(images=images, backend=self.name, model=model)

    def _contents(self, request: GenerationRequest) -> types.Content:
        parts = [types.Part.from_text(text=request.positive_prompt)]
        if request.operation is Operation.REMIX:
            if request.init_image is None:
                raise InvalidRequest("/remix needs an image: please attach one.")
            parts.append(types.Part.from_bytes(data=request.init_image.png, mime_type="image/png"))
        return types.Content(role="user", parts=parts)

    def _config(self, request: GenerationRequest, model: str, seed: int) -> types.GenerateContentConfig:
        image_config: dict[str, Any] = {}
        if request.operation is Operation.IMAGINE and request.aspect_ratio:
            image_config["aspect_ratio"] = request.aspect_ratio
        if model_spec(model).takes_image_size:
            image_config["image_size"] = self._image_size
        return types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(**image_config) if image_config else None,
            safety_settings=self._safety,
            seed=seed,
        )

    async def _send(
        self, model: str, contents: types.Content, config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        client = self._client
        if client is None:
            raise BackendUnavailable(log_detail="gemini backend used before start()")

        async def attempt() -> types.GenerateContentResponse:
            try:
                return await client.aio.models.generate_content(model=model, contents=contents, config=config)
            except genai_errors.APIError as exc:
                raise as_easel_error(exc, "generateContent") from exc
            except auth_exceptions.GoogleAuthError as exc:  # Vertex AI: the token could not be had
                raise auth_error(exc, "generateContent") from exc

        return await call_with_retries(attempt, self._policy, backend=self.name, operation="generateContent")

    # -- easel check --

    async def check(self) -> list[CheckResult]:
        """The endpoint is reachable, takes the credentials and knows the default model (no generation)."""
        client = self._client
        assert client is not None, "check() runs between start() and close()"
        return await check_endpoint(client, self._model, self._where, self._vertex)
