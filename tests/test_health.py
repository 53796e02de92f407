"""/healthz and /metrics served by the real HealthServer over a real JobService."""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.app import open_services
from bot.cli_sink import CliSink
from bot.health import HealthServer
from commands import COMMANDS, Invocation
from services.types import Requester


async def test_health_and_metrics_reflect_jobs(easel_settings: Any, tmp_path: Any) -> None:
    ready = {"discord": True, "slack": False}
    async with open_services(easel_settings) as services:
        services.jobs.register_platform("cli", lambda record: CliSink(record.origin))
        await services.jobs.start()
        health = HealthServer(stats=services.jobs.stats, ready=lambda: ready, host="127.0.0.1", port=0)
        await health.start()
        try:
            base = f"http://127.0.0.1:{health.port}"
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/healthz") as resp:
                    assert resp.status == 503
                    body = await resp.json()
                    assert body["status"] == "degraded" and body["components"] == ready

                request = await COMMANDS["imagine"].build(Invocation(text="a cat --n 2"), services.limits)
                job = await services.jobs.submit(
                    Requester("cli", "tester"), request, origin={"platform": "cli", "out_dir": str(tmp_path / "o")}
                )
                await services.jobs.wait(job.job_id)

                ready["slack"] = True
                async with http.get(f"{base}/healthz") as resp:
                    assert resp.status == 200
                    assert (await resp.json())["status"] == "ok"
                async with http.get(f"{base}/metrics") as resp:
                    assert resp.status == 200
                    text = await resp.text()
            assert "easel_jobs_submitted_total 1.0" in text
            assert "easel_images_delivered_total 2.0" in text
            assert 'easel_jobs_total{status="done"} 1.0' in text
            assert "easel_queue_depth 0.0" in text
        finally:
            await health.close()
