"""A fake Gemini API on 127.0.0.1: ``models/{model}:generateContent`` with image output and
``models/{model}``, and the same models on Vertex AI's paths (``v1beta1``, see below).

It checks what the real API checks (:mod:`.rules`) and answers as the API does: one candidate
holding one ``inlineData`` PNG, ``usageMetadata``, ``modelVersion``. Prompts with a blocked word are
refused the two ways Gemini refuses: ``promptFeedback.blockReason`` (the word ``forbidden``) or a
candidate with ``finishReason: IMAGE_SAFETY`` and no image (``unsafe``). ``rate_limit(times)``
answers 429 ``RESOURCE_EXHAUSTED`` with a ``RetryInfo``; ``fail(times)`` a 503::

    sent = gemini_server.last_body()
    assert sent["generationConfig"]["imageConfig"]["aspectRatio"] == "16:9"

Edits (an image part beside the text) come back as that image tinted with the prompt's colour,
keeping its shape, so a test can tell an edit from a fresh picture.

Vertex AI, as the SDK calls it (``vertexai=True``) and as Google answers:

* ``POST /v1beta1/projects/{project}/locations/{location}/publishers/google/models/{m}:generateContent``
  (and ``:countTokens``) with ``Authorization: Bearer <token>``, a token the fake token endpoint
  (:mod:`.oauth`) issued into ``bearer_tokens``; no or an unknown token → 401 ``UNAUTHENTICATED``,
  another project → 403 ``PERMISSION_DENIED``, an unknown location → 400;
* express mode: ``POST /v1beta1/publishers/google/models/{m}:…`` with ``x-goog-api-key`` =
  ``express_key`` (a wrong key → 400 ``API_KEY_INVALID``; a Bearer token there → 401);
* ``GET /v1beta1/publishers/google/models/{m}`` with either.

Other paths are 404 as Google's front end answers them (no JSON body), and Gemini API paths take
only the Gemini API key.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from PIL import Image

from tests.fakes.gemini.rules import (
    ASPECT_RATIOS,
    IMAGE_SIZES,
    MIME_TYPES,
    MODELS,
    REQUEST_FIELDS,
    ApiError,
    check_config,
    check_safety,
    invalid,
    unknown_fields,
)
from tests.fakes.local_http import LocalHttp

__all__ = ["FakeGemini", "RecordedRequest"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


class FakeGemini:
    """One fake Gemini API; ``url`` is its base (the SDK adds ``/v1beta/…``)."""

    def __init__(
        self,
        *,
        api_key: str = "AIza-fake-gemini-key-0123456789",
        models: tuple[str, ...] = MODELS,
        project: str = "easel-test",
        locations: tuple[str, ...] = ("global", "us-central1"),
        express_key: str = "AQ.fake-vertex-express-key-0123456789",
    ) -> None:
        self.api_key = api_key
        self.project = project
        self.locations = locations
        self.express_key = express_key
        self.bearer_tokens: set[str] = set()  # access tokens the fake token endpoint issued
        self.models = models
        self.requests: list[RecordedRequest] = []
        self.delay_s = 0.0  # extra seconds every generateContent answer takes (latency benchmarks)
        self.drops = 0  # the next N requests lose their connection before any answer (a proxy restart)
        self._failures: list[ApiError] = []
        self._http = LocalHttp()

    async def start(self) -> FakeGemini:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1beta/models/{action}", self._generate)
        app.router.add_get("/v1beta/models/{model}", self._model)
        vertex_models = "/v1beta1/projects/{project}/locations/{location}/publishers/google/models/{action}"
        app.router.add_post(vertex_models, self._vertex_call)
        app.router.add_post("/v1beta1/publishers/google/models/{action}", self._vertex_call)
        app.router.add_get("/v1beta1/publishers/google/models/{model}", self._model)
        await self._http.serve(app)
        return self

    @property
    def url(self) -> str:
        return self._http.url

    async def close(self) -> None:
        await self._http.close()

    # ---- test controls ----------------------------------------------------------------------
    def rate_limit(self, times: int = 1, *, retry_delay: str = "0.02s") -> None:
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaMetric": "generate_content_requests"}],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay},
        ]
        error = ApiError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", details)
        self._failures += [error] * times

    def fail(self, times: int = 1, code: int = 503) -> None:
        self._failures += [
            ApiError(code, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        ] * times

    def generations(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(":generateContent")]

    def last_body(self) -> Any:
        found = self.generations()
        assert found, "no generateContent request"
        return found[-1].json

    # ---- plumbing ------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return invalid("Invalid JSON payload received.").response()
        self.requests.append(RecordedRequest(request.method, request.path, dict(request.headers), body))
        if self.drops > 0 and request.transport is not None:
            self.drops -= 1
            request.transport.abort()
            return web.Response(status=500)  # never sent: the connection is gone
        if request.match_info.http_exception is not None:  # no such path: 404 before any auth, as Google
            raise request.match_info.http_exception
        if request.path.startswith("/v1beta1/"):
            refusal = self._vertex_refusal(request)
            if refusal is not None:
                return refusal.response()
        elif request.headers.get("x-goog-api-key") != self.api_key:
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ]
            return ApiError(
                400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details
            ).response()
        if self.delay_s and request.path.endswith(":generateContent"):
            await asyncio.sleep(self.delay_s)
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()

    def _vertex_refusal(self, request: web.Request) -> ApiError | None:
        """Vertex AI's authentication and resource checks, before the model is looked at."""
        bearer = request.headers.get("Authorization", "")
        key = request.headers.get("x-goog-api-key")
        scoped = "project" in request.match_info
        if bearer.startswith("Bearer ") and (bearer[7:] not in self.bearer_tokens or not scoped):
            return ApiError(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
            )
        if not bearer and key is not None and (key != self.express_key or scoped):
            details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]
            return ApiError(
                400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details
            )
        if not bearer and key is None:
            return ApiError(
                401,
                "UNAUTHENTICATED",
                "Request is missing required authentication credential. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
            )
        if scoped and request.match_info["project"] != self.project:
            return ApiError(
                403,
                "PERMISSION_DENIED",
                f"Permission 'aiplatform.endpoints.predict' denied on resource "
                f"'projects/{request.match_info['project']}' (or it may not exist).",
            )
        if scoped and request.match_info["location"] not in self.locations:
            return invalid(f"Unsupported location: {request.match_info['location']}")
        return None

    def _known(self, model: str) -> None:
        if model not in self.models:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version v1beta, or is not supported for generateContent.",
            )

    # ---- handlers ----------------------------------------------------------------------------
    async def _model(self, request: web.Request) -> web.Response:
        model = request.match_info["model"]
        self._known(model)
        return web.json_response({
            "name": f"models/{model}", "version": "001", "displayName": model,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
        })  # fmt: skip

    async def _vertex_call(self, request: web.Request) -> web.Response:
        model, _, method = request.match_info["action"].partition(":")
        if method != "countTokens":
            return await self._generate(request)
        self._known(model)
        body = self.requests[-1].json
        if not isinstance(body, dict):
            raise invalid("Invalid JSON payload received.")
        unknown_fields(body, REQUEST_FIELDS, "")
        texts, images = self._parts(model, body.get("contents"))
        return web.json_response({"totalTokens": len(" ".join(texts).split()) + 258 * len(images)})

    async def _generate(self, request: web.Request) -> web.Response:
        model, _, method = request.match_info["action"].partition(":")
        if method != "generateContent":
            raise ApiError(404, "NOT_FOUND", f"Method {method} not found.")
        self._known(model)
        body = self.requests[-1].json
        if not isinstance(body, dict):
            raise invalid("Invalid JSON payload received.")
        unknown_fields(body, REQUEST_FIELDS, "")
        ratio, size = check_config(model, body.get("generationConfig"))
        check_safety(body.get("safetySettings"))
        texts, images = self._parts(model, body.get("contents"))
        if self._failures:
            raise self._failures.pop(0)
        prompt = " ".join(texts).lower()
        usage = {"promptTokenCount": len(prompt.split()) + 258 * len(images), "totalTokenCount": 0}
        if "forbidden" in prompt:
            return web.json_response(
                {
                    "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                    "usageMetadata": usage,
                    "modelVersion": model,
                }
            )
        if "unsafe" in prompt:
            candidate = {"finishReason": "IMAGE_SAFETY", "index": 0}
            return web.json_response(
                {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model}
            )
        picture = self._picture(prompt, images, ratio, size)
        usage.update(candidatesTokenCount=1290, totalTokenCount=usage["promptTokenCount"] + 1290)
        candidate = {
            "content": {
                "role": "model",
                "parts": [
                    {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(picture).decode()}}
                ],
            },
            "finishReason": "STOP",
            "index": 0,
        }
        return web.json_response(
            {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": "fake-1"}
        )

    def _parts(self, model: str, contents: Any) -> tuple[list[str], list[Image.Image]]:
        if not isinstance(contents, list) or not contents:
            raise invalid("* GenerateContentRequest.contents: contents is not specified")
        texts: list[str] = []
        images: list[Image.Image] = []
        for content in contents:
            for part in content.get("parts") or []:
                if "text" in part:
                    texts.append(str(part["text"]))
                    continue
                blob = part.get("inlineData") or part.get("inline_data")
                if not isinstance(blob, dict):
                    raise invalid("* GenerateContentRequest.contents.parts: a part must have data")
                mime = blob.get("mimeType") or blob.get("mime_type")
                if mime not in MIME_TYPES:
                    raise invalid(f"Unsupported MIME type: {mime}")
                try:
                    # Proto JSON bytes: standard or URL-safe base64 (the SDK sends the latter).
                    data = str(blob.get("data", "")).replace("-", "+").replace("_", "/")
                    raw = base64.b64decode(data, validate=True)
                    img = Image.open(io.BytesIO(raw))
                    img.load()
                except (binascii.Error, OSError):
                    raise invalid(
                        "Unable to process input image. Please retry or report the problem."
                    ) from None
                images.append(img)
        limit = 3 if model.startswith("gemini-2") else 14
        if len(images) > limit:
            raise invalid(f"Too many input images: {model} takes at most {limit}.")
        if not any(t.strip() for t in texts):
            raise invalid("* GenerateContentRequest.contents: a text prompt is required for image generation")
        return texts, images

    def _picture(self, prompt: str, images: list[Image.Image], ratio: str | None, size: str | None) -> bytes:
        digest = hashlib.sha256(prompt.encode()).digest()
        colour = (digest[0], digest[1], digest[2])
        scale = IMAGE_SIZES.get(size or "1K", 1)
        if images and ratio is None:
            src = images[0]
            nearest = min(
                ASPECT_RATIOS,
                key=lambda r: abs(ASPECT_RATIOS[r][0] / ASPECT_RATIOS[r][1] - src.width / src.height),
            )
            w, h = ASPECT_RATIOS[nearest]
            out = Image.blend(
                src.convert("RGB").resize((w * scale, h * scale)),
                Image.new("RGB", (w * scale, h * scale), colour),
                0.5,
            )
        else:
            w, h = ASPECT_RATIOS[ratio or "1:1"]
            out = Image.new("RGB", (w * scale, h * scale), colour)
        buffer = io.BytesIO()
        out.save(buffer, "PNG", compress_level=1)
        return buffer.getvalue()
