"""``easel run`` as an operator starts it: the real console script as a child process, and its env."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.helpers.cli import clean_env, easel_command
from tests.helpers.network import free_port


class RunningEasel:
    """``easel run`` as a child process; stderr goes to a file so a chatty log never blocks it."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self.env = env
        self.args = args  # after ``run``, e.g. ``--role worker``
        self.cwd = cwd
        self.http_port = int(env["EASEL_HTTP_PORT"])
        self.log_path = cwd / f"easel-run-{id(self)}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> RunningEasel:
        log = await asyncio.to_thread(self.log_path.open, "wb")
        with log:
            self.proc = await asyncio.create_subprocess_exec(
                *easel_command(), "run", *self.args, cwd=self.cwd, env=self.env,
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def healthz(self, http: aiohttp.ClientSession) -> tuple[int, dict[str, Any]] | None:
        try:
            async with http.get(f"http://127.0.0.1:{self.http_port}/healthz") as resp:
                return resp.status, await resp.json()
        except aiohttp.ClientError:
            return None

    async def wait_healthy(self, deadline_s: float = 20) -> dict[str, Any]:
        assert self.proc is not None
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(deadline_s):
                while True:
                    if self.proc.returncode is not None:
                        raise AssertionError(f"easel run exited {self.proc.returncode}:\n{self.log()}")
                    answer = await self.healthz(http)
                    if answer is not None and answer[0] == 200:
                        return answer[1]
                    await asyncio.sleep(0.05)

    async def wait_exit(self, deadline_s: float = 20) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), deadline_s)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def run_env(tmp_path: Path, stability: Any, **extra: str) -> dict[str, str]:
    return clean_env(
        STABILITY_API_KEY=stability.api_key,
        STABILITY_API_HOST=stability.url,
        EASEL_DATA_DIR=str(tmp_path / "data"),
        EASEL_HTTP_PORT=str(free_port()),
        EASEL_SLACK_PORT=str(free_port()),
        **extra,
    )
