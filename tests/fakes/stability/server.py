"""A fake Stability AI server (REST v1 and v2beta Stable Image) on 127.0.0.1 that validates like the real one.

Fixtures (function scope, in ``harness``, loaded for every test through ``tests/conftest.py``)::

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

v2beta (``/v2beta/stable-image/...``, see ``stability_v2_backend`` / ``stability_v2_backend_for``
in ``harness``) answers multipart requests one image each: with ``Accept: image/*`` the image bytes with
``finish-reason`` and ``seed`` headers, with ``Accept: application/json`` ``{"image", "finish_reason",
"seed"}``. It validates fields like the API reference (and refuses unknown fields, which the real
API may ignore, so stray fields from the backend show up). Its errors are ``{"id", "name",
"errors": [...]}``. Extra knobs:

  - ``rate_limit_requests`` / ``rate_limit_window_s`` / ``rate_limit_timeout_s`` (150 per 10 s,
    then 429 for 60 s — for every path, v1 included, counted per ``Authorization`` header in a
    sliding window); ``rate_limited`` counts the 429s it gave for that reason;
  - ``result_polls``: how many ``202 in-progress`` answers ``GET /v2beta/results/{id}`` gives
    before the image (creative upscale; default 3); ``results`` holds the generations by id;
  - ``moderated_terms``: prompt words answered with ``403 content_moderation``;
  - bodies over 10 MiB are answered ``413 payload_too_large``;
  - ``inject(..., path=V2)`` faults for v2beta requests (``content_filtered=True`` answers 200
    with ``finish-reason: CONTENT_FILTERED``; ``name=`` sets the error name, e.g.
    ``inject(status=422, name="invalid_language", message="English is the only supported
    language.", path=V2)``).

The rules (in ``rules``) are written down independently of the backend's own constants, so a
wrong constant in the backend shows up as a failing test rather than agreeing with itself.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import math
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict, CIMultiDictProxy

from tests.fakes.stability.render import (
    _colour,
    _image_info,
    _image_size,
    _render_blend,
    _render_masked,
    _render_solid,
    _render_upscale,
    _v2_blend,
    _v2_cutout,
    _v2_inpaint,
    _v2_outpaint,
    _v2_replace,
    _v2_solid,
    _v2_upscale,
)
from tests.fakes.stability.rules import (
    _OPTIONAL_PARAMS,
    _RULE_CREATIVE,
    _RULE_CUTOUT,
    _RULE_EDIT,
    _RULE_FAST,
    _RULE_GENERATE,
    _RULE_INPAINT,
    ENGINES,
    MASK_SOURCE_ENUM,
    MAX_UPSCALE_PIXELS,
    MODERATION_MESSAGE,
    OUTPUT_FORMATS,
    PROMPT_WEIGHT_RE,
    RESULTS_ACCEPT,
    SD3_MODELS,
    STYLE_PRESET_ENUM,
    V1_6_SIDES,
    V2,
    V2_MAX_BODY,
    V2_SEED_MAX,
    V2_SIZES,
    _ApiError,
    _bad,
    _check_range,
    _check_sdxl_size,
    _from_form,
    _ImageRule,
    _is_int,
    _is_sdxl,
    _Params,
    _validate,
)

__all__ = [
    "FakeStabilityServer",
    "Fault",
    "RecordedFile",
    "RecordedRequest",
]

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
    name: str | None = None  # the error's name (v2beta bodies), e.g. "content_moderation"

    def flags(self, index: int) -> str | None:
        for reason, which in (("CONTENT_FILTERED", self.content_filtered), ("ERROR", self.finish_error)):
            if which is True or (not isinstance(which, bool) and index in which):
                return reason
        return None


@dataclass
class _Generation:
    """An asynchronous generation (creative upscale) waiting to be polled."""

    owner: str  # the Authorization header that submitted it
    polls_left: int
    image: bytes
    content_type: str
    seed: int


_RECORD = web.RequestKey("stability_record", RecordedRequest)
_FAULT: web.RequestKey[Fault | None] = web.RequestKey("stability_fault")

# --- the server --------------------------------------------------------------------------------


class FakeStabilityServer:
    """See the module docstring. Start with ``await start()`` or ``async with``."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        rate_limit_requests: int | None = 150,
        rate_limit_window_s: float = 10.0,
        rate_limit_timeout_s: float = 60.0,
        result_polls: int = 3,
    ) -> None:
        self.api_key = api_key or f"sk-fake-{secrets.token_hex(16)}"
        self.requests: list[RecordedRequest] = []
        self.latency_s = 0.0
        self.credits = 42.5
        self.engines: list[dict[str, str]] = [dict(e) for e in ENGINES]
        self.rate_limit_requests = rate_limit_requests  # None: no rate limit
        self.rate_limit_window_s = rate_limit_window_s
        self.rate_limit_timeout_s = rate_limit_timeout_s
        self.rate_limited = 0  # 429s answered because of the rate limit (not injected ones)
        self.result_polls = result_polls
        self.results: dict[str, _Generation] = {}
        self.moderated_terms: set[str] = {"forbidden-fruit"}
        self._admitted: dict[str, deque[float]] = {}
        self._timed_out_until: dict[str, float] = {}
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
        v2 = "/v2beta/stable-image"
        app.router.add_post(f"{v2}/generate/core", self._v2_core)
        app.router.add_post(f"{v2}/generate/ultra", self._v2_ultra)
        app.router.add_post(f"{v2}/generate/sd3", self._v2_sd3)
        app.router.add_post(f"{v2}/edit/inpaint", self._v2_inpaint)
        app.router.add_post(f"{v2}/edit/outpaint", self._v2_outpaint)
        app.router.add_post(f"{v2}/edit/search-and-replace", self._v2_replace)
        app.router.add_post(f"{v2}/edit/remove-background", self._v2_cutout)
        app.router.add_post(f"{v2}/upscale/fast", self._v2_upscale_fast)
        app.router.add_post(f"{v2}/upscale/conservative", self._v2_upscale_conservative)
        app.router.add_post(f"{v2}/upscale/creative", self._v2_upscale_creative)
        app.router.add_get("/v2beta/results/{generation_id}", self._v2_result)
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
        name: str | None = None,
    ) -> Fault:
        """Queue a fault for the next ``times`` requests whose path contains ``path``."""
        fault = Fault(
            status, retry_after, message, delay_s, content_filtered, finish_error, path, times, name
        )
        self._faults.append(fault)
        return fault

    def requests_for(self, path_part: str) -> list[RecordedRequest]:
        return [r for r in self.requests if path_part in r.path]

    def max_in_window(self, window_s: float | None = None) -> int:
        """The most requests that arrived within any ``window_s`` (default: the rate-limit window)."""
        window = self.rate_limit_window_s if window_s is None else window_s
        times = sorted(r.time for r in self.requests)
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

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

    def _check_rate(self, request: web.Request, now: float) -> None:
        """150 requests per sliding 10 s per key; the 151st is refused and the key timed out."""
        limit = self.rate_limit_requests
        if limit is None:
            return
        key = request.headers.get("Authorization", "")
        window = self.rate_limit_window_s
        if now < self._timed_out_until.get(key, 0.0):
            self.rate_limited += 1
            raise self._rate_error(key, now)
        admitted = self._admitted.setdefault(key, deque())
        while admitted and now - admitted[0] >= window:
            admitted.popleft()
        if len(admitted) >= limit:
            self._timed_out_until[key] = now + self.rate_limit_timeout_s
            self.rate_limited += 1
            raise self._rate_error(key, now)
        admitted.append(now)

    def _rate_error(self, key: str, now: float) -> _ApiError:
        wait = max(self._timed_out_until.get(key, now) - now, 0.0)
        return _ApiError(
            429,
            f"You have exceeded the rate limit of {self.rate_limit_requests} requests within a "
            f"{self.rate_limit_window_s:g} second period, and have been timed out for "
            f"{self.rate_limit_timeout_s:g} seconds.",
            retry_after=str(math.ceil(wait)),
        )

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
        v2 = request.path.startswith(V2)
        try:
            self._check_rate(request, record.time)
            too_large = v2 and (request.content_length or 0) > V2_MAX_BODY
            if too_large:
                await request.read()  # drain it, so the client reads our answer
                raise _ApiError(413, "body: payloads cannot be larger than 10MiB in size")
            body_error = await self._read_body(request, record)
            if v2 and sum(f.size for f in record.files.values()) > V2_MAX_BODY:
                raise _ApiError(413, "body: payloads cannot be larger than 10MiB in size")
            fault = self._take_fault(request.path)
            request[_FAULT] = fault
            if fault is not None and fault.delay_s:
                await self._sleep(fault.delay_s)
            if fault is not None and fault.status is not None:
                retry_after = None if fault.retry_after is None else str(fault.retry_after)
                raise _ApiError(fault.status, fault.message, retry_after=retry_after, name=fault.name)
            self._authorize(request)
            if body_error is not None:
                raise body_error
            response = await handler(request)
        except _ApiError as err:
            response = err.response(v2=v2)
        except web.HTTPException as exc:
            response = _ApiError(exc.status, exc.reason).response(v2=v2)
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
                "profile_picture": "http://127.0.0.1:9/avatar.png",
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
        elif engine in V1_6_SIDES and not all(
            V1_6_SIDES[engine][0] <= side <= V1_6_SIDES[engine][1] for side in (width, height)
        ):
            low, high = V1_6_SIDES[engine]
            raise _bad(
                f"invalid_height_or_width: height and width must be between {low} and {high} for {engine}"
            )
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

    # -- v2beta: validation helpers --

    @staticmethod
    def _v2_fields(
        record: RecordedRequest, allowed: frozenset[str], files: frozenset[str] = frozenset()
    ) -> dict[str, str]:
        for name in record.form:
            if name in files:
                raise _bad(f"{name}: must be a file")
            if name not in allowed:
                raise _bad(f"{name}: unknown field")
        for name in record.files:
            if name not in files:
                raise _bad(f"{name}: unknown field" if name not in allowed else f"{name}: must be a string")
        return record.form

    @staticmethod
    def _v2_text(form: dict[str, str], name: str, *, required: bool) -> str:
        value = form.get(name, "")
        if not value.strip():
            if required:
                raise _bad(f"{name}: is required")
            return ""
        if len(value) > 10_000:
            raise _bad(f"{name}: must be at most 10000 characters")
        for match in PROMPT_WEIGHT_RE.finditer(value):
            if not 0 <= float(match.group(1)) <= 1:
                raise _bad(f"{name}: the weight of ({match.group(0)[1:-1]}) must be between 0 and 1")
        return value

    @staticmethod
    def _v2_number(
        form: dict[str, str], name: str, lo: float, hi: float, default: float, *, integer: bool = False
    ) -> float:
        raw = form.get(name)
        if raw is None:
            return default
        try:
            value = float(int(raw)) if integer else float(raw)
        except ValueError:
            raise _bad(f"{name}: must be {'an integer' if integer else 'a number'}") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise _bad(f"{name}: must be between {lo:g} and {hi:g} (got {raw})")
        return value

    @staticmethod
    def _v2_choice(
        form: dict[str, str], name: str, choices: Sequence[str] | frozenset[str], default: str
    ) -> str:
        value = form.get(name, default)
        if value not in choices:
            raise _bad(f"{name}: must be one of {', '.join(sorted(choices))}")
        return value

    def _v2_seed(self, form: dict[str, str]) -> int:
        seed = int(self._v2_number(form, "seed", 0, V2_SEED_MAX, 0, integer=True))
        return seed or self._rng.randrange(1, V2_SEED_MAX + 1)

    def _v2_moderate(self, *texts: str) -> None:
        for text in texts:
            if any(term in text.lower() for term in self.moderated_terms):
                raise _ApiError(403, MODERATION_MESSAGE, name="content_moderation")

    @staticmethod
    async def _v2_image(
        record: RecordedRequest, name: str, rule: _ImageRule, *, required: bool = True
    ) -> tuple[bytes, tuple[int, int], bool] | None:
        if name not in record.files:
            if required:
                raise _bad(f"{name}: is required")
            return None
        data = record.files[name].data
        (w, h), alpha = await asyncio.to_thread(_image_info, data, name)
        if min(w, h) < rule.min_side:
            raise _bad(f"{name}: width and height must be at least {rule.min_side} pixels (got {w}x{h})")
        if rule.max_side is not None and max(w, h) > rule.max_side:
            raise _bad(f"{name}: width and height must be at most {rule.max_side} pixels (got {w}x{h})")
        if not rule.min_pixels <= w * h <= rule.max_pixels:
            raise _bad(
                f"{name}: total pixel count must be between {rule.min_pixels:,} and {rule.max_pixels:,} "
                f"(got {w * h:,})"
            )
        if rule.aspect is not None and max(w, h) / min(w, h) > rule.aspect:
            raise _bad(f"{name}: aspect ratio must be between 1:{rule.aspect:g} and {rule.aspect:g}:1")
        return data, (w, h), alpha

    async def _v2_answer(
        self, request: web.Request, render: Callable[[], tuple[bytes, str]], seed: int | None
    ) -> web.Response:
        """The image as bytes with ``finish-reason``/``seed`` headers, or as JSON (``Accept``)."""
        accept = request.headers.get("Accept", "image/*")
        as_json = "application/json" in accept
        if not as_json and "image/" not in accept and "*/*" not in accept:
            raise _bad("accept: must be image/* or application/json")
        fault = request[_FAULT]
        filtered = fault is not None and fault.flags(0) == "CONTENT_FILTERED"
        reason = "CONTENT_FILTERED" if filtered else "SUCCESS"
        await self._sleep(self.latency_s)
        data, content_type = await asyncio.to_thread(render)
        if as_json:
            return web.json_response({"image": _b64(data), "finish_reason": reason, "seed": seed or 0})
        headers = {"finish-reason": reason}
        if seed is not None:
            headers["seed"] = str(seed)
        return web.Response(body=data, content_type=content_type, headers=headers)

    # -- v2beta: generate --

    _GENERATE_FIELDS = frozenset(
        {"prompt", "negative_prompt", "aspect_ratio", "seed", "style_preset", "output_format"}
    )

    async def _v2_generate(
        self,
        request: web.Request,
        form: dict[str, str],
        *,
        formats: frozenset[str],
        image: tuple[bytes, tuple[int, int], bool] | None = None,
        strength: float | None = None,
    ) -> web.Response:
        prompt = self._v2_text(form, "prompt", required=True)
        negative = self._v2_text(form, "negative_prompt", required=False)
        ratio = self._v2_choice(form, "aspect_ratio", tuple(V2_SIZES), "1:1")
        style = form.get("style_preset", "")
        if style and style not in STYLE_PRESET_ENUM:
            raise _bad(f"style_preset: must be one of {', '.join(sorted(STYLE_PRESET_ENUM))}")
        fmt = self._v2_choice(form, "output_format", formats, "png")
        seed = self._v2_seed(form)
        self._v2_moderate(prompt, negative)
        colour = _colour(f"{prompt}|{negative}|{style}", seed, 0)
        if image is not None:
            keep = 1.0 - (strength if strength is not None else 0.0)
            return await self._v2_answer(
                request, functools.partial(_v2_blend, image[0], colour, keep, fmt), seed
            )
        return await self._v2_answer(
            request, functools.partial(_v2_solid, V2_SIZES[ratio], colour, fmt), seed
        )

    async def _v2_core(self, request: web.Request) -> web.StreamResponse:
        form = self._v2_fields(request[_RECORD], self._GENERATE_FIELDS)
        return await self._v2_generate(request, form, formats=OUTPUT_FORMATS)

    async def _v2_ultra(self, request: web.Request) -> web.StreamResponse:
        record: RecordedRequest = request[_RECORD]
        form = self._v2_fields(record, self._GENERATE_FIELDS | {"strength"}, frozenset({"image"}))
        image = await self._v2_image(record, "image", _RULE_GENERATE, required=False)
        strength = None
        if image is not None:
            if "strength" not in form:
                raise _bad("strength: is required when an image is provided")
            strength = self._v2_number(form, "strength", 0, 1, 0)
            if "aspect_ratio" in form:
                raise _bad("aspect_ratio: is only valid for text-to-image requests")
        elif "strength" in form:
            raise _bad("strength: is only valid when an image is provided")
        return await self._v2_generate(request, form, formats=OUTPUT_FORMATS, image=image, strength=strength)

    async def _v2_sd3(self, request: web.Request) -> web.StreamResponse:
        record: RecordedRequest = request[_RECORD]
        allowed = self._GENERATE_FIELDS | {"mode", "model", "strength", "cfg_scale"}
        form = self._v2_fields(record, allowed, frozenset({"image"}))
        mode = self._v2_choice(form, "mode", ("text-to-image", "image-to-image"), "text-to-image")
        self._v2_choice(form, "model", SD3_MODELS, "sd3.5-large")
        self._v2_number(form, "cfg_scale", 1, 10, 4)
        image = await self._v2_image(record, "image", _RULE_GENERATE, required=mode == "image-to-image")
        strength = None
        if mode == "image-to-image":
            if "strength" not in form:
                raise _bad("strength: is required for image-to-image requests")
            strength = self._v2_number(form, "strength", 0, 1, 0)
            if "aspect_ratio" in form:
                raise _bad("aspect_ratio: is only valid for text-to-image requests")
        elif image is not None or "strength" in form:
            raise _bad("image, strength: are only valid for image-to-image requests (mode=image-to-image)")
        formats = frozenset({"png", "jpeg"})
        return await self._v2_generate(request, form, formats=formats, image=image, strength=strength)

    # -- v2beta: edit --

    async def _v2_inpaint(self, request: web.Request) -> web.StreamResponse:
        record: RecordedRequest = request[_RECORD]
        allowed = frozenset(
            {"prompt", "negative_prompt", "grow_mask", "seed", "output_format", "style_preset"}
        )
        form = self._v2_fields(record, allowed, frozenset({"image", "mask"}))
        image = await self._v2_image(record, "image", _RULE_INPAINT)
        assert image is not None
        mask = await self._v2_image(record, "mask", _ImageRule(min_pixels=0, aspect=None), required=False)
        if mask is None and not image[2]:
            raise _bad("mask: is required when the image has no alpha channel")
        prompt = self._v2_text(form, "prompt", required=True)
        negative = self._v2_text(form, "negative_prompt", required=False)
        self._v2_number(form, "grow_mask", 0, 100, 5, integer=True)
        self._v2_style(form)
        fmt = self._v2_choice(form, "output_format", OUTPUT_FORMATS, "png")
        seed = self._v2_seed(form)
        self._v2_moderate(prompt, negative)
        colour = _colour(f"{prompt}|{negative}", seed, 0)
        render = functools.partial(_v2_inpaint, image[0], mask[0] if mask else None, colour, fmt)
        return await self._v2_answer(request, render, seed)

    async def _v2_outpaint(self, request: web.Request) -> web.StreamResponse:
        record: RecordedRequest = request[_RECORD]
        allowed = frozenset({"prompt", "left", "right", "up", "down", "creativity", "seed", "output_format"})
        form = self._v2_fields(record, allowed, frozenset({"image"}))
        image = await self._v2_image(record, "image", _RULE_EDIT)
        assert image is not None
        left, right, up, down = (
            int(self._v2_number(form, side, 0, 2000, 0, integer=True))
            for side in ("left", "right", "up", "down")
        )
        sides = (left, right, up, down)
        if not any(sides):
            raise _bad("left, right, up, down: at least one must be greater than 0")
        prompt = self._v2_text(form, "prompt", required=False)
        self._v2_number(form, "creativity", 0, 1, 0.5)
        fmt = self._v2_choice(form, "output_format", OUTPUT_FORMATS, "png")
        seed = self._v2_seed(form)
        self._v2_moderate(prompt)
        colour = _colour(prompt, seed, 0)
        render = functools.partial(_v2_outpaint, image[0], sides, colour, fmt)
        return await self._v2_answer(request, render, seed)

    async def _v2_replace(self, request: web.Request) -> web.StreamResponse:
        record: RecordedRequest = request[_RECORD]
        allowed = frozenset(
            {
                "prompt",
                "search_prompt",
                "negative_prompt",
                "grow_mask",
                "seed",
                "output_format",
                "style_preset",
            }
        )
        form = self._v2_fields(record, allowed, frozenset({"image"}))
        image = await self._v2_image(record, "image", _RULE_EDIT)
        assert image is not None
        prompt = self._v2_text(form, "prompt", required=True)
        search = self._v2_text(form, "search_prompt", required=True)
        negative = self._v2_text(form, "negative_prompt", required=False)
        self._v2_number(form, "grow_mask", 0, 20, 3, integer=True)
        self._v2_style(form)
        fmt = self._v2_choice(form, "output_format", OUTPUT_FORMATS, "png")
        seed = self._v2_seed(form)
        self._v2_moderate(prompt, search, negative)
        colour = _colour(f"{prompt}|{search}", seed, 0)
        return await self._v2_answer(request, functools.partial(_v2_replace, image[0], colour, fmt), seed)

    async def _v2_cutout(self, request: web.Request) -> web.StreamResponse:
        record: RecordedRequest = request[_RECORD]
        form = self._v2_fields(record, frozenset({"output_format"}), frozenset({"image"}))
        image = await self._v2_image(record, "image", _RULE_CUTOUT)
        assert image is not None
        fmt = self._v2_choice(form, "output_format", ("png", "webp"), "png")
        return await self._v2_answer(request, functools.partial(_v2_cutout, image[0], fmt), None)

    def _v2_style(self, form: dict[str, str]) -> None:
        style = form.get("style_preset")
        if style is not None and style not in STYLE_PRESET_ENUM:
            raise _bad(f"style_preset: must be one of {', '.join(sorted(STYLE_PRESET_ENUM))}")

    # -- v2beta: upscale --

    async def _v2_upscale_fast(self, request: web.Request) -> web.StreamResponse:
        record: RecordedRequest = request[_RECORD]
        form = self._v2_fields(record, frozenset({"output_format"}), frozenset({"image"}))
        image = await self._v2_image(record, "image", _RULE_FAST)
        assert image is not None
        fmt = self._v2_choice(form, "output_format", OUTPUT_FORMATS, "png")
        (w, h) = image[1]
        return await self._v2_answer(
            request, functools.partial(_v2_upscale, image[0], (w * 4, h * 4), fmt), None
        )

    @staticmethod
    def _four_megapixels(size: tuple[int, int]) -> tuple[int, int]:
        w, h = size
        scale = max(1.0, math.sqrt(4_194_304 / (w * h)))
        return round(w * scale), round(h * scale)

    async def _v2_upscale_conservative(self, request: web.Request) -> web.StreamResponse:
        record: RecordedRequest = request[_RECORD]
        allowed = frozenset({"prompt", "negative_prompt", "seed", "creativity", "output_format"})
        form = self._v2_fields(record, allowed, frozenset({"image"}))
        image = await self._v2_image(record, "image", _RULE_EDIT)
        assert image is not None
        prompt = self._v2_text(form, "prompt", required=True)
        negative = self._v2_text(form, "negative_prompt", required=False)
        self._v2_number(form, "creativity", 0.2, 0.5, 0.35)
        fmt = self._v2_choice(form, "output_format", OUTPUT_FORMATS, "png")
        seed = self._v2_seed(form)
        self._v2_moderate(prompt, negative)
        size = self._four_megapixels(image[1])
        return await self._v2_answer(request, functools.partial(_v2_upscale, image[0], size, fmt), seed)

    async def _v2_upscale_creative(self, request: web.Request) -> web.StreamResponse:
        """Asynchronous: answers ``{"id"}``; the image comes from ``GET /v2beta/results/{id}``."""
        record: RecordedRequest = request[_RECORD]
        allowed = frozenset(
            {"prompt", "negative_prompt", "seed", "creativity", "style_preset", "output_format"}
        )
        form = self._v2_fields(record, allowed, frozenset({"image"}))
        image = await self._v2_image(record, "image", _RULE_CREATIVE)
        assert image is not None
        prompt = self._v2_text(form, "prompt", required=True)
        negative = self._v2_text(form, "negative_prompt", required=False)
        self._v2_number(form, "creativity", 0.1, 0.5, 0.3)
        self._v2_style(form)
        fmt = self._v2_choice(form, "output_format", OUTPUT_FORMATS, "png")
        seed = self._v2_seed(form)
        self._v2_moderate(prompt, negative)
        data, content_type = await asyncio.to_thread(
            _v2_upscale, image[0], self._four_megapixels(image[1]), fmt
        )
        generation_id = secrets.token_hex(32)
        owner = request.headers.get("Authorization", "")
        self.results[generation_id] = _Generation(owner, self.result_polls, data, content_type, seed)
        return web.json_response({"id": generation_id})

    async def _v2_result(self, request: web.Request) -> web.StreamResponse:
        generation_id = request.match_info["generation_id"]
        accept = request.headers.get("Accept", "*/*")
        if accept not in RESULTS_ACCEPT:
            raise _bad(f"accept: must be one of {', '.join(sorted(RESULTS_ACCEPT))} (got {accept})")
        generation = self.results.get(generation_id)
        if generation is None or generation.owner != request.headers.get("Authorization", ""):
            raise _ApiError(404, f"Generation {generation_id} was not found", name="not_found")
        if generation.polls_left > 0:
            generation.polls_left -= 1
            return web.json_response({"id": generation_id, "status": "in-progress"}, status=202)
        return await self._v2_answer(
            request, lambda: (generation.image, generation.content_type), generation.seed
        )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
