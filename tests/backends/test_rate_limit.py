"""The shared client-side limiter: its arithmetic, its behaviour, and a 300-request burst end to end.

Windows are scaled down (1 s instead of Stability's 10 s) so the burst takes ~2 s, not 20 s;
``bench/stability_rate.py`` runs the production budget against real 10 s windows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import aiohttp
import pytest

from services.backends.rate_limit import (
    MAX_SHARING_PROCESSES,
    STABILITY_BUDGET,
    RateBudget,
    RateLimiter,
    shared_budget,
    shared_limiter,
)
from services.types import GenerationRequest, Operation, WeightedPrompt
from tests.fakes.stability import FakeStabilityServer, stability_backend_for, stability_v2_backend_for


def _max_in_window(times: Sequence[float], window_s: float) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


# --- the budget's arithmetic ------------------------------------------------------------------------


def test_production_budget_stays_under_stabilitys_limit_with_headroom() -> None:
    budget = STABILITY_BUDGET
    assert (budget.max_requests, budget.period_s) == (150, 10.0)
    # the leaky bucket's bound: burst + rate * window requests in any window
    assert budget.burst + budget.rate_per_s * budget.period_s == pytest.approx(budget.max_in_window)
    assert budget.max_in_window <= 145 < 150
    assert 14.0 <= budget.rate_per_s < 15.0


def test_budget_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        RateBudget(period_s=0)
    with pytest.raises(ValueError):
        RateBudget(burst=0)
    with pytest.raises(ValueError):
        RateBudget(max_requests=10, burst=8, headroom=2)


# --- behaviour --------------------------------------------------------------------------------------


async def test_no_window_ever_holds_more_than_the_budget() -> None:
    budget = RateBudget(max_requests=150, period_s=0.5, burst=5, headroom=3)
    limiter = RateLimiter(budget, name="test")
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(loop.time())

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(300)))
    assert time.monotonic() - started < 5
    assert len(times) == 300 == limiter.acquired
    assert _max_in_window(times, budget.period_s) <= budget.max_in_window
    # and it does not hold back more than it must: the first window is used up to the bound
    assert _max_in_window(times, budget.period_s) >= budget.max_in_window - 2


async def test_pause_holds_every_caller_back() -> None:
    limiter = RateLimiter(RateBudget(max_requests=100, period_s=1.0), name="test")
    loop = asyncio.get_running_loop()
    await limiter.acquire()
    limiter.pause(0.3)
    paused_at = loop.time()
    arrivals: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        arrivals.append(loop.time())

    await asyncio.gather(one(), one(), one())
    assert min(arrivals) - paused_at >= 0.29
    assert limiter.pauses == 1
    limiter.pause(0)  # nothing to wait for: ignored
    limiter.pause(float("nan"))
    assert limiter.pauses == 1


def test_shared_limiter_is_one_per_host_and_key() -> None:
    a = shared_limiter("http://127.0.0.1:1/", "sk-one-key-123456")
    assert shared_limiter("http://127.0.0.1:1", "sk-one-key-123456") is a
    assert shared_limiter("http://127.0.0.1:1", "sk-other-key-654321") is not a
    assert shared_limiter("http://127.0.0.1:2", "sk-one-key-123456") is not a
    assert "sk-one-key-123456" not in repr(a) and "sk-one-key-123456" not in a.name
    with pytest.raises(ValueError, match="different budget"):
        shared_limiter("http://127.0.0.1:1", "sk-one-key-123456", RateBudget(period_s=1.0))


def test_one_limiter_serves_several_event_loops() -> None:
    """aiolimiter warns when reused across loops; ours keeps one bucket per loop."""
    limiter = RateLimiter(RateBudget(max_requests=20, period_s=1.0, burst=2, headroom=1))

    async def burst() -> int:
        await asyncio.gather(*(limiter.acquire() for _ in range(3)))
        return limiter.acquired

    assert asyncio.run(burst()) == 3
    assert asyncio.run(burst()) == 6  # a second loop: no RuntimeWarning (warnings are errors here)


async def test_v1_and_v2_backends_share_the_keys_limiter(stability_server: FakeStabilityServer) -> None:
    limiter = shared_limiter(stability_server.url, stability_server.api_key)
    before = limiter.acquired
    async with stability_backend_for(stability_server) as v1:
        await v1.check()  # engines/list + balance
        async with stability_v2_backend_for(stability_server) as v2:
            await v2.generate(
                GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("a pier"),))
            )
            await v2.balance()
    assert limiter.acquired - before == len(stability_server.requests) == 5  # v1 start() asks once too


# --- the fake enforces the limit like the real API ---------------------------------------------------


async def test_fake_answers_429_past_150_per_window_and_times_the_key_out() -> None:
    async with (
        FakeStabilityServer(rate_limit_window_s=1.0, rate_limit_timeout_s=0.3) as server,
        aiohttp.ClientSession() as session,
    ):
        auth = {"Authorization": f"Bearer {server.api_key}"}
        url = f"{server.url}/v1/user/balance"

        async def get() -> int:
            async with session.get(url, headers=auth) as resp:
                await resp.read()
                return resp.status

        statuses = await asyncio.gather(*(get() for _ in range(160)))
        assert statuses.count(200) == 150 and statuses.count(429) == 10
        assert server.rate_limited == 10
        async with session.post(f"{server.url}/v2beta/stable-image/generate/core", headers=auth) as resp:
            assert resp.status == 429  # timed out: every path, v2beta too
            body = await resp.json()
            assert body["name"] == "rate_limit_exceeded" and "150 requests" in body["errors"][0]
        await asyncio.sleep(1.05)  # past the time-out and the window
        assert await get() == 200


# --- end to end: a burst of 300 single-image jobs ----------------------------------------------------


async def test_burst_of_300_images_gets_no_429() -> None:
    """300 one-image jobs at once through the real backend: paced under the fake's limit, zero 429s.

    Scaled to a 1 s window; the headroom is wider than production's because client and fake
    share one event loop on a busy machine (a request can sit ~0.2 s between acquire and arrival).
    """
    budget = RateBudget(max_requests=150, period_s=1.0, burst=5, headroom=25)
    async with FakeStabilityServer(rate_limit_window_s=1.0) as server:
        async with stability_v2_backend_for(server, limiter=RateLimiter(budget), max_attempts=1) as backend:
            request = GenerationRequest(
                operation=Operation.IMAGINE, prompts=(WeightedPrompt("a lighthouse"),), seed=7
            )
            started = time.monotonic()
            results = await asyncio.gather(*(backend.generate(request) for _ in range(300)))
            elapsed = time.monotonic() - started
        assert len(results) == 300 and all(len(r.images) == 1 for r in results)
        assert server.rate_limited == 0
        assert [r.status for r in server.requests].count(200) == 300
        assert server.max_in_window(1.0) <= 150
        assert elapsed < 15  # generous: ~2.4 s of pacing


def test_processes_sharing_a_key_each_keep_to_a_share_that_fits_the_rule_together() -> None:
    """Gateways and workers with one Stability key (issue 15): together under 150 per 10 s."""
    assert shared_budget(1) == STABILITY_BUDGET
    for processes in (2, 3, 5, 8, 20, MAX_SHARING_PROCESSES):
        share = shared_budget(processes)
        assert processes * share.max_in_window < STABILITY_BUDGET.max_requests
        assert share.rate_per_s > 0 and share.burst >= 1
    with pytest.raises(ValueError):
        shared_budget(MAX_SHARING_PROCESSES + 1)
