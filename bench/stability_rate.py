"""How close easel gets to Stability's rate limit without ever hitting it.

Run from the repo root (takes about 21 s: real 10 s windows)::

    python bench/stability_rate.py [--jobs 300]

A burst of single-image ``/imagine`` jobs goes at once through the real
:class:`~services.backends.stability.StabilityV2Backend` with its production limiter
(:data:`~services.backends.rate_limit.STABILITY_BUDGET`) to the fake Stability server, which
answers instantly and enforces 150 requests per sliding 10 s per key (then 429 for 60 s),
like the real API.

Figures: achieved request rate (jobs / time from the burst to the last answer) as a fraction
of Stability's 15 req/s — target ≥ 0.95 — and the number of 429s — target 0. Also the
busiest 10 s window the server saw and how long jobs waited for their turn.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.backends.rate_limit import STABILITY_BUDGET, RateLimiter
from services.backends.stability import StabilityV2Backend
from services.types import GenerationRequest, Operation, WeightedPrompt
from tests.fakes.stability import FakeStabilityServer

PROVIDER_RATE = STABILITY_BUDGET.max_requests / STABILITY_BUDGET.period_s  # 15 req/s


async def burst(jobs: int) -> None:
    async with FakeStabilityServer(rate_limit_window_s=STABILITY_BUDGET.period_s) as server:
        backend = StabilityV2Backend(
            server.api_key, host=server.url, limiter=RateLimiter(STABILITY_BUDGET), max_attempts=1
        )
        await backend.start()
        request = GenerationRequest(
            operation=Operation.IMAGINE, prompts=(WeightedPrompt("a lighthouse at dusk"),), seed=7
        )
        finished: list[float] = []

        async def job() -> None:
            await backend.generate(request)
            finished.append(time.monotonic())

        try:
            started = time.monotonic()
            outcomes = await asyncio.gather(*(job() for _ in range(jobs)), return_exceptions=True)
        finally:
            await backend.close()
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    elapsed = max(finished) - started if finished else float("nan")
    rate = len(finished) / elapsed
    waits = sorted(t - started for t in finished)
    statuses = [r.status for r in server.requests]
    print(f"jobs                       {jobs} ({len(failures)} failed)")
    print(
        f"limiter                    burst {STABILITY_BUDGET.burst}, then {STABILITY_BUDGET.rate_per_s:g} req/s "
        f"(at most {STABILITY_BUDGET.max_in_window} per {STABILITY_BUDGET.period_s:g} s)"
    )
    print(f"elapsed                    {elapsed:.2f} s")
    print(f"achieved rate              {rate:.2f} req/s")
    print(f"fraction of {PROVIDER_RATE:g} req/s        {rate / PROVIDER_RATE:.3f}   (target >= 0.95)")
    print(f"429 answers                {statuses.count(429)}   (target 0)")
    print(
        f"busiest 10 s window        {server.max_in_window(STABILITY_BUDGET.period_s)} requests (limit 150)"
    )
    print(
        f"time to answer             median {statistics.median(waits):.2f} s, max {waits[-1]:.2f} s"
        if waits
        else "time to answer             -"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(burst(args.jobs))


if __name__ == "__main__":
    main()
