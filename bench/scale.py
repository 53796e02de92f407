"""Costs that grow with the queue, in one easel process (issue 15, "the single process first").

Run from the repository root::

    python bench/scale.py                          # queues of 100, 10,000 and 50,000; recovery of 100..10,000
    python bench/scale.py --queued 100,10000 --recover 100,1000
    python bench/scale.py --postgres               # the same on a PostgreSQL server it starts

Everything runs in-process: the real :class:`services.jobs.JobService` on SQLite in a temp
data dir (or, with ``--postgres``, on a PostgreSQL server started on 127.0.0.1 for the run,
where the queue is the shared ``jobs`` table; the bench runs ``ANALYZE`` after each fill, as
autovacuum does within a minute of such growth: without it the planner, still sure the table is
tiny, scans it whole and submits at 50,000 queued are 12x slower), a zero-latency fake backend
(``tests/fakes/backend.py``) and no-op front ends.
Generation is paused so that submitted jobs stay queued. Figures, each against the
100-queued (or 100-recovered) baseline measured in the same run:

1. submit latency (median, p99) of ``--samples`` submits with N jobs already queued;
   goal: p99 at 50,000 <= 2x p99 at 100;
2. ``stats()`` (each /healthz and /metrics scrape) at N queued;
3. RSS growth per queued job while filling the queue (goal <= 1 kB), and for queued
   jobs that carry a 1 MB input image (remix), which must not stay in RAM;
4. recovery: ``start()`` of a new service over N unfinished jobs, until it serves
   (``start()`` returns) and until every job is queued again; goal <= 2 s per 10,000.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.db import Database
from services.errors import EaselError
from services.jobs import JobService
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import (
    GenerationRequest,
    InputImage,
    JobOutcome,
    Operation,
    Progress,
    Requester,
    WeightedPrompt,
)
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend, render_png
from tests.helpers.postgres import PostgresServer, running_postgres

USERS = 200  # queued jobs come from this many people, round-robin
SERVER: PostgresServer | None = None
PAGE = 4096


class NoOpSink:
    async def on_queued(self, job_id: str, position: int) -> None: ...

    async def on_resumed(self, job_id: str, position: int) -> None: ...

    async def on_started(self, job_id: str) -> None: ...

    async def on_progress(self, job_id: str, progress: Progress) -> None: ...

    async def deliver(self, outcome: JobOutcome) -> None: ...

    async def on_failed(self, job_id: str, error: EaselError) -> None: ...


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def request(i: int, init: InputImage | None = None) -> GenerationRequest:
    if init is not None:
        return GenerationRequest(
            operation=Operation.REMIX, prompts=(WeightedPrompt(f"bench {i}"),), seed=i, init_image=init
        )
    return GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt(f"bench {i}"),), seed=i)


DATABASE_URL: str | None = None  # --postgres: one fresh database per measurement


async def open_service(data_dir: Path, *, fresh: bool = True) -> tuple[Database, JobService]:
    global DATABASE_URL
    if SERVER is not None and fresh:
        DATABASE_URL = await SERVER.create_database()
    db = await Database.open(data_dir, url=DATABASE_URL)
    jobs = JobService(
        db=db,
        quota=QuotaBook(db, daily_limit=10_000_000),
        store=ImageStore(data_dir, db),
        backend=FakeBackend(),
        watermarker=Watermarker("AI generated"),
        max_concurrency=2,
    )
    jobs.register_platform("bench", lambda record: NoOpSink())
    return db, jobs


async def fill(jobs: JobService, start: int, count: int, init: InputImage | None = None) -> None:
    for i in range(start, start + count):
        await jobs.submit(Requester("bench", f"u{i % USERS}"), request(i, init), origin={"platform": "bench"})


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def queue_costs(root: Path, sizes: list[int], samples: int) -> None:
    """Submit latency, stats() cost and RSS per job, filling one queue up through ``sizes``."""
    db, jobs = await open_service(root / "queue")
    await jobs.start()
    jobs.pause()
    rows: list[tuple[int, float, float, float, float]] = []
    queued = 0
    gc.collect()
    rss_start, rss_at = rss_bytes(), 0
    try:
        for size in sizes:
            await fill(jobs, queued + samples, size - queued)  # ids after the samples' stay distinct
            queued = size
            if SERVER is not None:  # what autovacuum does within a minute of such growth
                await db.execute("ANALYZE")
            gc.collect()
            rss_at = rss_bytes()
            lat: list[float] = []
            for k in range(samples):
                t0 = time.perf_counter()
                submitted = await jobs.submit(
                    Requester("bench", f"s{k}"), request(k), origin={"platform": "bench"}
                )
                lat.append((time.perf_counter() - t0) * 1000)
                await jobs.cancel(submitted.job_id)  # keep the depth at ``size``
            t0 = time.perf_counter()
            for _ in range(20):
                jobs.stats()
            stats_ms = (time.perf_counter() - t0) * 1000 / 20
            per_job = (rss_at - rss_start) / queued
            rows.append((size, statistics.median(lat), pct(lat, 0.99), stats_ms, per_job))
    finally:
        await jobs.stop()
        await db.close()
    base = rows[0]
    print(f"submit with N queued ({samples} submits each, {USERS} users; ratio = vs {base[0]:,} queued):")
    print("        N    median ms  ratio     p99 ms  ratio   stats() ms  ratio   RSS/queued job")
    for size, med, p99, st, per in rows:
        print(
            f"  {size:7,}  {med:9.2f}  {med / base[1]:5.2f}  {p99:9.2f}  {p99 / base[2]:5.2f}"
            f"  {st:11.3f}  {st / base[3]:5.2f}   {per / 1024:7.2f} kB"
        )
    print(f"  goal: p99 at the largest N <= 2x p99 at {base[0]:,}; RSS <= 1 kB per queued job")


async def input_rss(root: Path, count: int) -> None:
    """RSS per queued job whose request carries a ~1 MB input image (each one distinct)."""
    db, jobs = await open_service(root / "inputs")
    await jobs.start()
    jobs.pause()
    try:
        gc.collect()
        before = rss_bytes()
        total = 0
        for i in range(count):  # each image is made, submitted and dropped: what stays is the job's
            image = InputImage(png=render_png(768, 768, i, noise=24.0), width=768, height=768)
            total += len(image.png)
            await fill(jobs, i, 1, image)
            del image
        size = total / count
        gc.collect()
        grown = rss_bytes() - before
    finally:
        await jobs.stop()
        await db.close()
    print(
        f"queued remixes with a {size / 1e6:.1f} MB input each ({count} jobs): RSS growth "
        f"{grown / count / 1024:8.1f} kB per job ({grown / count / size:.2f}x the input; goal: well under 1x)"
    )


async def recovery(root: Path, sizes: list[int]) -> None:
    rows: list[tuple[int, float, float]] = []
    for size in sizes:
        data_dir = root / f"recover-{size}"
        db, jobs = await open_service(data_dir)
        await jobs.start()
        jobs.pause()
        await fill(jobs, 0, size)
        await jobs.stop()
        await db.close()
        db, jobs = await open_service(data_dir, fresh=False)
        jobs.pause()  # nothing starts: what is measured is bringing the queue back
        t0 = time.perf_counter()
        if hasattr(jobs, "recovered"):  # this easel serves while it recovers
            await jobs.start(recover_in_background=True)
            serving = time.perf_counter() - t0
            await jobs.recovered()
        else:  # an older easel (the baseline): start() returns when every job is back
            await jobs.start()
            serving = time.perf_counter() - t0
        done = time.perf_counter() - t0
        depth = jobs.stats().queue_depth
        await jobs.stop()
        await db.close()
        if depth != size:
            raise SystemExit(f"recovered {depth} of {size} jobs")
        rows.append((size, serving, done))
    base = rows[0]
    print(f"recovery of N unfinished jobs at start (ratio = per job, vs {base[0]:,}):")
    print("        N   serving after s   all queued s   s per 10,000   ratio")
    for size, serving, done in rows:
        per10k = done / size * 10_000
        print(
            f"  {size:7,}  {serving:15.3f}  {done:13.3f}  {per10k:13.2f}  {per10k / (base[2] / base[0] * 10_000):6.2f}"
        )
    print("  goal: <= 2 s per 10,000 jobs; serving at once")


def sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queued", type=sizes, default=[100, 10_000, 50_000])
    parser.add_argument("--recover", type=sizes, default=[100, 1_000, 10_000])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--inputs", type=int, default=40, help="queued remixes with a 1 MB input")
    parser.add_argument("--postgres", action="store_true", help="on a PostgreSQL server started for the run")
    args = parser.parse_args()
    engine = "PostgreSQL (shared queue)" if args.postgres else "SQLite"
    print(f"easel scale bench: {os.cpu_count()} CPUs, {engine}, zero-latency fake backend, generation paused")
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory(prefix="easel-scale-") as tmp:
        if args.postgres:
            global SERVER
            SERVER = stack.enter_context(running_postgres())
        root = Path(tmp)
        await queue_costs(root, args.queued, args.samples)
        if args.inputs:
            await input_rss(root, args.inputs)
        await recovery(root, args.recover)


if __name__ == "__main__":
    asyncio.run(main())
