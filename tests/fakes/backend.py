"""An in-process, deterministic image service implementing :class:`services.backends.Backend`.

It stands in for the external image service (Stability / a GPU host) in unit tests of
the job runner, and for a zero-latency backend in ``bench/pipeline.py``. It returns
real PNGs (rendered with Pillow off the event loop), honours the request's size,
sample count and seed, and records every call.

Usage::

    backend = FakeBackend(latency_s=0.05, filtered={1})     # image 1 comes back CONTENT_FILTERED
    backend.fail_next(BackendUnavailable())                  # the next call raises
    gate = asyncio.Event(); backend.gate = gate              # calls wait until gate.set()
"""

from __future__ import annotations

import asyncio
import io
import random
import zlib
from collections import deque
from collections.abc import Callable, Collection

from PIL import Image, ImageDraw

from services.backends.base import BackendLimits, ProgressCallback
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

__all__ = ["FakeBackend", "render_png"]


def render_png(width: int, height: int, seed: int, *, noise: float = 0.0) -> bytes:
    """A deterministic picture for ``seed``: gradients, a few shapes, optional grain.

    ``noise`` (a standard deviation in grey levels) makes the PNG about as hard to
    compress as a real photo-like generation; 0 keeps test images tiny.
    """
    rng = random.Random(seed)
    ramp = Image.linear_gradient("L").resize((width, height))
    red = ramp
    green = ramp.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    blue = Image.radial_gradient("L").resize((width, height))
    image = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(1, width // 2 + 2), y0 + rng.randrange(1, height // 2 + 2)
        draw.ellipse((x0, y0, x1, y1), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    if noise > 0:
        grain = Image.effect_noise((width, height), noise)
        image = Image.blend(image, Image.merge("RGB", (grain, grain, grain)), 0.25)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1 if noise == 0 else 6)
    return out.getvalue()


class FakeBackend:
    """Deterministic fake of the external image service (see module docstring)."""

    name = "fake"

    def __init__(
        self,
        *,
        latency_s: float | Callable[[GenerationRequest], float] = 0.0,
        default_size: tuple[int, int] = (64, 64),
        filtered: Collection[int] = (),
        progress_steps: int = 0,
        model: str = "fake-model-1",
        noise: float = 0.0,
        limits: BackendLimits | None = None,
    ) -> None:
        self.latency_s = latency_s
        self.default_size = default_size
        self.filtered = set(filtered)
        self.progress_steps = progress_steps
        self.model = model
        self.noise = noise
        self._limits = limits or BackendLimits(operations=frozenset(Operation), default_size=default_size)
        self.gate: asyncio.Event | None = None
        self.fail_with: BaseException | None = None  # raised by every call while set
        self._fail_queue: deque[BaseException] = deque()
        self.calls: list[GenerationRequest] = []
        self.completed: list[GenerationRequest] = []
        self.cancels = 0
        self.running = 0
        self.max_running = 0
        self.started = False
        self.closed = False
        self._cache: dict[tuple[int, int, int], bytes] = {}
        self._changed = asyncio.Condition()

    @property
    def limits(self) -> BackendLimits:
        return self._limits

    async def until_running(self, count: int = 1) -> None:
        """Wait until ``count`` calls are inside ``generate`` at once."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.running >= count)

    def fail_next(self, error: BaseException) -> None:
        """Make the next call (only) raise ``error``."""
        self._fail_queue.append(error)

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def check(self) -> list[CheckResult]:
        return [CheckResult(name="fake backend", ok=True, detail="in-process")]

    async def cancel(self) -> None:
        self.cancels += 1

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        self.calls.append(request)
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        async with self._changed:
            self._changed.notify_all()
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self._fail_queue:
                raise self._fail_queue.popleft()
            if self.fail_with is not None:
                raise self.fail_with
            latency = self.latency_s(request) if callable(self.latency_s) else self.latency_s
            steps = max(self.progress_steps, 1)
            for step in range(1, steps + 1):
                if latency > 0:
                    await asyncio.sleep(latency / steps)
                if progress is not None and self.progress_steps:
                    await progress(Progress(fraction=step / steps, message=f"step {step}/{steps}"))
            images = tuple([await self._image(request, i) for i in range(request.samples)])
            self.completed.append(request)
            return GenerationResult(images=images, backend=self.name, model=request.model or self.model)
        finally:
            self.running -= 1

    async def _image(self, request: GenerationRequest, index: int) -> GeneratedImage:
        width, height = self._size(request)
        base = request.seed if request.seed is not None else zlib.crc32(request.positive_prompt.encode())
        seed = (base + index) % 4294967296
        if index in self.filtered:
            png = await self._render(width, height, -1)  # a stand-in for the provider's blurred image
            return GeneratedImage(png, seed, width, height, FinishReason.CONTENT_FILTERED)
        return GeneratedImage(await self._render(width, height, seed), seed, width, height)

    def _size(self, request: GenerationRequest) -> tuple[int, int]:
        if request.init_image is not None and request.operation is Operation.UPSCALE:
            factor = request.upscale_factor
            return request.init_image.width * factor, request.init_image.height * factor
        if request.width and request.height:
            return request.width, request.height
        if request.init_image is not None:
            return request.init_image.width, request.init_image.height
        return self.default_size

    async def _render(self, width: int, height: int, seed: int) -> bytes:
        key = (width, height, seed)
        cached = self._cache.get(key)
        if cached is None:
            cached = await run_cpu(render_png, width, height, seed, noise=self.noise)
            if len(self._cache) < 64:
                self._cache[key] = cached
        return cached
