"""A fake OpenAI images API on 127.0.0.1: ``/v1/images/generations``, ``/v1/images/edits``, ``/v1/models``.

It checks what the real API checks (see :mod:`.rules`), answers ``b64_json`` with token usage,
and can be told to refuse: a prompt with a blocked word gets a ``moderation_blocked`` 400,
``rate_limit(times, retry_after_ms=…)`` answers 429 with OpenAI's retry headers,
``fail(times, status)`` answers a server error::

    async def test_x(openai_server: FakeOpenAI) -> None:
        ...
        sent = openai_server.last("/v1/images/edits")
        assert sent.files["mask"].mode == "RGBA"

Edits paint the prompt's colour exactly where the mask is transparent (everywhere without a
mask), so a test can see which pixels the mask let through.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

from tests.fakes.openai.rules import (
    EDIT_PARAMS,
    GENERATION_PARAMS,
    MAX_EDIT_IMAGES,
    MAX_IMAGE_BYTES,
    MAX_MASK_BYTES,
    MODELS,
    MODERATION_MESSAGE,
    ApiError,
    check_common,
    invalid,
)

__all__ = ["FakeOpenAI", "RecordedFile", "RecordedRequest"]


@dataclass(frozen=True)
class RecordedFile:
    field: str
    filename: str
    content_type: str
    data: bytes

    @property
    def image(self) -> Image.Image:
        return Image.open(io.BytesIO(self.data))


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[RecordedFile]] = field(default_factory=dict)


class FakeOpenAI:
    """One fake OpenAI-compatible images server; ``url`` is its base (``…/v1``)."""

    def __init__(self, *, api_key: str = "sk-test-fake-openai-key", models: tuple[str, ...] = MODELS,
                 blocked_words: tuple[str, ...] = ("forbidden",), delay_s: float = 0.0) -> None:  # fmt: skip
        self.api_key = api_key
        self.models = models
        self.blocked_words = blocked_words
        self.delay_s = delay_s
        self.insufficient_quota = False
        self.requests: list[RecordedRequest] = []
        self._failures: list[ApiError] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> FakeOpenAI:
        app = web.Application(middlewares=[self._middleware], client_max_size=128 * 1024 * 1024)
        app.router.add_post("/v1/images/generations", self._generations)
        app.router.add_post("/v1/images/edits", self._edits)
        app.router.add_post("/v1/images/variations", self._variations)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/v1/models/{model}", self._model)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v1"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- test controls -------------------------------------------------------------------
    def rate_limit(self, times: int = 1, *, retry_after_ms: int = 20) -> None:
        """The next ``times`` image requests answer 429 with ``retry-after-ms`` / ``retry-after``."""
        headers = {
            "retry-after-ms": str(retry_after_ms),
            "retry-after": str(max(1, retry_after_ms // 1000)),
            "x-ratelimit-limit-requests": "5",
            "x-ratelimit-remaining-requests": "0",
        }
        message = "Rate limit reached for images per minute. Please try again shortly."
        self._failures += [
            ApiError(429, message, code="rate_limit_exceeded", kind="requests", headers=headers)
        ] * times

    def fail(self, times: int = 1, status: int = 500) -> None:
        """The next ``times`` image requests answer ``status`` (a server error)."""
        error = ApiError(
            status, "The server had an error while processing your request.", code=None, kind="server_error"
        )
        self._failures += [error] * times

    def calls(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def last(self, path: str) -> RecordedRequest:
        found = self.calls(path)
        assert found, f"no request to {path}"
        return found[-1]

    # ---- plumbing --------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return ApiError(401, "Incorrect API key provided.", code="invalid_api_key").response()
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()

    def _before_images(self, fields: dict[str, Any]) -> None:
        if self._failures:
            raise self._failures.pop(0)
        if self.insufficient_quota:
            raise ApiError(429, "You exceeded your current quota, please check your plan and billing details.",
                           code="insufficient_quota", kind="insufficient_quota")  # fmt: skip
        prompt = str(fields.get("prompt", "")).lower()
        if any(word in prompt for word in self.blocked_words):
            raise ApiError(
                400, MODERATION_MESSAGE, code="moderation_blocked", kind="image_generation_user_error"
            )

    # ---- handlers ----------------------------------------------------------------------------
    async def _generations(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("application/json"):
            raise invalid("Expected a JSON body.", None, "invalid_request")
        fields = await request.json()
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.headers), json=fields)
        )
        if not isinstance(fields, dict):
            raise invalid("Expected a JSON object.", None, "invalid_request")
        model, n = check_common(fields, GENERATION_PARAMS, self.models)
        if fields.get("moderation", "auto") not in ("low", "auto"):
            raise invalid(f"Invalid value: '{fields['moderation']}'.", "moderation")
        self._before_images(fields)
        size = str(fields.get("size", "auto"))
        w, h = (1024, 1024) if size == "auto" else (int(p) for p in size.split("x"))
        colour = _colour(fields["prompt"])
        images = [_encode(Image.new("RGB", (w, h), colour)) for _ in range(n)]
        return await self._answer(images, fields, model, input_images=0)

    async def _edits(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("multipart/form-data"):
            raise invalid("Expected multipart/form-data.", None, "invalid_request")
        form, files = await _read_multipart(request)
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.headers), form=form, files=files)
        )
        for name in files:
            if name not in ("image", "image[]", "mask"):
                raise invalid(f"Unknown parameter: '{name}'.", name, "unknown_parameter")
        model, n = check_common(dict(form), EDIT_PARAMS, self.models)
        if (
            "input_fidelity" in form
            and model.startswith("gpt-image-2")
            and not model.startswith("gpt-image-2.")
        ):
            raise invalid("input_fidelity is not supported for this model; omit it.", "input_fidelity")
        images = files.get("image", []) + files.get("image[]", [])
        if not images:
            raise invalid("Missing required parameter: 'image'.", "image", "missing_required_parameter")
        if len(images) > MAX_EDIT_IMAGES:
            raise invalid(
                f"Invalid 'image': at most {MAX_EDIT_IMAGES} images.", "image", "array_above_max_length"
            )
        opened = [_open_input(f) for f in images]
        first = opened[0]
        masks = files.get("mask", [])
        alpha: Image.Image | None = None
        if masks:
            alpha = _check_mask(masks[0], first.size)
        self._before_images(dict(form))
        size = form.get("size", "auto")
        out_size = first.size if size == "auto" else tuple(int(p) for p in size.split("x"))
        colour = _colour(form["prompt"])
        paint = Image.new("RGB", first.size, colour)
        base = first.convert("RGB")
        result = Image.composite(paint, base, alpha.point(lambda a: 255 if a == 0 else 0)) if alpha else paint
        if result.size != out_size:
            result = result.resize(out_size)
        return await self._answer(
            [_encode(result) for _ in range(n)], dict(form), model, input_images=len(opened)
        )

    async def _variations(self, request: web.Request) -> web.Response:
        raise invalid("The variations endpoint is not supported for GPT image models.", "model")

    async def _models(self, request: web.Request) -> web.Response:
        data = [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "openai"} for m in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _model(self, request: web.Request) -> web.Response:
        model = request.match_info["model"]
        if model not in self.models:
            raise ApiError(404, f"The model '{model}' does not exist", code="model_not_found", param="model")
        return web.json_response(
            {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "openai"}
        )

    async def _answer(
        self, images: list[bytes], fields: dict[str, Any], model: str, *, input_images: int
    ) -> web.Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        text_tokens = len(str(fields["prompt"]).split())
        image_tokens = 272 * input_images
        output_tokens = 1056 * len(images)
        body = {
            "created": int(time.time()),
            "background": "opaque",
            "output_format": fields.get("output_format", "png"),
            "quality": "medium" if fields.get("quality", "auto") == "auto" else fields["quality"],
            "size": "{}x{}".format(*Image.open(io.BytesIO(images[0])).size),
            "data": [{"b64_json": base64.b64encode(data).decode()} for data in images],
            "usage": {
                "input_tokens": text_tokens + image_tokens,
                "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
                "output_tokens": output_tokens,
                "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
                "total_tokens": text_tokens + image_tokens + output_tokens,
            },
        }
        return web.json_response(body, headers={"x-request-id": "req_fake", "openai-model": model})


async def _read_multipart(request: web.Request) -> tuple[dict[str, str], dict[str, list[RecordedFile]]]:
    form: dict[str, str] = {}
    files: dict[str, list[RecordedFile]] = {}
    reader = await request.multipart()
    async for part in reader:
        name = part.name or ""
        if part.filename is not None:
            data = await part.read()
            content_type = part.headers.get("Content-Type", "")
            files.setdefault(name, []).append(RecordedFile(name, part.filename, content_type, bytes(data)))
        else:
            form[name] = await part.text()
    return form, files


def _open_input(upload: RecordedFile) -> Image.Image:
    if len(upload.data) >= MAX_IMAGE_BYTES:
        raise invalid("Invalid 'image': each image must be less than 50MB.", "image")
    try:
        img = Image.open(io.BytesIO(upload.data))
        img.load()
    except OSError:
        raise invalid(
            "Invalid image file or mode for image, please check your image file.",
            "image",
            "invalid_image_format",
        ) from None
    if img.format not in ("PNG", "WEBP", "JPEG"):
        raise invalid(
            f"Invalid image format {img.format}: use png, webp or jpg.", "image", "invalid_image_format"
        )
    return img


def _check_mask(upload: RecordedFile, size: tuple[int, int]) -> Image.Image:
    """The mask's alpha channel, after the API's checks: PNG, < 4 MB, has alpha, first image's size."""
    if len(upload.data) >= MAX_MASK_BYTES:
        raise invalid("Invalid 'mask': must be less than 4MB.", "mask")
    try:
        mask = Image.open(io.BytesIO(upload.data))
        mask.load()
    except OSError:
        raise invalid("Invalid mask image: not a valid PNG file.", "mask", "invalid_image_format") from None
    if mask.format != "PNG":
        raise invalid("Invalid mask image format - mask must be a PNG.", "mask", "invalid_image_format")
    if mask.mode not in ("RGBA", "LA") and "transparency" not in mask.info:
        raise invalid(
            "Invalid mask image format - mask must have an alpha channel.", "mask", "invalid_image_format"
        )
    if mask.size != size:
        raise invalid(
            "Invalid mask image - mask size does not match image size.", "mask", "invalid_image_format"
        )
    return mask.convert("RGBA").getchannel("A")


def _colour(prompt: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(prompt.encode()).digest()
    return digest[0], digest[1], digest[2]


def _encode(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()
