"""Routing by model under load: three real HTTP fakes, one failing mid-run, 200 jobs from 20 people.

Run from the repo root::

    python bench/routing.py

Three services on 127.0.0.1 speak their real wire protocols: the Stability fake (v2beta, model
``core``, fallback ``gpt-image-2``), the OpenAI images fake (``gpt-image-2``, fallback the Gemini
model) and the Gemini fake (fallback ``core``), each with its own latency. 200 jobs from 20 people
ask for the three models in turn (1–2 images each) through the real command builder, job service,
quota ledger and RoutingBackend. After a third of the jobs are submitted the Stability fake starts
answering 503 to every generation.

Printed: the fraction of jobs made by the model they asked for, the fraction failed over, jobs
failed (refunded) and jobs lost (neither delivered nor settled: must be 0), and the quota units
charged by the ledger against the units delivered, computed here independently from what each
service returned (images × the delivering model's price, or the OpenAI fake's billed tokens at 400
per unit, capped at what was reserved). The same jobs run first with every service healthy: that
run is the baseline for the wall-time ratio.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from commands import COMMANDS, Invocation
from services.backends.gemini.backend import GeminiImagesBackend
from services.backends.openai.backend import OpenAIImagesBackend
from services.backends.routing import RoutingBackend
from services.backends.stability import StabilityV2Backend
from services.db import Database
from services.errors import EaselError
from services.jobs import JobService
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import JobOutcome, Requester
from services.watermark import Watermarker
from tests.fakes.gemini.server import FakeGemini
from tests.fakes.openai.server import FakeOpenAI
from tests.fakes.stability.server import FakeStabilityServer

JOBS = 200
PEOPLE = 20
FAIL_AFTER = JOBS // 3
GEMINI = "gemini-3.1-flash-image"
SERVICE_OF = {"core": "stability", "gpt-image-2": "openai", GEMINI: "gemini"}
FALLBACKS = {"core": "gpt-image-2", "gpt-image-2": GEMINI, GEMINI: "core"}
# The prices this benchmark expects (the plugin defaults), kept apart from easel's own table.
PRICE = {"core": 3, "gpt-image-2": 10, GEMINI: 4}
TOKENS_PER_UNIT = 400
LATENCY_S = {"stability": 0.03, "openai": 0.06, "gemini": 0.015}


@dataclass
class Sink:
    """A front end that keeps every outcome and failure."""

    delivered: dict[str, JobOutcome] = field(default_factory=dict)
    failed: dict[str, EaselError] = field(default_factory=dict)

    async def on_queued(self, job_id: str, position: int) -> None: ...

    async def on_resumed(self, job_id: str, position: int) -> None: ...

    async def on_started(self, job_id: str) -> None: ...

    async def on_progress(self, job_id: str, progress: object) -> None: ...

    async def deliver(self, outcome: JobOutcome) -> None:
        self.delivered[outcome.job_id] = outcome

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        self.failed[job_id] = error


@dataclass
class Run:
    wall_s: float
    own: int
    failed_over: int
    failed: int
    lost: int
    open_reservations: int
    charged: int
    delivered_units: int


def _delivered_units(outcome: JobOutcome, reserved: int) -> int:
    images = len(outcome.images)
    if outcome.usage_tokens is not None:
        cost = max(images, math.ceil(outcome.usage_tokens / TOKENS_PER_UNIT))
    else:
        cost = images * PRICE[outcome.model]
    return min(cost, reserved)


async def _run(fail_mid_run: bool) -> Run:
    async with FakeStabilityServer() as stability:
        openai, gemini = await FakeOpenAI().start(), await FakeGemini().start()
        stability.latency_s, openai.delay_s, gemini.delay_s = (
            LATENCY_S["stability"],
            LATENCY_S["openai"],
            LATENCY_S["gemini"],
        )
        routing = RoutingBackend(
            {
                "stability": StabilityV2Backend(
                    stability.api_key, host=stability.url, model="core", models=["core"],
                    retry_base_delay_s=0.01, max_attempts=2, poll_interval_s=0.01,
                ),
                "openai": OpenAIImagesBackend(openai.api_key, base_url=openai.url, retry_base_delay_s=0.01),
                "gemini": GeminiImagesBackend(gemini.api_key, base_url=gemini.url, retry_base_delay_s=0.01),
            },
            fallbacks=FALLBACKS,
        )  # fmt: skip
        await routing.start()
        with tempfile.TemporaryDirectory() as tmp:
            db = await Database.open(Path(tmp))
            quota = QuotaBook(db, daily_limit=10_000)
            jobs = JobService(
                db=db, quota=quota, store=ImageStore(Path(tmp), db), backend=routing,
                watermarker=Watermarker("AI generated"), max_concurrency=8,
            )  # fmt: skip
            sink = Sink()
            jobs.register_platform("bench", lambda record: sink)
            await jobs.start()
            models = list(SERVICE_OF)
            started = time.perf_counter()
            ids: list[str] = []
            for n in range(JOBS):
                if fail_mid_run and n == FAIL_AFTER:
                    stability.inject(status=503, times=1_000_000, path="/v2beta/")
                person = Requester("bench", f"user{n % PEOPLE}")
                text = f"a lighthouse number {n} --model {models[n % 3]} --n {1 + n % 2}"
                request = await COMMANDS["imagine"].build(Invocation(text=text), routing.limits)
                submitted = await jobs.submit(person, request, origin={"platform": "bench"})
                ids.append(submitted.job_id)
            for job_id in ids:
                try:
                    await jobs.wait(job_id)
                except EaselError:
                    pass
            wall_s = time.perf_counter() - started
            rows = await db.fetchall(
                "SELECT j.id, q.units, q.charged, q.state FROM jobs j"
                " JOIN quota_reservations q ON q.id = j.reservation_id"
            )
            reserved = {row["id"]: int(row["units"]) for row in rows}
            run = Run(
                wall_s=wall_s,
                own=sum(1 for o in sink.delivered.values() if o.fallback_from is None),
                failed_over=sum(1 for o in sink.delivered.values() if o.fallback_from is not None),
                failed=len(sink.failed),
                lost=JOBS - len(sink.delivered) - len(sink.failed),
                open_reservations=sum(1 for row in rows if row["state"] == "reserved"),
                charged=sum(int(row["charged"]) for row in rows),
                delivered_units=sum(_delivered_units(o, reserved[i]) for i, o in sink.delivered.items()),
            )
            wrong = [
                o for o in sink.delivered.values() if o.fallback_from is None and o.model not in SERVICE_OF
            ]
            assert not wrong, "an outcome names no offered model"
            await jobs.stop()
            await db.close()
        await routing.close()
        await openai.close()
        await gemini.close()
        return run


def _show(name: str, run: Run) -> None:
    print(
        f"{name:<22} {run.wall_s:6.2f} s  own model {run.own / JOBS:5.1%}  failed over {run.failed_over / JOBS:5.1%}"
        f"  failed {run.failed}  lost {run.lost}  open reservations {run.open_reservations}"
        f"  units charged {run.charged} / delivered {run.delivered_units}"
    )


async def main() -> int:
    logging.basicConfig(level=logging.ERROR)  # the failover warnings are expected here
    baseline = await _run(fail_mid_run=False)
    failing = await _run(fail_mid_run=True)
    print(
        f"{JOBS} jobs, {PEOPLE} people, 3 services (latencies {LATENCY_S}); Stability fails after job {FAIL_AFTER}"
    )
    _show("all healthy (baseline)", baseline)
    _show("stability down", failing)
    print(f"wall time ratio (down / healthy): {failing.wall_s / baseline.wall_s:.2f}")
    ok = all(
        r.lost == 0 and r.open_reservations == 0 and r.charged == r.delivered_units
        for r in (baseline, failing)
    )
    print("OK: nothing lost, every unit charged was delivered" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
