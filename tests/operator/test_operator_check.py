"""``easel check`` as an operator runs it: the real console script against the local fakes.

Each configured platform and backend gets one ``OK``/``FAIL`` line; the exit status is 0 only when
every line is ``OK``; a rejected or unreachable service is named, and no secret is ever printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.helpers.cli import CliResult, clean_env, run_easel
from tests.helpers.network import dead_port

WRONG_DISCORD_TOKEN = "MTIzNDU2.wrong-discord-token-abcdef"
WRONG_SLACK_TOKEN = "xoxb-wrong-0000-not-the-token"


def lines_of(result: CliResult, name: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line[4:].strip().startswith(f"{name}:")]


def stability_env(stability: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        STABILITY_API_KEY=stability.api_key,
        STABILITY_API_HOST=stability.url,
        EASEL_DATA_DIR=str(tmp_path / "data"),
        **extra,
    )


def assert_clean(result: CliResult, *secrets: str) -> None:
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything
    for secret in secrets:
        assert secret not in everything


async def test_discord_and_slack_ok(
    discord_fake: FakeDiscord, slack_server: FakeSlack, stability_server: Any, tmp_path: Path
) -> None:
    env = stability_env(
        stability_server,
        tmp_path,
        DISCORD_TOKEN=discord_fake.token,
        DISCORD_API_BASE=discord_fake.api_base,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_server.api_url,
    )
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    assert result.code == 0, result.stdout + result.stderr
    [discord_line] = lines_of(result, "discord")
    assert discord_line.startswith("OK") and discord_fake.bot.username in discord_line
    [slack_line] = lines_of(result, "slack")
    assert slack_line.startswith("OK") and "Easel Test" in slack_line
    assert all(line.startswith("OK") for line in result.stdout.splitlines()), result.stdout
    # The check really asked both platforms, with the configured credentials.
    assert [c.status for c in discord_fake.calls if c.route == "GET /users/@me"] == [200]
    assert [c.token for c in slack_server.calls_to("auth.test")] == [BOT_TOKEN]
    assert_clean(result, discord_fake.token, BOT_TOKEN, SIGNING_SECRET, stability_server.api_key)


async def test_wrong_discord_token_is_a_named_fail(
    discord_fake: FakeDiscord, stability_server: Any, tmp_path: Path
) -> None:
    env = stability_env(
        stability_server, tmp_path, DISCORD_TOKEN=WRONG_DISCORD_TOKEN, DISCORD_API_BASE=discord_fake.api_base
    )
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    assert result.code == 1
    [line] = lines_of(result, "discord")
    assert line.startswith("FAIL") and "DISCORD_TOKEN" in line and "401" in line
    assert [c.status for c in discord_fake.calls if c.route == "GET /users/@me"] == [401]
    assert_clean(result, WRONG_DISCORD_TOKEN, stability_server.api_key)


async def test_wrong_slack_token_is_a_named_fail(
    slack_server: FakeSlack, stability_server: Any, tmp_path: Path
) -> None:
    env = stability_env(
        stability_server,
        tmp_path,
        SLACK_BOT_TOKEN=WRONG_SLACK_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_server.api_url,
    )
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    assert result.code == 1
    [line] = lines_of(result, "slack")
    assert line.startswith("FAIL") and "invalid_auth" in line and "SLACK_BOT_TOKEN" in line
    assert_clean(result, WRONG_SLACK_TOKEN, SIGNING_SECRET, stability_server.api_key)


async def test_socket_mode_app_token(slack_server: FakeSlack, stability_server: Any, tmp_path: Path) -> None:
    env = stability_env(
        stability_server,
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack_server.api_url,
    )
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    assert result.code == 0, result.stdout
    [line] = lines_of(result, "slack socket mode")
    assert line.startswith("OK")
    assert [c.token for c in slack_server.calls_to("apps.connections.open")] == [APP_TOKEN]
    assert not slack_server.sockets  # handed a websocket URL, never connected

    wrong = "xapp-1-wrong-0000-not-the-app-token"
    env["SLACK_APP_TOKEN"] = wrong
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    assert result.code == 1
    [line] = lines_of(result, "slack socket mode")
    assert line.startswith("FAIL") and "SLACK_APP_TOKEN" in line and "invalid_auth" in line
    [bot_line] = lines_of(result, "slack")
    assert bot_line.startswith("OK")
    assert_clean(result, wrong, BOT_TOKEN)


async def test_unreachable_platforms_are_named(stability_server: Any, tmp_path: Path) -> None:
    port = dead_port()
    env = stability_env(
        stability_server,
        tmp_path,
        DISCORD_TOKEN=WRONG_DISCORD_TOKEN,
        DISCORD_API_BASE=f"http://127.0.0.1:{port}/api/v10",
        SLACK_BOT_TOKEN=WRONG_SLACK_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"http://127.0.0.1:{port}/api/",
    )
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    assert result.code == 1
    [discord_line] = lines_of(result, "discord")
    assert discord_line.startswith("FAIL") and f"DISCORD_API_BASE http://127.0.0.1:{port}" in discord_line
    [slack_line] = lines_of(result, "slack")
    assert slack_line.startswith("FAIL") and f"SLACK_API_URL http://127.0.0.1:{port}" in slack_line
    # The backend is fine and says so.
    assert any(line.startswith("OK") and "stability" in line for line in result.stdout.splitlines())
    assert_clean(result, WRONG_DISCORD_TOKEN, WRONG_SLACK_TOKEN, SIGNING_SECRET, stability_server.api_key)


async def test_wrong_stability_key_is_a_fail(stability_server: Any, tmp_path: Path) -> None:
    env = stability_env(stability_server, tmp_path)
    env["STABILITY_API_KEY"] = "sk-wrong-stability-key-000000"
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    assert result.code == 1
    assert any(line.startswith("FAIL") and "STABILITY_API_KEY" in line for line in result.stdout.splitlines())
    assert_clean(result, "sk-wrong-stability-key-000000")


async def test_gpu_host_ok(a1111_server: Any, tmp_path: Path) -> None:
    env = clean_env(
        EASEL_BACKEND="gpu-host", EASEL_GPU_HOST_URL=a1111_server.url, EASEL_DATA_DIR=str(tmp_path / "data")
    )
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    # No chat platform is configured: fine for CLI use, so no FAIL; the chat line says what `run` needs.
    assert result.code == 0, result.stdout
    gpu = lines_of(result, f"gpu-host {a1111_server.url}") or [
        line for line in result.stdout.splitlines() if "gpu-host" in line
    ]
    assert gpu and all(line.startswith("OK") for line in gpu), result.stdout
    assert "reachable" in gpu[0] and "models" in gpu[0]
    assert not [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    [chat] = lines_of(result, "chat")
    assert chat.startswith("OK") and "DISCORD_TOKEN" in chat
    # It asked, but never generated.
    assert not [r for r in a1111_server.requests if "2img" in r.path]
    assert_clean(result)


async def test_dead_gpu_host_is_a_fail(discord_fake: FakeDiscord, tmp_path: Path) -> None:
    port = dead_port()
    env = clean_env(
        EASEL_BACKEND="gpu-host",
        EASEL_GPU_HOST_URL=f"http://127.0.0.1:{port}",
        EASEL_DATA_DIR=str(tmp_path / "data"),
        DISCORD_TOKEN=discord_fake.token,
        DISCORD_API_BASE=discord_fake.api_base,
    )
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    assert result.code == 1
    gpu = [line for line in result.stdout.splitlines() if "gpu-host" in line]
    assert len(gpu) == 1 and gpu[0].startswith("FAIL") and "unreachable" in gpu[0], result.stdout
    assert f"127.0.0.1:{port}" in gpu[0]
    [discord_line] = lines_of(result, "discord")
    assert discord_line.startswith("OK")
    assert_clean(result, discord_fake.token)
