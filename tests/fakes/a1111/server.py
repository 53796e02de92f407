"""A fake AUTOMATIC1111 web UI API on 127.0.0.1, for tests and benchmarks.

It speaks the real wire shapes (``/sdapi/v1/*``) and behaves like one GPU: a single
lock serialises generation, every job takes ``generation_s`` seconds, ``/progress``
reports the running job with a live preview, ``/interrupt`` ends it early. It
records every request, measures its own busy time (for ``bench/gpu_host.py``) and can
be told to die (abort connections or answer 500) to exercise failover::

    async def test_x(a1111_server: FakeA1111) -> None:
        backend = A1111Backend([a1111_server.url])
        ...
        assert a1111_server.last("/sdapi/v1/txt2img").json["steps"] == 20

Invalid parameters get FastAPI-style 422 bodies
(``{"detail": [{"loc": ["body", "width"], "msg": ..., "type": ...}]}``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image, ImageDraw, ImageOps

from tests.fakes.a1111.rules import (
    DEFAULT_MODELS,
    DEFAULT_SAMPLERS,
    DEFAULT_SCHEDULERS,
    DEFAULT_UPSCALERS,
    INTERROGATORS,
    OPENCLIP_MODELS,
    _ValidationErrors,
)

__all__ = ["FakeA1111", "RecordedRequest"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class _Job:
    started: float
    duration_s: float
    task_id: str | None = None  # the request's force_task_id (A1111 1.6+)
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)


def _grained(picture: Image.Image) -> Image.Image:
    noise = Image.effect_noise(picture.size, 24).convert(picture.mode)
    return Image.blend(picture, noise, 0.25)


class FakeA1111:
    """One fake GPU host. ``await start()`` binds a free port on 127.0.0.1; ``url`` is its base URL."""

    def __init__(
        self,
        *,
        generation_s: float = 0.05,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
        models: tuple[tuple[str, str, str], ...] = DEFAULT_MODELS,
        samplers: tuple[str, ...] = DEFAULT_SAMPLERS,
        schedulers: tuple[str, ...] | None = DEFAULT_SCHEDULERS,
        upscalers: tuple[str, ...] = DEFAULT_UPSCALERS,
        max_side: int = 2048,
        previews: bool = True,
        image_format: str = "png",
        interrogate: bool = True,
        kind: str = "a1111",
        latency_s: float = 0.0,
        link_bytes_per_s: float | None = None,
        grain: bool = False,
    ) -> None:
        # kind "sdnext": SD.Next's API — GET /sdapi/v1/version says {"app": "sd.next"}, captions come
        # from POST /sdapi/v1/openclip (no /interrogate), and although it lists schedulers its request
        # models have no ``scheduler`` field (FastAPI drops unknown fields silently: they are recorded in
        # ``ignored_fields``).
        self.kind = kind
        # A network between easel and the host: ``latency_s`` each way, and answers' bodies sent at
        # ``link_bytes_per_s`` after their status line (as a web server streams a rendered body).
        self.latency_s = latency_s
        self.link_bytes_per_s = link_bytes_per_s
        self.grain = grain  # True: pictures with film grain, so PNGs are as big as real ones (~1.5 MB/MP)
        if kind == "sdnext":
            interrogate = False
        self.ignored_fields: list[str] = []
        self.generation_s = generation_s
        self.interrogate = interrogate  # False: a fork without /sdapi/v1/interrogate
        self.fail_progress = False  # True: /progress answers 502, as a proxy with a dead upstream
        self.fail_next: tuple[int, dict[str, Any]] | None = None  # next generation answers this
        self.auth = auth
        self.token = token
        self.models = models
        self.samplers = samplers
        self.schedulers = schedulers  # None: an older host without /sdapi/v1/schedulers
        self.upscalers = upscalers
        self.max_side = max_side
        self.previews = previews
        self.image_format = image_format  # A1111's samples_format: png, jpg or webp
        self.current_model = models[0][0]
        self.model_loads = 0
        self.requests: list[RecordedRequest] = []
        self.busy_intervals: list[tuple[float, float]] = []
        self.interrupts = 0
        self.interrupted_tasks: list[str | None] = []  # force_task_id of each job /interrupt stopped
        self._queued_tasks: set[str] = set()
        self.waiting = 0  # requests queued behind the running job, like A1111's queue_lock
        self.max_waiting = 0
        self.dead: str | None = None  # None, "close" or "500"
        self._lock = asyncio.Lock()
        self._bodies: dict[int, Any] = {}
        self._job: _Job | None = None
        self._random = random.Random(1234)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> FakeA1111:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        r = app.router
        r.add_get("/internal/ping", self._ping)
        r.add_get("/sdapi/v1/options", self._options)
        r.add_get("/sdapi/v1/sd-models", self._sd_models)
        r.add_get("/sdapi/v1/samplers", self._samplers)
        if self.schedulers is not None:
            r.add_get("/sdapi/v1/schedulers", self._schedulers)
        r.add_get("/sdapi/v1/upscalers", self._upscalers)
        r.add_get("/sdapi/v1/progress", self._progress)
        r.add_post("/sdapi/v1/interrupt", self._interrupt)
        r.add_post("/internal/progress", self._task_progress)
        r.add_post("/sdapi/v1/txt2img", self._txt2img)
        r.add_post("/sdapi/v1/img2img", self._img2img)
        r.add_post("/sdapi/v1/extra-single-image", self._extras)
        if self.interrogate:
            r.add_post("/sdapi/v1/interrogate", self._interrogate)
        if self.kind == "sdnext":
            r.add_get("/sdapi/v1/version", self._version)
            r.add_post("/sdapi/v1/openclip", self._openclip)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._job is not None:
            self._job.interrupted.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- test controls ---------------------------------------------------------------------
    def die(self, mode: str = "close") -> None:
        """From now on abort every connection (``"close"``) or answer 500 (``"500"``)."""
        assert mode in ("close", "500")
        self.dead = mode
        if self._job is not None:
            self._job.interrupted.set()

    def revive(self) -> None:
        self.dead = None

    @property
    def running(self) -> bool:
        return self._job is not None

    def calls(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def last(self, path: str) -> RecordedRequest:
        found = self.calls(path)
        assert found, f"no request to {path}"
        return found[-1]

    @property
    def busy_s(self) -> float:
        return sum(end - start for start, end in self.busy_intervals)

    def utilisation(self) -> float:
        """Busy time / wall time between the first job's start and the last job's end."""
        if not self.busy_intervals:
            return 0.0
        wall = self.busy_intervals[-1][1] - self.busy_intervals[0][0]
        return self.busy_s / wall if wall > 0 else 0.0

    # ---- plumbing ----------------------------------------------------------------------------
    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        if self.dead is not None:
            return self._dead_response(request)
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        self._bodies[id(request)] = body  # parsed once, as a real server's framework does
        try:
            if self.latency_s or self.link_bytes_per_s:
                return await self._over_link(request, handler)
            return await handler(request)
        finally:
            self._bodies.pop(id(request), None)

    async def _over_link(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Serve ``request`` as if across a network: the request arrives ``latency_s`` late (plus
        its upload time), the status line ``latency_s`` after the answer is ready, then the body."""
        size = request.content_length or 0
        rate = self.link_bytes_per_s
        await asyncio.sleep(self.latency_s + (size / rate if rate else 0.0))
        answer = await handler(request)
        await asyncio.sleep(self.latency_s)
        if request.transport is None or request.transport.is_closing():
            return answer  # the client went away meanwhile (a cancelled job, a closed session)
        if not isinstance(answer, web.Response) or answer.body is None or not rate:
            return answer
        raw = bytes(answer.body)  # type: ignore[arg-type]
        stream = web.StreamResponse(status=answer.status, headers={"Content-Type": answer.content_type})
        stream.content_length = len(raw)
        await stream.prepare(request)
        chunk = 64 * 1024
        try:
            for start in range(0, len(raw), chunk):
                await asyncio.sleep(min(chunk, len(raw) - start) / rate)  # each chunk arrives once sent
                await stream.write(raw[start : start + chunk])
            await stream.write_eof()
        except ConnectionResetError:
            pass  # the client went away mid-answer
        return stream

    def _dead_response(self, request: web.Request) -> web.Response:
        if self.dead == "close" and request.transport is not None:
            request.transport.abort()
        return web.json_response(
            {"error": "RuntimeError", "detail": "", "body": "", "errors": "fake host died"}, status=500
        )

    def _check_auth(self, request: web.Request) -> web.Response | None:
        if not request.path.startswith("/sdapi/"):
            return None
        header = request.headers.get("Authorization", "")
        if self.auth is not None:
            expected = "Basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            if header != expected:
                return web.json_response(
                    {"detail": "Incorrect username or password"},
                    status=401,
                    headers={"WWW-Authenticate": "Basic"},
                )
        if self.token is not None and header != f"Bearer {self.token}":
            return web.json_response({"detail": "Not authenticated"}, status=401)
        return None

    def _model(self, name: str) -> tuple[str, str, str] | None:
        for model in self.models:
            if name in model or name == model[0].split(" [")[0]:
                return model
        return None

    def _encode(self, image: Image.Image) -> str:
        out = io.BytesIO()
        if self.image_format == "png":
            image.save(out, format="PNG", compress_level=1)
        elif self.image_format == "jpg":
            image.convert("RGB").save(out, format="JPEG", quality=90)
        else:
            image.convert("RGB").save(out, format="WEBP", quality=90)
        return base64.b64encode(out.getvalue()).decode()

    async def _run_job(self, task_id: str | None = None) -> tuple[float, bool]:
        """Hold the GPU for ``generation_s`` (or until interrupted). Returns (fraction done, interrupted)."""
        job = _Job(started=time.monotonic(), duration_s=self.generation_s, task_id=task_id)
        self._job = job
        try:
            try:
                await asyncio.wait_for(job.interrupted.wait(), job.duration_s)
            except TimeoutError:
                pass
            elapsed = time.monotonic() - job.started
            return min(elapsed / job.duration_s, 1.0) if job.duration_s else 1.0, job.interrupted.is_set()
        finally:
            self._job = None

    @asynccontextmanager
    async def _gpu(self) -> AsyncIterator[None]:
        """Hold the one GPU; the time it is held counts as busy."""
        queued = self._lock.locked()
        if queued:
            self.waiting += 1
            self.max_waiting = max(self.max_waiting, self.waiting)
        try:
            await self._lock.acquire()
        finally:
            if queued:
                self.waiting -= 1
        started = time.monotonic()
        try:
            yield
        finally:
            self.busy_intervals.append((started, time.monotonic()))
            self._lock.release()

    # ---- listing endpoints ---------------------------------------------------------------------
    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _options(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "sd_model_checkpoint": self.current_model,
                "samples_format": self.image_format,
                "live_previews_enable": self.previews,
            }
        )

    async def _sd_models(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "title": t,
                    "model_name": n,
                    "hash": h,
                    "sha256": None,
                    "filename": f"/models/{n}.safetensors",
                    "config": None,
                }
                for t, n, h in self.models
            ]
        )

    async def _samplers(self, request: web.Request) -> web.Response:
        return web.json_response([{"name": s, "aliases": [s.lower()], "options": {}} for s in self.samplers])

    async def _schedulers(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"name": s, "label": s.title(), "aliases": None, "default_rho": -1, "need_inner_model": False}
                for s in self.schedulers or ()
            ]
        )

    async def _upscalers(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"name": u, "model_name": None, "model_path": None, "model_url": None, "scale": 4}
                for u in self.upscalers
            ]
        )

    async def _progress(self, request: web.Request) -> web.Response:
        if self.fail_progress:
            return web.json_response({"detail": "Bad Gateway"}, status=502)
        job = self._job
        state = {
            "skipped": False,
            "interrupted": bool(job and job.interrupted.is_set()),
            "job": "scripts_txt2img" if job else "",
            "job_count": 1 if job else 0,
            "job_timestamp": "20240101000000",
            "job_no": 0,
            "sampling_step": 0,
            "sampling_steps": 20,
        }
        if job is None:
            return web.json_response(
                {"progress": 0, "eta_relative": 0, "state": state, "current_image": None, "textinfo": None}
            )
        elapsed = time.monotonic() - job.started
        fraction = min(0.01 + elapsed / job.duration_s, 1.0) if job.duration_s else 1.0
        state["sampling_step"] = int(fraction * 20)
        current = None
        if self.previews and request.query.get("skip_current_image", "false").lower() != "true":
            level = int(fraction * 255)
            current = self._encode(Image.new("RGB", (32, 32), (level, level, level)))
        return web.json_response(
            {
                "progress": fraction,
                "eta_relative": max(job.duration_s - elapsed, 0.0),
                "state": state,
                "current_image": current,
                "textinfo": None,
            }
        )

    async def _task_progress(self, request: web.Request) -> web.Response:
        """A1111's per-task progress (modules/progress.py ProgressRequest → ProgressResponse)."""
        body = self._bodies.get(id(request)) or {}
        task_id = body.get("id_task")
        job = self._job
        active = job is not None and job.task_id is not None and job.task_id == task_id
        queued = task_id in self._queued_tasks
        fraction = min((time.monotonic() - job.started) / job.duration_s, 1.0) if active and job else 0.0
        return web.json_response(
            {
                "active": active,
                "queued": queued,
                "completed": not active and not queued,
                "progress": fraction if active else None,
                "eta": None,
                "live_preview": None,
                "id_live_preview": -1,
                "textinfo": "Waiting..." if queued else None,
            }
        )

    async def _interrupt(self, request: web.Request) -> web.Response:
        self.interrupts += 1
        if self._job is not None:
            self._job.interrupted.set()
        return web.json_response({})

    # ---- generation endpoints ------------------------------------------------------------------
    def _validate_common(self, body: dict[str, Any], errors: _ValidationErrors) -> None:
        for name in ("width", "height"):
            value = body.get(name, 512)
            if not isinstance(value, int):
                errors.add(name, "value is not a valid integer", "type_error.integer")
            elif value % 8 or not 64 <= value <= self.max_side:
                errors.add(name, f"must be a multiple of 8 between 64 and {self.max_side}")
        batch = body.get("batch_size", 1)
        if not isinstance(batch, int) or not 1 <= batch <= 8:
            errors.add("batch_size", "must be between 1 and 8")
        steps = body.get("steps", 20)
        if not isinstance(steps, int) or not 1 <= steps <= 150:
            errors.add("steps", "must be between 1 and 150")
        sampler = body.get("sampler_name")
        if sampler is not None and sampler not in self.samplers:
            errors.add("sampler_name", f"sampler {sampler!r} not found")
        scheduler = body.get("scheduler")
        if scheduler is not None and self.kind == "sdnext":
            self.ignored_fields.append("scheduler")
        elif scheduler is not None and scheduler not in (self.schedulers or ()):
            errors.add("scheduler", f"scheduler {scheduler!r} not found")
        model = (body.get("override_settings") or {}).get("sd_model_checkpoint")
        if model is not None and self._model(model) is None:
            errors.add("override_settings", f"model {model!r} not found")
        if not isinstance(body.get("prompt", ""), str):
            errors.add("prompt", "str type expected", "type_error.str")

    def _apply_model(self, body: dict[str, Any]) -> str:
        model = (body.get("override_settings") or {}).get("sd_model_checkpoint")
        found = self._model(model) if model else None
        title = found[0] if found else self.current_model
        if title != self.current_model:
            self.model_loads += 1
            if not body.get("override_settings_restore_afterwards", True):
                self.current_model = title
        return title

    def _seeds(self, body: dict[str, Any]) -> list[int]:
        seed = body.get("seed", -1)
        if seed is None or seed == -1:
            seed = self._random.randrange(0, 2**32 - 16)
        return [int(seed) + i for i in range(int(body.get("batch_size", 1)))]

    @staticmethod
    def _picture(seed: int, width: int, height: int) -> Image.Image:
        digest = hashlib.sha256(str(seed).encode()).digest()
        image = Image.new("RGB", (width, height), (digest[0], digest[1], digest[2]))
        draw = ImageDraw.Draw(image)
        for i in range(4):
            x = digest[3 + i] * width // 256
            draw.rectangle(
                (x, 0, x + max(width // 16, 1), height), fill=(digest[8 + i], digest[12 + i], digest[16 + i])
            )
        return image

    def _info(self, body: dict[str, Any], seeds: list[int], title: str, interrupted: bool) -> str:
        return json.dumps(
            {
                "prompt": body.get("prompt", ""),
                "all_prompts": [body.get("prompt", "")] * len(seeds),
                "negative_prompt": body.get("negative_prompt", ""),
                "seed": seeds[0],
                "all_seeds": seeds,
                "subseed": 0,
                "all_subseeds": [0] * len(seeds),
                "width": body.get("width", 512),
                "height": body.get("height", 512),
                "sampler_name": body.get("sampler_name") or "DPM++ 2M",
                "cfg_scale": body.get("cfg_scale", 7.0),
                "steps": body.get("steps", 20),
                "batch_size": len(seeds),
                "sd_model_name": title.split(".")[0],
                "sd_model_hash": title.split("[")[-1].rstrip("]"),
                "denoising_strength": body.get("denoising_strength"),
                "interrupted": interrupted,
                "infotexts": [f"{body.get('prompt', '')}\nSeed: {s}" for s in seeds],
            }
        )

    async def _generate(
        self, body: dict[str, Any], draw: Callable[[list[int]], list[Image.Image]]
    ) -> web.Response:
        task_id = body.get("force_task_id")
        if isinstance(task_id, str):
            self._queued_tasks.add(task_id)
        async with self._gpu():
            if isinstance(task_id, str):
                self._queued_tasks.discard(task_id)
            title = self._apply_model(body)
            seeds = self._seeds(body)
            _, interrupted = await self._run_job(task_id if isinstance(task_id, str) else None)
            if interrupted:
                self.interrupted_tasks.append(task_id if isinstance(task_id, str) else None)
            if self.dead is not None:
                raise _Died
            if self.fail_next is not None:
                (status, error), self.fail_next = self.fail_next, None
                return web.json_response(error, status=status)
            pictures = await asyncio.to_thread(draw, seeds)
            if self.grain:
                pictures = await asyncio.to_thread(lambda: [_grained(p) for p in pictures])
        # As in A1111's api.py, the base64 encoding and the response happen after the queue lock.
        images = await asyncio.to_thread(lambda: [self._encode(im) for im in pictures])
        return web.json_response(
            {
                "images": images,
                "parameters": {k: v for k, v in body.items() if k not in ("init_images", "mask")},
                "info": self._info(body, seeds, title, interrupted),
            }
        )

    async def _txt2img(self, request: web.Request) -> web.StreamResponse:
        body = self._bodies[id(request)]
        errors = _ValidationErrors()
        self._validate_common(body, errors)
        if (bad := errors.response()) is not None:
            return bad
        w, h = body.get("width", 512), body.get("height", 512)
        try:
            return await self._generate(body, lambda seeds: [self._picture(s, w, h) for s in seeds])
        except _Died:
            return self._dead_response(request)

    async def _img2img(self, request: web.Request) -> web.StreamResponse:
        body = self._bodies[id(request)]
        errors = _ValidationErrors()
        self._validate_common(body, errors)
        init_images = body.get("init_images") or []
        init: Image.Image | None = None
        mask: Image.Image | None = None
        if not init_images:
            errors.add("init_images", "field required", "value_error.missing")
        else:
            init = _decode(init_images[0])
            if init is None:
                errors.add("init_images", "invalid encoded image")
        if body.get("mask"):
            mask = _decode(body["mask"])
            if mask is None:
                errors.add("mask", "invalid encoded image")
        strength = body.get("denoising_strength", 0.75)
        if not isinstance(strength, int | float) or not 0 <= strength <= 1:
            errors.add("denoising_strength", "must be between 0 and 1")
        if (bad := errors.response()) is not None:
            return bad
        assert init is not None
        w, h = body.get("width", 512), body.get("height", 512)
        invert = bool(body.get("inpainting_mask_invert", 0))

        def draw(seeds: list[int]) -> list[Image.Image]:
            # Like a real VAE round trip, every pixel changes a little; masked pixels are repainted.
            base = init.convert("RGB").resize((w, h))
            out = []
            for s in seeds:
                fresh = self._picture(s, w, h)
                result = Image.blend(base, fresh, 0.1 + 0.5 * float(strength))
                if mask is not None:
                    m = mask.convert("L").resize((w, h))
                    if invert:
                        m = ImageOps.invert(m)
                    result = Image.composite(fresh, result, m)
                out.append(result)
            return out

        try:
            return await self._generate(body, draw)
        except _Died:
            return self._dead_response(request)

    async def _extras(self, request: web.Request) -> web.StreamResponse:
        body = self._bodies[id(request)]
        errors = _ValidationErrors()
        image = _decode(body.get("image") or "")
        if image is None:
            errors.add("image", "invalid encoded image")
        upscaler = body.get("upscaler_1", "None")
        if upscaler not in self.upscalers:
            errors.add("upscaler_1", f"upscaler {upscaler!r} not found")
        factor = body.get("upscaling_resize", 2)
        if not isinstance(factor, int | float) or not 1 <= factor <= 8:
            errors.add("upscaling_resize", "must be between 1 and 8")
        if (bad := errors.response()) is not None:
            return bad
        assert image is not None
        async with self._gpu():
            await self._run_job()
            if self.dead is not None:
                return self._dead_response(request)
            size = (round(image.width * factor), round(image.height * factor))
            encoded = await asyncio.to_thread(
                lambda: self._encode(image.resize(size, Image.Resampling.NEAREST))
            )
        return web.json_response({"html_info": "<p>upscaled</p>", "image": encoded})

    async def _interrogate(self, request: web.Request) -> web.StreamResponse:
        body = self._bodies[id(request)]
        errors = _ValidationErrors()
        image = _decode(body.get("image") or "")
        if image is None:
            errors.add("image", "invalid encoded image")
        if body.get("model", "clip") not in INTERROGATORS:
            errors.add("model", "model not found")
        if (bad := errors.response()) is not None:
            return bad
        assert image is not None
        async with self._gpu():
            await self._run_job()
            if self.dead is not None:
                return self._dead_response(request)
        return web.json_response(
            {"caption": f"a painting of a {image.width}x{image.height} test pattern, trending on artstation"}
        )

    async def _version(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"app": "sd.next", "updated": "2025-01-01", "hash": "0eb4a98e", "url": ""})

    async def _openclip(self, request: web.Request) -> web.StreamResponse:
        """SD.Next's ReqCaption: ``image`` (base64) and an optional OpenCLIP ``model`` → ``{"caption"}``."""
        body = self._bodies[id(request)]
        errors = _ValidationErrors()
        image = _decode(body.get("image") or "")
        if image is None:
            errors.add("image", "invalid encoded image")
        if body.get("model", OPENCLIP_MODELS[0]) not in OPENCLIP_MODELS:
            errors.add("model", "model not found")
        if (bad := errors.response()) is not None:
            return bad
        assert image is not None
        async with self._gpu():
            await self._run_job()
        return web.json_response({"caption": f"a photo of a {image.width}x{image.height} test pattern"})


class _Died(Exception):
    """The fake was told to die while a job ran."""


def _decode(data: str) -> Image.Image | None:
    if data.startswith("data:image/"):
        data = data.split(",", 1)[1]
    try:
        image = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
        image.load()
        return image
    except (binascii.Error, OSError, ValueError):
        return None
