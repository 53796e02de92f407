"""How busy does easel keep its GPU hosts?

A GPU runs one job at a time; while it waits for easel to send the next one it idles.
This starts fake AUTOMATIC1111 hosts whose every generation takes a fixed ``T`` seconds
(``tests/fakes/a1111.py``, one job at a time like a real GPU), lets ``--users`` users each
submit ``--jobs`` jobs at once through the real :class:`services.jobs.JobService` (SQLite,
fair queue, store, watermark) and :class:`services.backends.a1111.A1111Backend`,
and prints each host's utilisation as the fake measures it: time spent generating /
wall time from its first job's start to its last job's end. Targets: ≥ 98 % with one
host, ≥ 95 % per host with two.

Each run happens twice: with the host on this machine (no network), and across a
network like a GPU box in another room or rack (``--latency-ms`` round trip, answers' bodies
at ``--link-mbit``), with realistic 1024² images and the default worker count
(``EASEL_MAX_CONCURRENCY``, 2). The slot is given back when the GPU is done (see
``services/backends/a1111/host_call.py``), so the network should cost almost nothing.
Run from the repository root::

    python bench/gpu_host.py                 # 1 and 2 hosts, T = 1 s, 10 users × 2 jobs
    python bench/gpu_host.py --hosts 3 --generation-s 0.5 --size 512 --workers 5
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.backends.a1111 import A1111Backend  # noqa: E402
from services.db import Database  # noqa: E402
from services.errors import EaselError  # noqa: E402
from services.jobs import JobService  # noqa: E402
from services.quota import QuotaBook  # noqa: E402
from services.store import ImageStore  # noqa: E402
from services.types import (  # noqa: E402
    GenerationRequest,
    JobOutcome,
    Operation,
    Progress,
    Requester,
    WeightedPrompt,
)
from services.watermark import Watermarker  # noqa: E402
from tests.fakes.a1111 import FakeA1111  # noqa: E402


class CountingSink:
    """A front end that only counts (posting is not what is measured here)."""

    def __init__(self) -> None:
        self.delivered = 0
        self.failed = 0
        self.progress = 0

    async def on_queued(self, job_id: str, position: int) -> None:
        pass

    async def on_started(self, job_id: str) -> None:
        pass

    async def on_progress(self, job_id: str, progress: Progress) -> None:
        self.progress += 1

    async def deliver(self, outcome: JobOutcome) -> None:
        self.delivered += 1

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        self.failed += 1


async def run(hosts: int, args: argparse.Namespace, *, networked: bool) -> list[str]:
    link = {"latency_s": args.latency_ms / 2000, "link_bytes_per_s": args.link_mbit * 125_000}
    fakes = [
        await FakeA1111(generation_s=args.generation_s, grain=True, **(link if networked else {})).start()
        for _ in range(hosts)
    ]
    backend = A1111Backend(
        [f.url for f in fakes],
        per_host_concurrency=args.per_host,
        progress_interval_s=args.progress_s,
        reprobe_interval_s=0,
    )
    await backend.start()
    sink = CountingSink()
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp))
        jobs = JobService(
            db=db,
            quota=QuotaBook(db, 100_000),
            store=ImageStore(Path(tmp), db),
            backend=backend,
            watermarker=Watermarker("AI generated"),
            max_concurrency=args.workers,
        )
        jobs.register_platform("bench", lambda record: sink)
        await jobs.start()
        try:
            request = GenerationRequest(
                operation=Operation.IMAGINE,
                prompts=(WeightedPrompt("a lighthouse at dusk"),),
                width=args.size,
                height=args.size,
            )
            began = time.monotonic()
            submitted = []
            for n in range(args.jobs):
                for u in range(args.users):
                    user = Requester("bench", f"user{u}")
                    submitted.append(await jobs.submit(user, request, origin={"platform": "bench", "n": n}))
            await asyncio.gather(*(jobs.wait(s.job_id) for s in submitted))
            wall = time.monotonic() - began
        finally:
            await jobs.stop(grace_s=0)
            await db.close()
            await backend.close()
            for fake in fakes:
                await fake.close()
    total = len(submitted)
    where = f"{args.latency_ms:g} ms round trip, {args.link_mbit:g} Mbit/s" if networked else "no network"
    lines.append(
        f"{where}: {hosts} host(s) × {args.per_host} slot(s), {args.workers} workers, T = {args.generation_s:.2f} s, {args.users} users × "
        f"{args.jobs} jobs = {total} jobs of {args.size}×{args.size}: wall {wall:.2f} s "
        f"(ideal {total * args.generation_s / hosts:.2f} s), delivered {sink.delivered}, failed {sink.failed}"
    )
    for i, fake in enumerate(fakes, 1):
        n = len(fake.busy_intervals)
        gaps = [b[0] - a[1] for a, b in zip(fake.busy_intervals, fake.busy_intervals[1:], strict=False)]
        mean_gap_ms = 1000 * sum(gaps) / len(gaps) if gaps else 0.0
        lines.append(
            f"  host {i}: {n:3d} jobs, busy {fake.busy_s:6.2f} s, utilisation {100 * fake.utilisation():6.2f} % "
            f"(over the whole run {100 * fake.busy_s / wall:6.2f} %), mean idle gap {mean_gap_ms:5.1f} ms, "
            f"max queued on host {fake.max_waiting}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--hosts", type=int, nargs="*", default=[1, 2], help="host counts to run (default 1 2)"
    )
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2, help="jobs per user")
    parser.add_argument("--generation-s", type=float, default=1.0, help="T: seconds per generation")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="round trip to the host")
    parser.add_argument("--link-mbit", type=float, default=100.0, help="bandwidth of answers")
    parser.add_argument("--workers", type=int, default=2, help="EASEL_MAX_CONCURRENCY (default 2)")
    parser.add_argument(
        "--per-host", type=int, default=1, help="per-host concurrency (EASEL_GPU_HOST_CONCURRENCY)"
    )
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels")
    parser.add_argument("--progress-s", type=float, default=1.0, help="progress poll interval")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print("Driven through services.jobs.JobService (SQLite, fair queue, store, watermark) + A1111Backend.")
    for hosts in args.hosts:
        for networked in (False, True):
            for line in asyncio.run(run(hosts, args, networked=networked)):
                print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
