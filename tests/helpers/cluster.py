"""Several ``easel run`` processes sharing one PostgreSQL database: a gateway and its workers (issue 15).

The real console script per process (:class:`tests.helpers.operator_run.RunningEasel`), each with
its own data dir, one shared image directory and one instance id, Slack over HTTP against the fake
Slack, and the fake Stability server as the backend::

    cluster = Cluster(tmp_path, database_url, stability, slack)
    await cluster.start_gateway()
    await cluster.start_workers(3)
    await cluster.user.slash_command("/imagine", "a fox --seed 1", user_id="U0PERSON01")
    await cluster.kill_worker(0)          # kill -9
    await cluster.restart_worker(0)
    await cluster.close()

Used by ``tests/operator/test_scale_out.py`` and ``bench/scale_out.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, SlackUserSide
from tests.helpers.cli import clean_env
from tests.helpers.network import free_port
from tests.helpers.operator_run import RunningEasel

INSTANCE_ID = "0a1b2c3d"  # every process stamps the same installation id (compose.yaml does too)


class Cluster:
    """A gateway and workers on one database; ``extra`` variables go to every process."""

    def __init__(self, root: Path, database_url: str, stability: Any, slack: FakeSlack, **extra: str) -> None:
        self.root = root
        self.database_url = database_url
        self.stability = stability
        self.slack = slack
        self.extra = extra
        self.gateway: RunningEasel | None = None
        self.workers: list[RunningEasel] = []
        self.restarts = 0

    def env(self, name: str) -> dict[str, str]:
        return clean_env(
            STABILITY_API_KEY=self.stability.api_key,
            STABILITY_API_HOST=self.stability.url,
            EASEL_DATABASE_URL=self.database_url,
            EASEL_DATA_DIR=str(self.root / name),
            EASEL_STORE_URL=str(self.root / "store"),
            EASEL_INSTANCE_ID=INSTANCE_ID,
            EASEL_HTTP_PORT=str(free_port()),
            EASEL_SLACK_PORT=str(free_port()),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=self.slack.api_url,
            **self.extra,
        )

    async def start_gateway(self) -> RunningEasel:
        (self.root / "store").mkdir(parents=True, exist_ok=True)
        self.gateway = await RunningEasel(self.env("gateway"), self.root, "--role", "gateway").start()
        await self.gateway.wait_healthy(60)
        return self.gateway

    @property
    def user(self) -> SlackUserSide:
        """Slack's side, sending signed requests to the gateway's ``/slack/events``."""
        assert self.gateway is not None
        port = self.gateway.env["EASEL_SLACK_PORT"]
        return self.slack.user_side(f"http://127.0.0.1:{port}/slack/events")

    async def start_workers(self, count: int) -> list[RunningEasel]:
        started = [
            await RunningEasel(
                self.env(f"worker-{len(self.workers) + i}"), self.root, "--role", "worker"
            ).start()
            for i in range(count)
        ]
        self.workers.extend(started)
        await asyncio.gather(*(worker.wait_healthy(60) for worker in started))
        return started

    async def kill_worker(self, index: int) -> None:
        """``kill -9``: no shutdown, no release of what it held."""
        await self.workers[index].kill()

    async def restart_worker(self, index: int) -> None:
        """A new process in the killed one's place (its data dir, new ports)."""
        old = self.workers[index]
        env = {**old.env, "EASEL_HTTP_PORT": str(free_port()), "EASEL_SLACK_PORT": str(free_port())}
        self.workers[index] = await RunningEasel(env, self.root, "--role", "worker").start()
        self.restarts += 1
        await self.workers[index].wait_healthy(60)

    def logs(self) -> str:
        running = [p for p in (self.gateway, *self.workers) if p is not None]
        return "\n".join(f"--- {p.args} {p.log_path.name}\n{p.log()[-4000:]}" for p in running)

    async def close(self) -> None:
        for process in (*self.workers, self.gateway):
            if process is not None:
                await process.kill()
