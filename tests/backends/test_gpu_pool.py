"""Several GPU hosts behind one A1111Backend: sharing, serialising, failing over, coming back."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from services.backends.a1111 import A1111Backend, GpuPool, HostState
from services.errors import BackendMisconfigured, BackendUnavailable
from services.types import GenerationRequest, Operation, WeightedPrompt
from tests.fakes.a1111 import FakeA1111
from tests.helpers.waiting import until

Factory = Callable[..., Awaitable[FakeA1111]]
TXT2IMG = "/sdapi/v1/txt2img"


def imagine(prompt: str = "a lighthouse", **kw: Any) -> GenerationRequest:
    kw.setdefault("width", 64)
    kw.setdefault("height", 64)
    return GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt(prompt),), **kw)


def overlaps(intervals: list[tuple[float, float]]) -> bool:
    ordered = sorted(intervals)
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(ordered))


async def started(backend: A1111Backend) -> A1111Backend:
    await backend.start()
    return backend


async def test_two_hosts_share_the_load_one_job_each_at_a_time(a1111_factory: Factory) -> None:
    a = await a1111_factory(generation_s=0.2)
    b = await a1111_factory(generation_s=0.2)
    backend = await started(A1111Backend([a.url, b.url], reprobe_interval_s=0))
    try:
        results = await asyncio.gather(*(backend.generate(imagine(seed=i)) for i in range(6)))
    finally:
        await backend.close()
    assert sorted(r.images[0].seed for r in results) == list(range(6))
    assert len(a.calls(TXT2IMG)) == 3 and len(b.calls(TXT2IMG)) == 3
    # easel never hands a host a second job while one runs: the GPU's own queue stays empty.
    assert a.max_waiting == 0 and b.max_waiting == 0
    assert not overlaps(a.busy_intervals) and not overlaps(b.busy_intervals)


async def test_per_host_concurrency_queues_on_the_host(a1111_factory: Factory) -> None:
    a = await a1111_factory(generation_s=0.2)
    backend = await started(A1111Backend([a.url], per_host_concurrency=2, reprobe_interval_s=0))
    try:
        await asyncio.gather(*(backend.generate(imagine(seed=i)) for i in range(4)))
    finally:
        await backend.close()
    assert a.max_waiting == 1  # the next job already waits on the host when one finishes


async def test_least_busy_host_gets_the_next_job(a1111_factory: Factory) -> None:
    a = await a1111_factory(generation_s=1.0)
    b = await a1111_factory(generation_s=0.05)
    backend = await started(A1111Backend([a.url, b.url], reprobe_interval_s=0))
    try:
        slow = asyncio.create_task(backend.generate(imagine("slow")))
        await until(lambda: a.running)
        for i in range(3):  # a is busy: b takes them all, one after the other
            await backend.generate(imagine(f"quick {i}"))
        await slow
    finally:
        await backend.close()
    assert [r.json["prompt"] for r in a.calls(TXT2IMG)] == ["slow"]
    assert [r.json["prompt"] for r in b.calls(TXT2IMG)] == ["quick 0", "quick 1", "quick 2"]


@pytest.mark.parametrize("mode", ["close", "500"])
async def test_a_dying_hosts_job_completes_on_the_other(a1111_factory: Factory, mode: str) -> None:
    a = await a1111_factory(generation_s=2.0)
    b = await a1111_factory(generation_s=0.05)
    backend = await started(A1111Backend([a.url, b.url], reprobe_interval_s=0))
    try:
        job = asyncio.create_task(backend.generate(imagine("survivor", seed=77)))
        await until(lambda: a.running)
        a.die(mode)
        result = await asyncio.wait_for(job, 3)
        states = backend.host_states()
    finally:
        await backend.close()
    assert result.images[0].seed == 77
    assert [r.json["prompt"] for r in b.calls(TXT2IMG)] == ["survivor"]
    assert states == {a.url: HostState.DOWN, b.url: HostState.UP}


async def test_host_out_of_rotation_is_reprobed_and_comes_back(a1111_factory: Factory) -> None:
    a = await a1111_factory()
    b = await a1111_factory()
    backend = await started(A1111Backend([a.url, b.url], reprobe_interval_s=0.1))
    try:
        a.die("500")
        for i in range(3):
            await backend.generate(imagine(f"while a is down {i}"))
        assert backend.host_states()[a.url] is HostState.DOWN
        served_by_a = len(a.calls(TXT2IMG))  # the one that failed there, if any
        a.revive()
        await until(lambda: backend.host_states()[a.url] is HostState.UP)
        await asyncio.gather(*(backend.generate(imagine(f"after {i}")) for i in range(4)))
    finally:
        await backend.close()
    assert len(a.calls(TXT2IMG)) > served_by_a  # back in rotation
    assert all(r.json["prompt"].startswith("while") for r in b.calls(TXT2IMG)[:3])


async def test_host_down_at_start_joins_when_it_comes_up(a1111_factory: Factory) -> None:
    a = await a1111_factory()
    a.die("close")
    backend = await started(A1111Backend([a.url], reprobe_interval_s=0.1))
    try:
        assert backend.host_states() == {a.url: HostState.DOWN}
        assert backend.limits.models == ()  # nothing learned yet
        a.revive()
        await until(lambda: backend.host_states()[a.url] is HostState.UP)
        assert backend.limits.models == ("sd_xl_base_1.0", "v1-5-pruned-emaonly")
        result = await backend.generate(imagine())
    finally:
        await backend.close()
    assert len(result.images) == 1


async def test_single_host_is_reprobed_at_once_when_a_job_finds_none(a1111_factory: Factory) -> None:
    a = await a1111_factory()
    backend = await started(A1111Backend([a.url], reprobe_interval_s=0))
    try:
        a.die("500")
        with pytest.raises(BackendUnavailable) as caught:
            await backend.generate(imagine())
        assert a.url not in caught.value.user_message and "127.0.0.1" not in caught.value.user_message
        assert a.url in caught.value.log_detail
        a.revive()
        await asyncio.sleep(GpuPool.MIN_PROBE_GAP_S)
        result = await backend.generate(imagine())  # no background re-probing: the job probes
    finally:
        await backend.close()
    assert len(result.images) == 1


async def test_every_host_down_fails_fast(a1111_factory: Factory) -> None:
    a = await a1111_factory()
    b = await a1111_factory()
    a.die("close")
    b.die("500")
    backend = await started(A1111Backend([a.url, b.url], reprobe_interval_s=0))
    try:
        begun = time.monotonic()
        with pytest.raises(BackendUnavailable):
            await backend.generate(imagine())
        assert time.monotonic() - begun < 3
    finally:
        await backend.close()


async def test_a_host_with_wrong_credentials_is_skipped(a1111_factory: Factory) -> None:
    a = await a1111_factory(auth=("easel", "other"))
    b = await a1111_factory(auth=("easel", "pw"))
    backend = await started(A1111Backend([a.url, b.url], auth=("easel", "pw"), reprobe_interval_s=0))
    try:
        assert backend.host_states() == {a.url: HostState.AUTH_FAILED, b.url: HostState.UP}
        await asyncio.gather(*(backend.generate(imagine(seed=i)) for i in range(3)))
    finally:
        await backend.close()
    assert len(b.calls(TXT2IMG)) == 3 and not a.calls(TXT2IMG)


async def test_all_hosts_refusing_credentials_is_misconfigured(a1111_factory: Factory) -> None:
    a = await a1111_factory(auth=("easel", "other"))
    backend = await started(A1111Backend([a.url], auth=("easel", "pw"), reprobe_interval_s=0))
    try:
        with pytest.raises(BackendMisconfigured):
            await backend.generate(imagine())
    finally:
        await backend.close()


async def test_jobs_go_to_the_host_that_has_the_model(a1111_factory: Factory) -> None:
    xl = ("sd_xl_base_1.0.safetensors [31e35c80fc]", "sd_xl_base_1.0", "31e35c80fc")
    anime = ("anything-v5.safetensors [7f96a1a9ca]", "anything-v5", "7f96a1a9ca")
    a = await a1111_factory(models=(xl,))
    b = await a1111_factory(models=(xl, anime))
    backend = await started(A1111Backend([a.url, b.url], reprobe_interval_s=0))
    try:
        assert backend.limits.models == ("sd_xl_base_1.0", "anything-v5")
        results = await asyncio.gather(
            *(backend.generate(imagine(model="anything-v5", seed=i)) for i in range(2))
        )
    finally:
        await backend.close()
    assert {r.model for r in results} == {"anything-v5"}
    assert len(b.calls(TXT2IMG)) == 2 and not a.calls(TXT2IMG)
    assert b.last(TXT2IMG).json["override_settings"]["sd_model_checkpoint"] == anime[0]


async def test_a_host_that_stops_answering_progress_loses_its_job(a1111_factory: Factory) -> None:
    a = await a1111_factory(generation_s=3.0)
    b = await a1111_factory(generation_s=0.05)
    backend = await started(A1111Backend([a.url, b.url], progress_interval_s=0.05, reprobe_interval_s=0))
    try:
        job = asyncio.create_task(backend.generate(imagine("moved")))
        await until(lambda: a.running)
        a.fail_progress = True  # the POST still hangs there, but the host no longer answers polls
        begun = time.monotonic()
        result = await asyncio.wait_for(job, 2.5)
        assert time.monotonic() - begun < 2  # long before a's 3 s generation (or a 600 s timeout)
    finally:
        await backend.close()
    assert len(result.images) == 1
    assert [r.json["prompt"] for r in b.calls(TXT2IMG)] == ["moved"]
    assert backend.host_states()[a.url] is HostState.DOWN
