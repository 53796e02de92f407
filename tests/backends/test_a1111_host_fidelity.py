"""What users trip on with the web UI API, against the fake host's real rules (issue 11, item 6).

Interrupt and progress are host-wide; ``override_settings`` stays unless restored; the API's default
sampler is not the UI's; checkpoints have a native size class. The fake models each (``interrupted_tasks``
records which job an ``/interrupt`` stopped, ``current_model`` what the host keeps loaded).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from commands import COMMANDS, Invocation
from services.backends.a1111 import A1111Backend
from services.types import GenerationRequest, Operation, WeightedPrompt
from tests.fakes.a1111 import FakeA1111
from tests.helpers.waiting import until

Factory = Callable[..., Awaitable[FakeA1111]]
XL_TITLE = "sd_xl_base_1.0.safetensors [31e35c80fc]"


def _imagine(**kw: Any) -> GenerationRequest:
    return GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("a fox"),), **kw)


async def _backend(*hosts: FakeA1111, **kw: Any) -> A1111Backend:
    backend = A1111Backend([h.url for h in hosts], reprobe_interval_s=0, progress_interval_s=0.02, **kw)
    await backend.start()
    return backend


async def test_model_choice_is_for_that_job_only(a1111_server: FakeA1111, gpu_backend: A1111Backend) -> None:
    await gpu_backend.generate(_imagine(model="v1-5-pruned-emaonly", width=512, height=512))
    body = a1111_server.last("/sdapi/v1/txt2img").json
    assert body["override_settings_restore_afterwards"] is True
    assert a1111_server.current_model == XL_TITLE  # the host's own checkpoint is back for everyone


async def test_an_sd15_checkpoint_renders_at_its_native_size(
    a1111_server: FakeA1111, gpu_backend: A1111Backend
) -> None:
    request = await COMMANDS["imagine"].build(
        Invocation(text="a fox --model v1-5-pruned-emaonly"), gpu_backend.limits
    )
    assert (request.width, request.height) == (512, 512)
    default = await COMMANDS["imagine"].build(Invocation(text="a fox"), gpu_backend.limits)
    assert (default.width, default.height) == (1024, 1024)
    await gpu_backend.generate(request)
    body = a1111_server.last("/sdapi/v1/txt2img").json
    assert (body["width"], body["height"]) == (512, 512)


async def test_the_operators_default_sampler_is_sent(a1111_factory: Factory) -> None:
    host = await a1111_factory()
    chosen = await _backend(host, sampler="euler a")
    missing = await _backend(host, sampler="UniPC")
    try:
        await chosen.generate(_imagine(width=64, height=64))
        assert host.last("/sdapi/v1/txt2img").json["sampler_name"] == "Euler a"  # the host's spelling
        await chosen.generate(_imagine(width=64, height=64, sampler="DDIM"))
        assert host.last("/sdapi/v1/txt2img").json["sampler_name"] == "DDIM"  # the user's choice wins
        await missing.generate(_imagine(width=64, height=64))
        assert "sampler_name" not in host.last("/sdapi/v1/txt2img").json
        [line] = await missing.check()
        assert "default sampler 'UniPC' not offered" in line.detail
    finally:
        await chosen.close()
        await missing.close()


async def _foreign_job(host: FakeA1111) -> dict[str, object]:
    """Someone else's txt2img on the same host (the web UI, another bot)."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{host.url}/sdapi/v1/txt2img", json={"prompt": "not easel's", "width": 64, "height": 64}
        ) as r,
    ):
        body: dict[str, object] = await r.json()
        return body


async def test_cancelling_never_interrupts_a_job_that_is_not_ours(a1111_factory: Factory) -> None:
    host = await a1111_factory(generation_s=0.6)
    backend = await _backend(host)
    try:
        foreign = asyncio.create_task(_foreign_job(host))
        await until(lambda: host.calls("/sdapi/v1/txt2img"))
        ours = asyncio.create_task(backend.generate(_imagine(width=64, height=64)))
        await until(lambda: len(host.calls("/sdapi/v1/txt2img")) == 2)
        abandoned = host.last("/sdapi/v1/txt2img").json["force_task_id"]
        ours.cancel()
        info = await foreign
        await asyncio.gather(ours, return_exceptions=True)
        assert '"interrupted": false' in str(info["info"])  # the foreign job ran to its end
        # The host cannot drop a queued request: easel interrupts ours once it starts, and only it.
        await until(lambda: len(host.busy_intervals) == 2, within_s=5)
        assert host.interrupted_tasks == [abandoned]
        alone = asyncio.create_task(backend.generate(_imagine(width=64, height=64)))
        await until(lambda: len(host.calls("/sdapi/v1/txt2img")) == 3)
        await asyncio.sleep(0.1)
        alone.cancel()
        await asyncio.gather(alone, return_exceptions=True)
        await until(lambda: len(host.interrupted_tasks) == 2)
        sent = host.last("/sdapi/v1/txt2img").json["force_task_id"]
        assert host.interrupted_tasks == [abandoned, sent]  # our own jobs, and only them
    finally:
        await backend.close()


async def test_easel_check_names_a_shared_host(a1111_factory: Factory) -> None:
    host = await a1111_factory(generation_s=0.5)
    shared = await _backend(host, per_host_concurrency=2)
    alone = await _backend(host)
    try:
        [line] = await shared.check()
        assert line.ok and "shared: 2 easel jobs at once" in line.detail
        [quiet] = await alone.check()
        assert "shared" not in quiet.detail
        foreign = asyncio.create_task(_foreign_job(host))
        await until(lambda: host.calls("/sdapi/v1/txt2img"))
        [busy] = await alone.check()
        assert "busy with work easel did not send" in busy.detail
        await foreign
    finally:
        await shared.close()
        await alone.close()


async def test_previews_are_withheld_while_another_easel_job_shares_the_host(a1111_factory: Factory) -> None:
    host = await a1111_factory(generation_s=0.4)
    backend = await _backend(host, per_host_concurrency=2)
    second: list[float] = []

    async def second_progress(update: object) -> None:
        second.append(time.monotonic())

    try:
        run_first = asyncio.create_task(backend.generate(_imagine(width=64, height=64)))
        await until(lambda: host.calls("/sdapi/v1/txt2img"))
        await backend.generate(_imagine(width=64, height=64), second_progress)
        await run_first
    finally:
        await backend.close()
    # While the first job ran, /progress showed it: the queued second job must not report it as its own.
    first_job_ended = host.busy_intervals[0][1]  # the fake's clock is time.monotonic too
    assert second and min(second) >= first_job_ended
