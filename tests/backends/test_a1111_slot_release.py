"""A GPU host's slot is given back when its GPU is done, not when the answer has downloaded (issue 15).

The fake host models the network (``latency_s`` each way, a slow link for answers' bodies) and
A1111's own queue lock: ``busy_intervals`` are when its GPU worked, ``max_waiting`` how many
requests ever waited at the host behind a running one. The order of events is asserted, not speed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from services.backends.a1111 import A1111Backend
from services.types import GenerationRequest, Operation, WeightedPrompt
from tests.fakes.a1111 import FakeA1111
from tests.helpers.waiting import until

Factory = Callable[..., Awaitable[FakeA1111]]


def _imagine(**kw: Any) -> GenerationRequest:
    return GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("a fox"),), **kw)


async def _backend(host: FakeA1111, **kw: Any) -> A1111Backend:
    backend = A1111Backend([host.url], reprobe_interval_s=0, per_host_concurrency=1, **kw)
    await backend.start()
    return backend


async def _timed(backend: A1111Backend, done: list[float]) -> None:
    await backend.generate(_imagine(width=512, height=512))
    done.append(time.monotonic())


async def test_the_next_job_starts_while_the_answer_still_downloads(a1111_factory: Factory) -> None:
    # A slow link: each 512² PNG answer (base64, several hundred kB) takes well over a second.
    host = await a1111_factory(generation_s=0.2, link_bytes_per_s=200_000)
    backend = await _backend(host, progress_interval_s=5.0)  # no ETA poll lands in time: headers only
    try:
        done: list[float] = []
        await asyncio.gather(_timed(backend, done), _timed(backend, done))
        _, second = host.busy_intervals
        assert second[0] < min(done)  # the GPU took job 2 before job 1's answer had arrived
    finally:
        await backend.close()


async def test_the_next_job_is_sent_one_round_trip_before_the_gpu_frees_up(a1111_factory: Factory) -> None:
    host = await a1111_factory(generation_s=1.0, latency_s=0.05)
    backend = await _backend(host, progress_interval_s=1.0)
    try:
        await asyncio.gather(*(backend.generate(_imagine(width=64, height=64)) for _ in range(3)))
        assert len(host.busy_intervals) == 3
        # The next request was already waiting in the host's own queue when the GPU freed up.
        assert host.max_waiting == 1
    finally:
        await backend.close()


async def test_a_job_sent_early_and_cancelled_is_interrupted_once_it_starts(a1111_factory: Factory) -> None:
    host = await a1111_factory(generation_s=1.0, latency_s=0.02)
    backend = await _backend(host, progress_interval_s=1.0)
    try:
        first = asyncio.create_task(backend.generate(_imagine(width=64, height=64)))
        await until(lambda: bool(host.calls("/sdapi/v1/txt2img")))
        second = asyncio.create_task(backend.generate(_imagine(width=64, height=64)))
        await until(lambda: host.waiting == 1, within_s=5)  # sent early: waiting behind the first
        early = host.last("/sdapi/v1/txt2img").json["force_task_id"]
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        await first
        await until(lambda: len(host.busy_intervals) == 2, within_s=5)
        assert host.interrupted_tasks == [early]  # the first ran to its end; the abandoned one did not
    finally:
        await backend.close()
