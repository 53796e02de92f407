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
                    Requester("cli", "tester"),
                    request,
                    origin={"platform": "cli", "out_dir": str(tmp_path / "o")},
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


async def _get_status(services: Any) -> dict[str, Any]:
    from bot.runner import operator_status

    health = HealthServer(
        stats=services.jobs.stats, ready=lambda: {}, status=lambda: operator_status(services),
        host="127.0.0.1", port=0,
    )  # fmt: skip
    await health.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{health.port}/status") as resp:
                assert resp.status == 200
                body: dict[str, Any] = await resp.json()
                return body
    finally:
        await health.close()


async def test_status_shows_stability_credits(make_settings: Any, stability_server: Any) -> None:
    stability_server.credits = 12.5
    async with open_services(make_settings(stability_model="core")) as services:
        body = await _get_status(services)
    assert body["backend"] == "stability" and body["model"] == "core"
    assert body["credits"] == 12.5
    assert body["jobs"]["queue_depth"] == 0


async def test_status_shows_gpu_hosts_without_credentials(make_settings: Any, a1111_server: Any) -> None:
    url = a1111_server.url.replace("http://", "http://user:pw@")
    async with open_services(make_settings(backend="gpu-host", gpu_host_url=url)) as services:
        body = await _get_status(services)
    assert body["backend"] == "gpu-host"
    assert body["hosts"] == {a1111_server.url: "up"}
    assert "pw" not in str(body)


async def test_status_with_several_services_shows_each_ones_facts_and_circuit(
    make_settings: Any, stability_server: Any, openai_server: Any
) -> None:
    stability_server.credits = 7.0
    settings = make_settings(
        backends=["stability", "openai"],
        stability_model="core",
        openai_api_key=openai_server.api_key,
        openai_base_url=openai_server.url,
    )
    async with open_services(settings) as services:
        body = await _get_status(services)
    assert body["backend"] == "routing"
    assert body["services"]["stability"] == {"credits": 7.0, "circuit": "closed"}
    assert body["services"]["openai"] == {"circuit": "closed"}
