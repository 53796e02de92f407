"""``easel run --role gateway|worker`` as an operator starts it: the real console script, the fakes, PostgreSQL.

* gateway and worker need ``EASEL_DATABASE_URL``: without it, one line naming it, exit 2;
* a worker logs in to Discord over REST (the fake saw ``GET /users/@me`` with the bot token) and
  checks the Slack token (``auth.test``), but opens no gateway websocket, syncs no command, opens
  no Socket Mode connection and listens on no Slack port;
* a gateway connects as today; ``/healthz``, ``/status`` and ``/metrics`` of each name its role.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp

from bot.cli import RUN_ROLES, build_parser
from services.jobs import Role
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.helpers.cli import run_easel
from tests.helpers.operator_run import RunningEasel, run_env


def test_the_cli_offers_exactly_the_job_service_roles() -> None:
    assert set(RUN_ROLES) == {role.value for role in Role}
    assert build_parser().parse_args(["run"]).role is None  # then EASEL_ROLE, default all
    assert build_parser().parse_args(["run", "--role", "worker"]).role == "worker"


async def test_gateway_and_worker_without_a_shared_database_name_the_variable(
    stability_server: Any, discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    env = run_env(
        tmp_path, stability_server, DISCORD_TOKEN=discord_fake.token, DISCORD_API_BASE=discord_fake.api_base
    )
    for args, extra in ((["--role", "worker"], {}), ([], {"EASEL_ROLE": "gateway"})):
        result = await run_easel("run", *args, env={**env, **extra}, cwd=tmp_path, deadline_s=30)
        assert result.code == 2, result
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("easel: "), result.stderr
        assert "EASEL_DATABASE_URL" in lines[0] and "Traceback" not in result.stderr
    assert discord_fake.calls == []  # refused before anything started
    bogus = await run_easel("run", "--role", "boss", env=env, cwd=tmp_path)
    assert bogus.code == 2 and "invalid choice" in bogus.stderr


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def _metrics(easel: RunningEasel) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{easel.http_port}/metrics") as resp:
            return await resp.text()


async def _status(easel: RunningEasel) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{easel.http_port}/status") as resp:
            body: dict[str, Any] = await resp.json()
            return body


def _discord_routes(fake: FakeDiscord) -> list[str]:
    return [call.route for call in fake.calls]


async def test_a_worker_logs_in_over_rest_and_connects_to_no_gateway(
    stability_server: Any,
    discord_fake: FakeDiscord,
    slack_server: FakeSlack,
    database_url: str,
    tmp_path: Path,
) -> None:
    env = run_env(
        tmp_path,
        stability_server,
        EASEL_DATABASE_URL=database_url,
        DISCORD_TOKEN=discord_fake.token,
        DISCORD_API_BASE=discord_fake.api_base,
        DISCORD_GUILD_IDS=str(discord_fake.guild.id),
        DISCORD_SHARDS="0-1",  # the gateways' .env: a worker connects none of them
        DISCORD_SHARD_COUNT="4",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_server.api_url,
    )
    worker = await RunningEasel(env, tmp_path, "--role", "worker").start()
    try:
        health = await worker.wait_healthy()
        assert health["role"] == "worker"
        assert health["components"] == {"discord": True, "slack": True}
        # Discord: authenticated over REST with the bot token, nothing else.
        me = [c for c in discord_fake.calls if c.route == "GET /users/@me"]
        assert me and me[0].status == 200, _discord_routes(discord_fake)  # the fake checks "Bot <token>"
        assert "GET /gateway/bot" not in _discord_routes(discord_fake)
        assert not any(route.startswith("PUT ") for route in _discord_routes(discord_fake))  # no sync
        assert discord_fake.connections == [] and discord_fake.identifies == []
        # Slack: the token checked, the Web API client kept; no listener on EASEL_SLACK_PORT.
        [auth] = slack_server.calls_to("auth.test")
        assert auth.token == BOT_TOKEN and auth.ok
        assert not _port_open(int(env["EASEL_SLACK_PORT"]))
        assert 'easel_role_info{role="worker"} 1.0' in await _metrics(worker)
        assert (await _status(worker))["role"] == "worker"
    finally:
        await worker.kill()


async def test_a_slack_worker_opens_no_socket_mode_connection(
    stability_server: Any, slack_server: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    env = run_env(
        tmp_path,
        stability_server,
        EASEL_DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack_server.api_url,
    )
    worker = await RunningEasel(env, tmp_path, "--role", "worker").start()
    try:
        health = await worker.wait_healthy()
        assert health == {**health, "role": "worker", "components": {"slack": True}}
        await asyncio.sleep(0.5)  # a Socket Mode client would connect right after auth.test
        assert [call.method for call in slack_server.calls] == ["auth.test"]
        assert slack_server.sockets == []
    finally:
        await worker.kill()


async def test_a_gateway_connects_and_names_its_role(
    stability_server: Any,
    discord_fake: FakeDiscord,
    slack_server: FakeSlack,
    database_url: str,
    tmp_path: Path,
) -> None:
    env = run_env(
        tmp_path,
        stability_server,
        EASEL_DATABASE_URL=database_url,
        EASEL_ROLE="gateway",
        DISCORD_TOKEN=discord_fake.token,
        DISCORD_API_BASE=discord_fake.api_base,
        DISCORD_GUILD_IDS=str(discord_fake.guild.id),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_server.api_url,
    )
    gateway = await RunningEasel(env, tmp_path).start()
    try:
        health = await gateway.wait_healthy()
        assert health["role"] == "gateway"
        assert health["components"] == {"discord": True, "slack": True}
        assert len(discord_fake.identifies) == 1  # the gateway websocket, as `--role all` does
        assert "PUT /applications/{application_id}/guilds/{guild_id}/commands" in _discord_routes(
            discord_fake
        )
        assert _port_open(int(env["EASEL_SLACK_PORT"]))
        assert 'easel_role_info{role="gateway"} 1.0' in await _metrics(gateway)
    finally:
        await gateway.kill()
