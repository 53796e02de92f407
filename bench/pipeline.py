"""What easel's own job path costs per image, and how responsive the event loop stays.

Run from the repo root::

    python bench/pipeline.py

1. Per-image cost of the job runner for 1024×1024 PNGs — receive bytes from a
   zero-latency backend, store the clean original (atomic write + fsync + SQLite row),
   watermark (decode + stamp + encode), job/quota bookkeeping, deliver to a no-op sink —
   against the irreducible part, a PNG decode + encode of the same images (same zlib
   level as the published copies) measured in the same run. Rounds alternate the two
   so that noise from other work on the machine hits both. Target: ratio ≤ 1.3.
2. Event-loop lag while 50 jobs finish at once (all backend calls released together),
   measured by a task that sleeps 5 ms and records the overshoot. Target: p99 ≤ 50 ms.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.db import Database
from services.errors import EaselError
from services.jobs import JobService
from services.offload import run_cpu
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import (
    GenerationRequest,
    JobOutcome,
    Operation,
    Progress,
    Requester,
    WeightedPrompt,
)
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend

SIDE = 1024
DISTINCT_IMAGES = 6
ROUNDS = 5
BURST_JOBS = 50
TICK_S = 0.005


class NoOpSink:
    async def on_queued(self, job_id: str, position: int) -> None: ...

    async def on_started(self, job_id: str) -> None: ...

    async def on_progress(self, job_id: str, progress: Progress) -> None: ...

    async def deliver(self, outcome: JobOutcome) -> None: ...

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        raise RuntimeError(f"bench job failed: {error.log_detail or error}")


def decode_encode(png: bytes, level: int) -> bytes:
    """The irreducible work: decode the backend's PNG and encode a PNG again."""
    with Image.open(io.BytesIO(png)) as img:
        img.load()
        out = io.BytesIO()
        img.save(out, format="PNG", compress_level=level)
    return out.getvalue()


def request(seed: int) -> GenerationRequest:
    return GenerationRequest(
        operation=Operation.IMAGINE,
        prompts=(WeightedPrompt("bench"),),
        width=SIDE,
        height=SIDE,
        seed=seed,
    )


async def build(data_dir: Path, backend: FakeBackend, concurrency: int) -> tuple[Database, JobService]:
    db = await Database.open(data_dir)
    jobs = JobService(
        db=db,
        quota=QuotaBook(db, daily_limit=1_000_000),
        store=ImageStore(data_dir, db),
        backend=backend,
        watermarker=Watermarker("AI generated"),
        max_concurrency=concurrency,
    )
    jobs.register_platform("bench", lambda record: NoOpSink())
    await jobs.start()
    return db, jobs


async def per_image_cost(root: Path, backend: FakeBackend, pngs: list[bytes], level: int) -> None:
    db, jobs = await build(root / "cost", backend, concurrency=1)
    requester = Requester("bench", "u1")

    async def baseline(png: bytes) -> float:
        start = time.perf_counter()
        await run_cpu(decode_encode, png, level)
        return (time.perf_counter() - start) * 1000

    async def pipeline(seed: int) -> float:
        start = time.perf_counter()
        submitted = await jobs.submit(requester, request(seed), origin={"platform": "bench"})
        await jobs.wait(submitted.job_id)
        return (time.perf_counter() - start) * 1000

    pairs: list[tuple[float, float]] = []  # (pipeline, baseline) on the same image, back to back
    try:
        await pipeline(0)  # warm-up: first job, first watermark plate, SQLite pages
        for round_ in range(ROUNDS):
            for seed, png in enumerate(pngs):
                if (round_ + seed) % 2:  # alternate which goes first, so drift hits both
                    base = await baseline(png)
                    pipe = await pipeline(seed)
                else:
                    pipe = await pipeline(seed)
                    base = await baseline(png)
                pairs.append((pipe, base))
    finally:
        await jobs.stop()
        await db.close()
    pipe = statistics.median(p for p, _ in pairs)
    base = statistics.median(b for _, b in pairs)
    ratio = statistics.median(p / b for p, b in pairs)
    print(f"per image ({SIDE}x{SIDE}, {len(pairs)} interleaved pairs, one job at a time; medians):")
    print(f"  easel job path            {pipe:7.1f} ms")
    print(f"  PNG decode + encode       {base:7.1f} ms")
    print(f"  ratio                     {ratio:7.2f}   (target <= 1.3)")


async def loop_lag(root: Path, backend: FakeBackend, distinct: int) -> None:
    db, jobs = await build(root / "lag", backend, concurrency=BURST_JOBS)
    requester = Requester("bench", "u2")
    lags_ms: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(TICK_S)
            lags_ms.append(max(0.0, (time.perf_counter() - start - TICK_S) * 1000))

    try:
        gate = asyncio.Event()
        backend.gate = gate
        ids = [
            (await jobs.submit(requester, request(i % distinct), origin={"platform": "bench"})).job_id
            for i in range(BURST_JOBS)
        ]
        await backend.until_running(BURST_JOBS)
        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.1)  # baseline ticks
        start = time.perf_counter()
        gate.set()  # every job finishes now
        await asyncio.gather(*(jobs.wait(job_id) for job_id in ids))
        elapsed = time.perf_counter() - start
        stop.set()
        await tick
    finally:
        backend.gate = None
        await jobs.stop()
        await db.close()
    lags_ms.sort()
    p50 = lags_ms[len(lags_ms) // 2]
    p99 = lags_ms[min(len(lags_ms) - 1, int(len(lags_ms) * 0.99))]
    print(
        f"event-loop lag while {BURST_JOBS} jobs ({SIDE}x{SIDE}) finish at once ({elapsed:.1f} s, {len(lags_ms)} ticks):"
    )
    print(f"  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {lags_ms[-1]:6.1f} ms   (target p99 <= 50 ms)")


async def main() -> None:
    level = Watermarker("AI generated").png_compress_level
    backend = FakeBackend(noise=24.0)  # photo-like grain: PNGs compress like real generations
    pngs = [(await backend.generate(request(seed))).images[0].png for seed in range(DISTINCT_IMAGES)]
    backend.calls.clear()
    print(
        f"easel pipeline bench: {DISTINCT_IMAGES} distinct {SIDE}x{SIDE} PNGs "
        f"(~{statistics.mean(len(p) for p in pngs) / 1e6:.1f} MB each), zlib level {level}, "
        f"{os.cpu_count()} CPUs, EASEL_CPU_WORKERS={os.environ.get('EASEL_CPU_WORKERS', 'default')}"
    )
    with tempfile.TemporaryDirectory(prefix="easel-bench-") as tmp:
        await per_image_cost(Path(tmp), backend, pngs, level)
        await loop_lag(Path(tmp), backend, DISTINCT_IMAGES)


if __name__ == "__main__":
    asyncio.run(main())
