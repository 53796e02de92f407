"""A fake Stability AI REST v1 server on 127.0.0.1 that validates like the real one.

Fixtures (function scope, loaded for every test through ``tests/conftest.py``)::

    async def test_something(stability_server, stability_backend):
        result = await stability_backend.generate(request)
        sent = stability_server.requests_for("/text-to-image")[-1]
        assert sent.json["text_prompts"][0]["text"] == "a lighthouse"

* ``stability_server`` → a started :class:`FakeStabilityServer`:

  - ``url``: ``"http://127.0.0.1:PORT"`` (what ``STABILITY_API_HOST`` would hold);
  - ``api_key``: the only key it accepts (``Authorization: Bearer <api_key>``);
  - ``requests``: every :class:`RecordedRequest` in arrival order — ``method``, ``path``,
    ``headers`` (case-insensitive), ``json`` (JSON bodies), ``form`` (multipart text fields,
    ``{"text_prompts[0][text]": "…"}``), ``files`` (multipart files: :class:`RecordedFile`
    with ``filename``, ``content_type``, ``data``, ``size``), ``time`` (``time.monotonic()``
    at arrival) and ``status`` (the status it answered; ``None`` while in flight);
  - ``requests_for(path_part)``: the recorded requests whose path contains ``path_part``;
  - ``inject(...)``: queue a :class:`Fault` for the next matching request(s) (below);
  - ``latency_s``: extra seconds every generation request takes (default 0);
  - ``credits``: what ``GET /v1/user/balance`` reports (default 42.5);
  - ``engines``: the list ``GET /v1/engines/list`` returns (SDXL 1.0 and 0.9, SD 1.6,
    ``esrgan-v1-x2plus``); edit it to simulate an account without some engine.

* ``stability_backend`` → a started :class:`StabilityV1Backend` pointed at that server with
  millisecond retry delays (closed after the test). For other settings use
  ``async with stability_backend_for(server, max_attempts=2, timeout_s=0.5, ...) as backend``;
  keyword arguments go to the backend's constructor (``api_key=`` overrides the key).

Faults (consumed in order by the next requests whose path contains ``path``, by default
only generation requests, so a backend's ``start()`` does not eat them)::

    server.inject(status=429, retry_after=1)             # one 429 with Retry-After: 1
    server.inject(status=503, times=3)                   # the next three answer 503
    server.inject(status=400, message="invalid_prompts: One or more … filtered words")
    server.inject(delay_s=30)                            # hang 30 s (client timeouts)
    server.inject(content_filtered=True)                 # every artifact CONTENT_FILTERED
    server.inject(content_filtered=[1])                  # only artifact 1
    server.inject(finish_error=True)                     # artifacts with finishReason ERROR
    server.inject(status=500, path="/v1/user/balance")   # faults for other endpoints

What it answers: deterministic PNGs of the requested size (a solid colour derived from the
prompt, seed and index; image-to-image blends that colour with the init image by
``image_strength``; masking paints it where the mask says; upscale resizes 2x or to the
requested width/height), seeds ``seed + index`` (random when the seed is 0 or absent),
``finishReason: SUCCESS``. Errors use the API's body ``{"id", "name", "message"}``.

The rules below are written down here independently of the backend's own constants, so a
wrong constant in the backend shows up as a failing test rather than agreeing with itself.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import random
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
from aiohttp import BodyPartReader, web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict, CIMultiDictProxy
from PIL import Image, ImageOps, UnidentifiedImageError

from services.backends.stability_v1 import StabilityV1Backend

__all__ = [
    "FakeStabilityServer",
    "Fault",
    "RecordedFile",
    "RecordedRequest",
    "stability_backend",
    "stability_backend_for",
    "stability_server",
]

# --- the API's rules (from shared/specs) -------------------------------------------------------

ENGINES: tuple[dict[str, str], ...] = (
    {
        "id": "stable-diffusion-xl-1024-v1-0",
        "name": "Stable Diffusion XL v1.0",
        "description": "Stability-AI Stable Diffusion XL v1.0",
        "type": "PICTURE",
    },
    {
        "id": "stable-diffusion-xl-1024-v0-9",
        "name": "Stable Diffusion XL v0.9",
        "description": "Stability-AI Stable Diffusion XL v0.9",
        "type": "PICTURE",
    },
    {
        "id": "stable-diffusion-v1-6",
        "name": "Stable Diffusion v1.6",
        "description": "Stability-AI Stable Diffusion v1.6",
        "type": "PICTURE",
    },
    {
        "id": "esrgan-v1-x2plus",
        "name": "Real-ESRGAN x2",
        "description": "Real-ESRGAN_x2plus upscaler model",
        "type": "PICTURE",
    },
)
SDXL_ALLOWED = frozenset(
    {
        (1024, 1024),
        (1152, 896),
        (896, 1152),
        (1216, 832),
        (832, 1216),
        (1344, 768),
        (768, 1344),
        (1536, 640),
        (640, 1536),
    }
)
SAMPLER_ENUM = frozenset(
    {
        "DDIM",
        "DDPM",
        "K_DPMPP_2M",
        "K_DPMPP_2S_ANCESTRAL",
        "K_DPM_2",
        "K_DPM_2_ANCESTRAL",
        "K_EULER",
        "K_EULER_ANCESTRAL",
        "K_HEUN",
        "K_LMS",
    }
)
STYLE_PRESET_ENUM = frozenset(
    "3d-model analog-film anime cinematic comic-book digital-art enhance fantasy-art isometric "
    "line-art low-poly modeling-compound neon-punk origami photographic pixel-art tile-texture".split()
)
CLIP_GUIDANCE_ENUM = frozenset({"FAST_BLUE", "FAST_GREEN", "NONE", "SIMPLE", "SLOW", "SLOWER", "SLOWEST"})
MASK_SOURCE_ENUM = frozenset({"MASK_IMAGE_WHITE", "MASK_IMAGE_BLACK", "INIT_IMAGE_ALPHA"})
MAX_UPSCALE_PIXELS = 4_194_304

_OPTIONAL_PARAMS = frozenset(
    {"cfg_scale", "clip_guidance_preset", "sampler", "samples", "seed", "steps", "style_preset"}
)
_INT_PARAMS = frozenset({"samples", "seed", "steps", "width", "height"})
_FLOAT_PARAMS = frozenset({"cfg_scale", "image_strength", "step_schedule_start", "step_schedule_end"})
_PROMPT_FIELD = re.compile(r"text_prompts\[(\d+)\]\[(text|weight)\]")
_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    402: "payment_required",
    403: "permission_denied",
    404: "not_found",
    429: "rate_limit_exceeded",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
_ERROR_MESSAGES = {
    403: "You do not have permission to access this resource",
    429: "You have exceeded the rate limit of 150 requests within a 10 second period.",
    500: "An unexpected server error occurred, please try again.",
    503: "The service is temporarily unavailable, please try again.",
}

# --- recorder and faults -----------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedFile:
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: CIMultiDictProxy[str]
    time: float
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, RecordedFile] = field(default_factory=dict)
    status: int | None = None


@dataclass
class Fault:
    """What to do to the next ``times`` requests whose path contains ``path``."""

    status: int | None = None
    retry_after: float | str | None = None
    message: str | None = None
    delay_s: float = 0.0
    content_filtered: bool | Sequence[int] = False
    finish_error: bool | Sequence[int] = False
    path: str = "/v1/generation/"
    times: int = 1

    def flags(self, index: int) -> str | None:
        for reason, which in (("CONTENT_FILTERED", self.content_filtered), ("ERROR", self.finish_error)):
            if which is True or (not isinstance(which, bool) and index in which):
                return reason
        return None


class _ApiError(Exception):
    def __init__(self, status: int, message: str | None = None, *, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message or _ERROR_MESSAGES.get(status, "request failed")
        self.retry_after = retry_after

    def response(self) -> web.Response:
        body = {
            "id": uuid.uuid4().hex,
            "name": _ERROR_NAMES.get(self.status, "error"),
            "message": self.message,
        }
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else None
        return web.json_response(body, status=self.status, headers=headers)


def _bad(message: str) -> _ApiError:
    return _ApiError(400, message)


# --- validated parameters ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Params:
    prompts: tuple[tuple[str, float], ...]
    samples: int
    seed: int
    values: dict[str, Any]

    @property
    def prompt_key(self) -> str:
        return "|".join(f"{text}:{weight:g}" for text, weight in self.prompts)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_range(name: str, value: Any, lo: float, hi: float, *, integer: bool) -> None:
    if integer and not _is_int(value):
        raise _bad(f"{name}: must be an integer")
    if not integer and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise _bad(f"{name}: must be a number")
    if not lo <= value <= hi:
        raise _bad(f"{name}: must be between {lo:g} and {hi:g} (got {value})")


def _from_form(form: dict[str, str], allowed: frozenset[str]) -> dict[str, Any]:
    """Multipart text fields → the JSON-shaped dict the validators read."""
    params: dict[str, Any] = {}
    prompts: dict[int, dict[str, Any]] = {}
    for name, raw in form.items():
        if match := _PROMPT_FIELD.fullmatch(name):
            entry = prompts.setdefault(int(match.group(1)), {})
            if match.group(2) == "text":
                entry["text"] = raw
            else:
                try:
                    entry["weight"] = float(raw)
                except ValueError:
                    raise _bad(f"{name}: must be a number") from None
            continue
        if name not in allowed:
            raise _bad(f"{name}: unknown field")
        try:
            params[name] = int(raw) if name in _INT_PARAMS else float(raw) if name in _FLOAT_PARAMS else raw
        except ValueError:
            raise _bad(f"{name}: must be {'an integer' if name in _INT_PARAMS else 'a number'}") from None
    for index, entry in prompts.items():
        if "text" not in entry:
            raise _bad(f"text_prompts[{index}][text]: is required")
    params["text_prompts"] = [prompts[i] for i in sorted(prompts)]
    return params


def _validate(params: dict[str, Any], *, sdxl: bool) -> _Params:
    prompts = params.get("text_prompts")
    if not isinstance(prompts, list) or not prompts:
        raise _bad("text_prompts: must contain at least one prompt")
    parsed: list[tuple[str, float]] = []
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, dict) or set(prompt) - {"text", "weight"}:
            raise _bad(f"text_prompts[{i}]: must be an object with text and weight")
        text, weight = prompt.get("text"), prompt.get("weight", 1.0)
        if not isinstance(text, str) or not text.strip():
            raise _bad(f"text_prompts[{i}].text: must not be empty")
        if len(text) > 2000:
            raise _bad(f"text_prompts[{i}].text: must be at most 2000 characters")
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise _bad(f"text_prompts[{i}].weight: must be a number")
        parsed.append((text, float(weight)))
    samples = params.get("samples", 1)
    _check_range("samples", samples, 1, 10, integer=True)
    seed = params.get("seed", 0)
    _check_range("seed", seed, 0, 4_294_967_295, integer=True)
    if "steps" in params:
        _check_range("steps", params["steps"], 10, 50 if sdxl else 150, integer=True)
    if "cfg_scale" in params:
        _check_range("cfg_scale", params["cfg_scale"], 0, 35, integer=False)
    for name, allowed in (
        ("sampler", SAMPLER_ENUM),
        ("style_preset", STYLE_PRESET_ENUM),
        ("clip_guidance_preset", CLIP_GUIDANCE_ENUM),
    ):
        if name in params and params[name] not in allowed:
            raise _bad(f"{name}: must be one of {', '.join(sorted(allowed))}")
    return _Params(tuple(parsed), samples, seed, params)


def _is_sdxl(engine: str) -> bool:
    return engine.startswith("stable-diffusion-xl-1024-")


def _check_sdxl_size(engine: str, what: str, size: tuple[int, int]) -> None:
    if size not in SDXL_ALLOWED:
        allowed = ", ".join(f"{w}x{h}" for w, h in sorted(SDXL_ALLOWED))
        raise _bad(
            f"invalid_height_or_width: {what} {size[0]}x{size[1]} is not allowed for {engine}; "
            f"allowed dimensions are {allowed}"
        )


# --- image work (run in a thread) --------------------------------------------------------------


def _encode(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _colour(key: str, seed: int, index: int) -> tuple[int, int, int]:
    digest = hashlib.sha256(f"{key}\x00{seed}\x00{index}".encode()).digest()
    return digest[0], digest[1], digest[2]


def _open(data: bytes, name: str) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise _bad(f"invalid_mime_type: {name} is not a decodable image ({exc})") from None
    return img


def _image_size(data: bytes, name: str) -> tuple[int, int]:
    with _open(data, name) as img:
        return img.size


def _render_solid(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    return _encode(Image.new("RGB", size, colour))


def _render_blend(init: bytes, colour: tuple[int, int, int], keep: float) -> bytes:
    with _open(init, "init_image") as img:
        base = img.convert("RGB")
    return _encode(Image.blend(Image.new("RGB", base.size, colour), base, keep))


def _render_masked(init: bytes, mask: bytes | None, source: str, colour: tuple[int, int, int]) -> bytes:
    with _open(init, "init_image") as img:
        base = img.convert("RGB")
        alpha = img.convert("RGBA").getchannel("A")
    if source == "INIT_IMAGE_ALPHA" or mask is None:
        repaint = ImageOps.invert(alpha)  # transparent pixels are repainted
    else:
        with _open(mask, "mask_image") as m:
            grey = m.convert("L")
        repaint = grey if source == "MASK_IMAGE_WHITE" else ImageOps.invert(grey)
    return _encode(Image.composite(Image.new("RGB", base.size, colour), base, repaint))


def _render_upscale(data: bytes, size: tuple[int, int]) -> bytes:
    with _open(data, "image") as img:
        return _encode(img.convert("RGB").resize(size, Image.Resampling.NEAREST))


_RECORD = web.RequestKey("stability_record", RecordedRequest)
_FAULT: web.RequestKey[Fault | None] = web.RequestKey("stability_fault")

# --- the server --------------------------------------------------------------------------------


class FakeStabilityServer:
    """See the module docstring. Start with ``await start()`` or ``async with``."""

    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key or f"sk-fake-{secrets.token_hex(16)}"
        self.requests: list[RecordedRequest] = []
        self.latency_s = 0.0
        self.credits = 42.5
        self.engines: list[dict[str, str]] = [dict(e) for e in ENGINES]
        self._faults: list[Fault] = []
        self._closing = asyncio.Event()
        self._rng = random.Random()
        self._server: TestServer | None = None

    # -- lifecycle --

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Stability server is not started")
        return f"http://127.0.0.1:{self._server.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/v1/engines/list", self._engines_list)
        app.router.add_get("/v1/user/balance", self._balance)
        app.router.add_get("/v1/user/account", self._account)
        app.router.add_post("/v1/generation/{engine_id}/text-to-image", self._text_to_image)
        app.router.add_post("/v1/generation/{engine_id}/image-to-image", self._image_to_image)
        app.router.add_post("/v1/generation/{engine_id}/image-to-image/masking", self._masking)
        app.router.add_post("/v1/generation/{engine_id}/image-to-image/upscale", self._upscale)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server(shutdown_timeout=2.0)

    async def close(self) -> None:
        self._closing.set()
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakeStabilityServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- test API --

    def inject(
        self,
        *,
        status: int | None = None,
        retry_after: float | str | None = None,
        message: str | None = None,
        delay_s: float = 0.0,
        content_filtered: bool | Sequence[int] = False,
        finish_error: bool | Sequence[int] = False,
        path: str = "/v1/generation/",
        times: int = 1,
    ) -> Fault:
        """Queue a fault for the next ``times`` requests whose path contains ``path``."""
        fault = Fault(status, retry_after, message, delay_s, content_filtered, finish_error, path, times)
        self._faults.append(fault)
        return fault

    def requests_for(self, path_part: str) -> list[RecordedRequest]:
        return [r for r in self.requests if path_part in r.path]

    # -- plumbing --

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.path in path and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _sleep(self, seconds: float) -> None:
        """Sleep that ends early when the server closes, so hung requests never stall teardown."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            time=time.monotonic(),
        )
        self.requests.append(record)
        request[_RECORD] = record
        try:
            body_error = await self._read_body(request, record)
            fault = self._take_fault(request.path)
            request[_FAULT] = fault
            if fault is not None and fault.delay_s:
                await self._sleep(fault.delay_s)
            if fault is not None and fault.status is not None:
                retry_after = None if fault.retry_after is None else str(fault.retry_after)
                raise _ApiError(fault.status, fault.message, retry_after=retry_after)
            self._authorize(request)
            if body_error is not None:
                raise body_error
            response = await handler(request)
        except _ApiError as err:
            response = err.response()
        except web.HTTPException as exc:
            response = _ApiError(exc.status, exc.reason).response()
        record.status = response.status
        return response

    async def _read_body(self, request: web.Request, record: RecordedRequest) -> _ApiError | None:
        if request.method != "POST":
            return None
        if request.content_type == "application/json":
            raw = await request.read()
            try:
                record.json = json.loads(raw)
            except ValueError:
                return _bad("body: invalid JSON")
            return None
        if request.content_type == "multipart/form-data":
            duplicate: str | None = None
            try:
                reader = await request.multipart()
                async for part in reader:
                    if not isinstance(part, BodyPartReader) or part.name is None:
                        return _bad("multipart: every part needs a name")
                    if part.name in record.form or part.name in record.files:
                        duplicate = part.name
                    data = bytes(await part.read(decode=True))
                    if part.filename is not None:
                        ctype = part.headers.get("Content-Type")
                        record.files[part.name] = RecordedFile(part.filename, ctype, data)
                    else:
                        record.form[part.name] = data.decode("utf-8", errors="replace")
            except (ValueError, AssertionError) as exc:
                return _bad(f"multipart: malformed body ({exc})")
            return _bad(f"{duplicate}: given more than once") if duplicate else None
        return _bad(f"Content-Type {request.content_type or '(none)'} is not supported here")

    def _authorize(self, request: web.Request) -> None:
        header = request.headers.get("Authorization")
        if not header:
            raise _ApiError(401, "missing authorization header")
        scheme, _, key = header.partition(" ")
        if scheme != "Bearer" or key != self.api_key:
            raise _ApiError(401, "Incorrect API key provided.")

    def _engine(self, request: web.Request, *, upscaler: bool) -> str:
        engine = request.match_info["engine_id"]
        if engine not in {e["id"] for e in self.engines}:
            raise _ApiError(404, f"The specified engine (ID {engine}) was not found.")
        if engine.startswith("esrgan-") != upscaler:
            what = "upscaling" if upscaler else "generation"
            raise _bad(f"engine {engine} cannot be used for {what}")
        return engine

    @staticmethod
    def _file(record: RecordedRequest, name: str) -> bytes:
        if name in record.form:
            raise _bad(f"{name}: must be a file")
        if name not in record.files:
            raise _bad(f"{name}: is required")
        return record.files[name].data

    # -- handlers --

    async def _engines_list(self, request: web.Request) -> web.Response:
        return web.json_response(self.engines)

    async def _balance(self, request: web.Request) -> web.Response:
        return web.json_response({"credits": self.credits})

    async def _account(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "id": "user-fake",
                "email": "easel@example.com",
                "profile_picture": "https://example.com/avatar.png",
                "organizations": [
                    {"id": "org-fake", "name": "Fake Org", "role": "MEMBER", "is_default": True}
                ],
            }
        )

    async def _text_to_image(self, request: web.Request) -> web.StreamResponse:
        engine = self._engine(request, upscaler=False)
        body = request[_RECORD].json
        if not isinstance(body, dict):
            raise _bad("body: must be a JSON object (Content-Type: application/json)")
        unknown = set(body) - _OPTIONAL_PARAMS - {"text_prompts", "width", "height"}
        if unknown:
            raise _bad(f"{sorted(unknown)[0]}: unknown field")
        sdxl = _is_sdxl(engine)
        params = _validate(body, sdxl=sdxl)
        default = 1024 if sdxl else 512
        width, height = body.get("width", default), body.get("height", default)
        if not _is_int(width) or not _is_int(height):
            raise _bad("width/height: must be integers")
        if sdxl:
            _check_sdxl_size(engine, "width x height", (width, height))
        elif width % 64 or height % 64 or width < 128 or height < 128:
            raise _bad("invalid_height_or_width: height and width must be specified in increments of 64")
        elif not (589_824 if "768" in engine else 262_144) <= width * height <= 1_048_576:
            raise _bad("invalid_pixel_count: incorrect number of pixels specified")
        await self._sleep(self.latency_s)

        async def render(seed: int, index: int) -> bytes:
            return await asyncio.to_thread(
                _render_solid, (width, height), _colour(params.prompt_key, seed, index)
            )

        return await self._artifacts(request, params, render)

    async def _image_to_image(self, request: web.Request) -> web.StreamResponse:
        engine = self._engine(request, upscaler=False)
        record: RecordedRequest = request[_RECORD]
        allowed = _OPTIONAL_PARAMS | {
            "init_image_mode",
            "image_strength",
            "step_schedule_start",
            "step_schedule_end",
        }
        params = _validate(
            _from_form(record.form, allowed | {"init_image"}),
            sdxl=_is_sdxl(engine),
        )
        init = self._file(record, "init_image")
        size = await asyncio.to_thread(_image_size, init, "init_image")
        if _is_sdxl(engine):
            _check_sdxl_size(engine, "init_image", size)
        values = params.values
        mode = values.get("init_image_mode", "IMAGE_STRENGTH")
        if mode == "IMAGE_STRENGTH":
            if "step_schedule_start" in values or "step_schedule_end" in values:
                raise _bad("step_schedule_*: only allowed with init_image_mode STEP_SCHEDULE")
            keep = values.get("image_strength", 0.35)
            _check_range("image_strength", keep, 0, 1, integer=False)
        elif mode == "STEP_SCHEDULE":
            if "image_strength" in values:
                raise _bad("image_strength: only allowed with init_image_mode IMAGE_STRENGTH")
            start = values.get("step_schedule_start", 0.65)
            _check_range("step_schedule_start", start, 0, 1, integer=False)
            if "step_schedule_end" in values:
                _check_range("step_schedule_end", values["step_schedule_end"], 0, 1, integer=False)
            keep = 1.0 - start
        else:
            raise _bad("init_image_mode: must be one of IMAGE_STRENGTH, STEP_SCHEDULE")
        await self._sleep(self.latency_s)

        async def render(seed: int, index: int) -> bytes:
            colour = _colour(params.prompt_key, seed, index)
            return await asyncio.to_thread(_render_blend, init, colour, keep)

        return await self._artifacts(request, params, render)

    async def _masking(self, request: web.Request) -> web.StreamResponse:
        engine = self._engine(request, upscaler=False)
        record: RecordedRequest = request[_RECORD]
        allowed = _OPTIONAL_PARAMS | {"mask_source", "init_image", "mask_image"}
        params = _validate(_from_form(record.form, allowed), sdxl=_is_sdxl(engine))
        source = params.values.get("mask_source")
        if source is None:
            raise _bad("mask_source: is required")
        if source not in MASK_SOURCE_ENUM:
            raise _bad(f"mask_source: must be one of {', '.join(sorted(MASK_SOURCE_ENUM))}")
        init = self._file(record, "init_image")
        size = await asyncio.to_thread(_image_size, init, "init_image")
        if _is_sdxl(engine):
            _check_sdxl_size(engine, "init_image", size)
        mask: bytes | None = None
        if source != "INIT_IMAGE_ALPHA":
            if "mask_image" not in record.files and "mask_image" not in record.form:
                raise _bad(f"invalid_mask_image: mask_source is {source} but no mask_image was provided")
            mask = self._file(record, "mask_image")
            mask_size = await asyncio.to_thread(_image_size, mask, "mask_image")
            if mask_size != size:
                raise _bad(
                    f"invalid_image_dimensions: init_image is {size[0]}x{size[1]} "
                    f"but mask_image is {mask_size[0]}x{mask_size[1]}"
                )
        await self._sleep(self.latency_s)

        async def render(seed: int, index: int) -> bytes:
            colour = _colour(params.prompt_key, seed, index)
            return await asyncio.to_thread(_render_masked, init, mask, source, colour)

        return await self._artifacts(request, params, render)

    async def _upscale(self, request: web.Request) -> web.StreamResponse:
        self._engine(request, upscaler=True)
        record: RecordedRequest = request[_RECORD]
        values = _from_form(record.form, frozenset({"image", "width", "height"}))
        if values.pop("text_prompts"):
            raise _bad("text_prompts: unknown field")
        image = self._file(record, "image")
        w, h = await asyncio.to_thread(_image_size, image, "image")
        if "width" in values and "height" in values:
            raise _bad("width, height: only one of width or height may be specified")
        if "width" in values:
            _check_range("width", values["width"], 512, 1 << 20, integer=True)
            size = (values["width"], round(h * values["width"] / w))
        elif "height" in values:
            _check_range("height", values["height"], 512, 1 << 20, integer=True)
            size = (round(w * values["height"] / h), values["height"])
        else:
            size = (w * 2, h * 2)
        if size[0] * size[1] > MAX_UPSCALE_PIXELS:
            raise _bad(
                "invalid_pixel_count: The requested image would exceed the maximum pixel count of 4,194,304"
            )
        await self._sleep(self.latency_s)
        params = _Params(prompts=(), samples=1, seed=0, values=values)

        async def render(seed: int, index: int) -> bytes:
            return await asyncio.to_thread(_render_upscale, image, size)

        return await self._artifacts(request, params, render, fixed_seed=0)

    async def _artifacts(
        self,
        request: web.Request,
        params: _Params,
        render: Callable[[int, int], Awaitable[bytes]],
        *,
        fixed_seed: int | None = None,
    ) -> web.StreamResponse:
        """Render ``params.samples`` artifacts and answer as JSON (or one PNG for Accept: image/png)."""
        accept = request.headers.get("Accept", "application/json")
        png_only = "image/png" in accept and "application/json" not in accept
        if png_only and params.samples != 1:
            raise _bad(
                "invalid_samples: Sample count may only be greater than 1 "
                "when the accept header is set to application/json"
            )
        fault = request[_FAULT]
        artifacts: list[dict[str, Any]] = []
        for index in range(params.samples):
            if fixed_seed is not None:
                seed = fixed_seed
            elif params.seed:
                seed = (params.seed + index) % 4_294_967_296
            else:
                seed = self._rng.randrange(1, 4_294_967_296)
            reason = (fault.flags(index) if fault is not None else None) or "SUCCESS"
            if reason == "ERROR":
                data = b""
            elif reason == "CONTENT_FILTERED":  # the real API sends a blurred picture
                data = await render(0, -1)
            else:
                data = await render(seed, index)
            artifacts.append({"base64": _b64(data), "seed": seed, "finishReason": reason})
        if png_only:
            only = artifacts[0]
            return web.Response(
                body=base64.b64decode(only["base64"]),
                content_type="image/png",
                headers={"Finish-Reason": only["finishReason"], "Seed": str(only["seed"])},
            )
        return web.json_response({"artifacts": artifacts})


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- fixtures ----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def stability_backend_for(
    server: FakeStabilityServer, **overrides: Any
) -> AsyncIterator[StabilityV1Backend]:
    """A started backend pointed at ``server``; keyword arguments go to its constructor."""
    api_key = overrides.pop("api_key", server.api_key)
    options: dict[str, Any] = {"host": server.url, "retry_base_delay_s": 0.01, "timeout_s": 10.0}
    options.update(overrides)
    backend = StabilityV1Backend(api_key, **options)
    try:
        await backend.start()
        yield backend
    finally:
        await backend.close()


@pytest_asyncio.fixture
async def stability_server() -> AsyncIterator[FakeStabilityServer]:
    async with FakeStabilityServer() as server:
        yield server


@pytest_asyncio.fixture
async def stability_backend(stability_server: FakeStabilityServer) -> AsyncIterator[StabilityV1Backend]:
    async with stability_backend_for(stability_server) as backend:
        yield backend
