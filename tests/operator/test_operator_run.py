"""``easel run`` as an operator meets it: the real console script, real signals, the local fakes.

* a front end that cannot start (wrong token, platform unreachable, port taken) is one clear line
  naming the variable, exit status 1, no traceback, no secret;
* SIGTERM while a job is generating: a clean stop with status 0, and the next start finishes the job;
* a one-shot ``easel imagine`` on the data dir of a running ``easel run`` is refused with exit 2.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.helpers.cli import run_easel
from tests.helpers.network import free_port
from tests.helpers.operator_run import RunningEasel, run_env

WRONG_DISCORD_TOKEN = "MTIzNDU2.wrong-discord-token-abcdef"
WRONG_SLACK_TOKEN = "xoxb-wrong-0000-not-the-token"


T = TypeVar("T")


async def poll(check: Callable[[], Awaitable[T | None]], deadline_s: float = 20) -> T:
    """The first non-None answer of ``check`` (asked every 50 ms) within ``deadline_s``."""
    async with asyncio.timeout(deadline_s):
        while True:
            answer = await check()
            if answer is not None:
                return answer
            await asyncio.sleep(0.05)


def assert_one_clear_line(output: str, variable: str, *secrets: str) -> None:
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("easel: ")]
    assert len(errors) == 1, output
    assert variable in errors[0], output
    for secret in secrets:
        assert secret not in output


async def test_wrong_discord_token(discord_fake: FakeDiscord, stability_server: Any, tmp_path: Path) -> None:
    env = run_env(
        tmp_path, stability_server, DISCORD_TOKEN=WRONG_DISCORD_TOKEN, DISCORD_API_BASE=discord_fake.api_base
    )
    easel = await RunningEasel(env, tmp_path).start()
    try:
        code = await easel.wait_exit()
    finally:
        await easel.kill()
    output = easel.log()
    assert code == 1, output
    assert_one_clear_line(output, "DISCORD_TOKEN", WRONG_DISCORD_TOKEN, stability_server.api_key)


async def test_wrong_slack_token(slack_server: FakeSlack, stability_server: Any, tmp_path: Path) -> None:
    env = run_env(
        tmp_path,
        stability_server,
        SLACK_BOT_TOKEN=WRONG_SLACK_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_server.api_url,
    )
    easel = await RunningEasel(env, tmp_path).start()
    try:
        code = await easel.wait_exit()
    finally:
        await easel.kill()
    output = easel.log()
    assert code == 1, output
    assert_one_clear_line(output, "SLACK_BOT_TOKEN", WRONG_SLACK_TOKEN, SIGNING_SECRET)
    assert "invalid_auth" in output


async def test_wrong_slack_app_token(slack_server: FakeSlack, stability_server: Any, tmp_path: Path) -> None:
    wrong_app_token = "xapp-1-wrong-0000-not-the-app-token"
    env = run_env(
        tmp_path,
        stability_server,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=wrong_app_token,
        SLACK_API_URL=slack_server.api_url,
    )
    result = await run_easel("run", env=env, cwd=tmp_path, deadline_s=20)
    assert result.code == 1, result.stderr
    assert_one_clear_line(result.stderr, "SLACK_APP_TOKEN", wrong_app_token, BOT_TOKEN)
    assert "SLACK_BOT_TOKEN" not in result.stderr  # the bot token was fine: don't send the operator there


async def test_unreachable_slack_api(stability_server: Any, tmp_path: Path) -> None:
    dead = free_port()
    env = run_env(
        tmp_path,
        stability_server,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"http://127.0.0.1:{dead}/api/",
    )
    easel = await RunningEasel(env, tmp_path).start()
    try:
        code = await easel.wait_exit()
    finally:
        await easel.kill()
    output = easel.log()
    assert code == 1, output
    assert_one_clear_line(output, "SLACK_API_URL", BOT_TOKEN, SIGNING_SECRET)
    assert f"127.0.0.1:{dead}" in output


async def test_unreachable_discord_api(stability_server: Any, tmp_path: Path) -> None:
    dead = free_port()
    env = run_env(
        tmp_path,
        stability_server,
        DISCORD_TOKEN=WRONG_DISCORD_TOKEN,
        DISCORD_API_BASE=f"http://127.0.0.1:{dead}/api/v10",
    )
    result = await run_easel("run", env=env, cwd=tmp_path, deadline_s=30)
    assert result.code == 1, result.stderr
    assert_one_clear_line(result.stderr, "DISCORD_API_BASE", WRONG_DISCORD_TOKEN)
    assert f"127.0.0.1:{dead}" in result.stderr


async def test_sigterm_while_a_platform_hangs_at_start_up(stability_server: Any, tmp_path: Path) -> None:
    """``docker stop`` while Discord never answers: the stop wins, without waiting out the start timeout."""
    with socket.socket() as silent:  # accepts connections (in its backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        env = run_env(
            tmp_path,
            stability_server,
            DISCORD_TOKEN=WRONG_DISCORD_TOKEN,
            DISCORD_API_BASE=f"http://127.0.0.1:{silent.getsockname()[1]}/api/v10",
        )
        easel = await RunningEasel(env, tmp_path).start()
        try:
            async with aiohttp.ClientSession() as http:
                answer = await poll(lambda: easel.healthz(http))
            assert answer == (503, {**answer[1], "status": "degraded", "components": {"discord": False}})
            assert easel.proc is not None
            easel.proc.send_signal(signal.SIGTERM)
            code = await easel.wait_exit(deadline_s=10)
        finally:
            await easel.kill()
    output = easel.log()
    assert code == 0, output
    assert "Traceback" not in output and WRONG_DISCORD_TOKEN not in output


async def test_ports_already_taken(slack_server: FakeSlack, stability_server: Any, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for variable in ("EASEL_HTTP_PORT", "EASEL_SLACK_PORT"):
            env = run_env(
                tmp_path,
                stability_server,
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=slack_server.api_url,
            )
            env[variable] = port
            result = await run_easel("run", env=env, cwd=tmp_path, deadline_s=20)
            assert result.code == 1, result.stderr
            assert_one_clear_line(result.stderr, variable, BOT_TOKEN, SIGNING_SECRET)
            assert port in result.stderr


async def test_sigterm_mid_job_then_resume(
    slack_server: FakeSlack, stability_server: Any, tmp_path: Path
) -> None:
    env = run_env(
        tmp_path,
        stability_server,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_server.api_url,
    )
    endpoint = f"http://127.0.0.1:{env['EASEL_SLACK_PORT']}/slack/events"
    first = await RunningEasel(env, tmp_path).start()
    try:
        body = await first.wait_healthy()
        assert body["components"] == {"slack": True}

        # A one-shot CLI command on the data dir of the running bot is refused, cleanly.
        busy = await run_easel(
            "imagine", "a cat", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path, deadline_s=20
        )
        assert busy.code == 2, busy.stderr
        assert "another easel process" in busy.stderr and "EASEL_DATA_DIR" in busy.stderr
        assert "Traceback" not in busy.stderr
        assert not (tmp_path / "out").exists()
        # So is a second ``easel run`` (same .env: same data dir, same ports).
        twice = await run_easel("run", env=env, cwd=tmp_path, deadline_s=20)
        assert twice.code == 2, twice.stderr
        assert "another easel process" in twice.stderr and "Traceback" not in twice.stderr
        assert (await first.wait_healthy())["components"] == {"slack": True}  # the first one is unharmed

        # A job is generating (the fake Stability holds it) when the operator stops the bot.
        stability_server.latency_s = 60.0
        sent = await slack_server.user_side(endpoint).slash_command("/imagine", "a lighthouse --seed 3")
        assert sent.status == 200

        async def generating() -> bool | None:
            return any(r.status is None for r in stability_server.requests_for("/text-to-image")) or None

        await poll(generating, deadline_s=10)
        assert first.proc is not None
        first.proc.send_signal(signal.SIGTERM)
        code = await first.wait_exit(deadline_s=15)
    finally:
        await first.kill()
    output = first.log()
    assert code == 0, output
    assert "Traceback" not in output
    assert "shutdown.begin" in output and "jobs.stopped" in output
    assert not slack_server.calls_to("files.completeUploadExternal")

    # The next start finishes the job and posts it to the channel it came from.
    stability_server.latency_s = 0.0
    second = await RunningEasel(env, tmp_path).start()
    try:
        await second.wait_healthy()
        await slack_server.wait_for("files.completeUploadExternal", timeout_s=15)
        assert second.proc is not None
        second.proc.send_signal(signal.SIGTERM)
        assert await second.wait_exit() == 0
    finally:
        await second.kill()
    assert "resumed=1" in second.log(), second.log()
