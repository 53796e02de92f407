"""A ComfyUI job interrupted by a restart is not rendered twice: the host kept working, so the next
start fetches the runs it finished (or is still running) by their saved prompt ids; only a run the
host no longer knows (it restarted too) is submitted again, with the seed it would have had."""

from __future__ import annotations

import asyncio
from pathlib import Path

from commands import imagine
from commands.invocation import Invocation
from services.backends.comfyui import ComfyUIBackend, load_workflows
from services.types import GenerationRequest
from tests.fakes.comfyui import FakeComfyUI
from tests.helpers.jobs import ALICE, ORIGIN, Services, build_services
from tests.helpers.waiting import until


def comfyui(server: FakeComfyUI) -> ComfyUIBackend:
    return ComfyUIBackend(
        server.url, workflows=load_workflows(None), retry_base_delay_s=0.01, resume_poll_s=0.02
    )


async def started(data: Path, server: FakeComfyUI) -> Services:
    backend = comfyui(server)
    await backend.start()
    services = await build_services(data, backend)  # type: ignore[arg-type]
    return services


async def stop(services: Services) -> None:
    await services.jobs.stop(grace_s=0)  # a crash as far as the job is concerned: left 'running'
    await services.db.close()
    await services.backend.close()


async def request(services: Services, text: str) -> GenerationRequest:
    return await imagine.build(Invocation(text=text), services.backend.limits)


async def token_of(services: Services, job_id: str) -> str:
    row = await services.db.fetchone("SELECT status, resume_token FROM jobs WHERE id = ?", (job_id,))
    assert row is not None and row["status"] == "running"
    return str(row["resume_token"] or "")


async def test_a_restart_fetches_the_runs_the_host_finished_instead_of_rendering_them_again(
    tmp_path: Path, comfyui_server: FakeComfyUI
) -> None:
    comfyui_server.step_delay_s = 0.02  # 30 steps: long enough to stop easel in the middle
    first = await started(tmp_path, comfyui_server)
    await first.jobs.start()
    job = await first.jobs.submit(ALICE, await request(first, "a copper kettle --n 2"), origin=ORIGIN)
    await until(lambda: len(comfyui_server.prompts) == 1, within_s=10)
    await until(lambda: len(comfyui_server.history) == 0, within_s=1)  # still rendering run 1
    await asyncio.sleep(0.05)
    assert "comfyui" in await token_of(first, job.job_id)
    await stop(first)

    await until(lambda: len(comfyui_server.history) == 1, within_s=10)  # the host finished it alone
    again = await started(tmp_path, comfyui_server)
    report = await again.jobs.start()
    try:
        assert report.resumed == [job.job_id]
        await again.sink.wait_for({job.job_id}, within_s=20)
        [outcome] = again.sink.delivered[job.job_id]
        assert len(outcome.images) == 2
        assert len(comfyui_server.prompts) == 2  # run 1 fetched, run 2 rendered: nothing twice
        seeds = [p["3"]["inputs"]["seed"] for p in comfyui_server.prompts]
        assert seeds[1] == seeds[0] + 1  # the seeds the job would have had without the restart
        assert [i.seed for i in outcome.images] == seeds
        assert (await again.jobs.quota_status(ALICE)).used == 2
    finally:
        await stop(again)


async def test_a_run_the_host_forgot_is_rendered_again_with_its_seed(
    tmp_path: Path, comfyui_server: FakeComfyUI
) -> None:
    comfyui_server.step_delay_s = 0.02
    first = await started(tmp_path, comfyui_server)
    await first.jobs.start()
    job = await first.jobs.submit(ALICE, await request(first, "a copper kettle"), origin=ORIGIN)
    await until(lambda: len(comfyui_server.prompts) == 1, within_s=10)
    await asyncio.sleep(0.05)
    assert "comfyui" in await token_of(first, job.job_id)
    await stop(first)
    comfyui_server.forget()  # the GPU host restarted too: its queue and history are gone
    comfyui_server.step_delay_s = 0.0

    again = await started(tmp_path, comfyui_server)
    await again.jobs.start()
    try:
        await again.sink.wait_for({job.job_id}, within_s=20)
        [outcome] = again.sink.delivered[job.job_id]
        assert len(comfyui_server.prompts) == 2  # nothing to fetch: rendered again, once
        lost, rendered = (p["3"]["inputs"]["seed"] for p in comfyui_server.prompts)
        assert rendered == lost == outcome.images[0].seed
        assert (await again.jobs.quota_status(ALICE)).used == 1
    finally:
        await stop(again)
