"""What ``EASEL_LOG_LEVEL=DEBUG easel run`` writes while Discord and Slack users generate images.

The operator ships these logs to a log service: no secret may appear in them (configured
tokens and keys, but also the per-request ones the platforms hand over: Discord interaction
tokens, Slack response URLs), and every line easel writes is ``event key=value ...``.
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import Any

from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.helpers.operator_run import RunningEasel, run_env

# asctime, level, logger, event, then key=value pairs (values with spaces are quoted reprs).
_VALUE = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S+)"""
_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>\S+) "
    r"(?P<event>[a-z0-9_]+(?:\.[a-z0-9_]+)+)(?P<pairs>(?: \w+=" + _VALUE + r")*)$"
)
_EASEL_LOGGERS = ("bot.", "services.", "commands.", "bot", "services", "commands")
_TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+ ")


async def test_debug_logs_hold_no_secret_and_are_structured(
    discord_fake: FakeDiscord, slack_server: FakeSlack, stability_server: Any, tmp_path: Path
) -> None:
    env = run_env(
        tmp_path,
        stability_server,
        EASEL_LOG_LEVEL="DEBUG",
        DISCORD_TOKEN=discord_fake.token,
        DISCORD_API_BASE=discord_fake.api_base,
        DISCORD_GUILD_IDS=str(discord_fake.guild.id),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_server.api_url,
    )
    easel = await RunningEasel(env, tmp_path).start()
    try:
        health = await easel.wait_healthy(deadline_s=25)
        assert health["components"] == {"discord": True, "slack": True}

        interaction = await discord_fake.slash("imagine", prompt="a lighthouse at dusk --seed 5")
        endpoint = f"http://127.0.0.1:{env['EASEL_SLACK_PORT']}/slack/events"
        sent = await slack_server.user_side(endpoint).slash_command("/imagine", "a tiny boat --seed 2")
        assert sent.status == 200
        await discord_fake.wait_until(
            lambda: any(
                m.interaction_id == interaction.id and m.files for m in discord_fake.messages.values()
            ),
            timeout_s=20,
        )
        await slack_server.wait_for("files.completeUploadExternal", timeout_s=20)
        assert easel.proc is not None
        easel.proc.send_signal(signal.SIGTERM)
        assert await easel.wait_exit() == 0
    finally:
        await easel.kill()

    secrets = {
        "DISCORD_TOKEN": discord_fake.token,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "STABILITY_API_KEY": stability_server.api_key,
        "interaction token": interaction.token,
        "response_url": sent.response_url,
        "response_url path": sent.response_url.split("/response/", 1)[1],
        "Slack verification token": "legacy-verification-token",
    }
    log = await asyncio.to_thread(easel.log)
    assert_no_secrets(log, secrets)
    assert_structured(log)


def assert_no_secrets(log: str, secrets: dict[str, str]) -> None:
    assert "DEBUG" in log  # the level took effect
    leaked = {name for name, value in secrets.items() if value in log}
    assert not leaked, f"secrets in the log: {sorted(leaked)}"
    # Masking is the last line of defence, not the plan: nothing tried to log a configured secret.
    assert "***" not in log, [line for line in log.splitlines() if "***" in line]


def assert_structured(log: str) -> None:
    lines = log.splitlines()
    assert lines
    unstructured = [line for line in lines if not _TIMESTAMPED.match(line)]
    assert not unstructured, unstructured  # no traceback, no stray print
    ours = [
        line for line in lines if _TIMESTAMPED.match(line) and line.split(" ")[3].startswith(_EASEL_LOGGERS)
    ]
    assert len(ours) > 10
    bad = [line for line in ours if not _LINE.match(line)]
    assert not bad, bad
    events = {m["event"] for line in ours if (m := _LINE.match(line))}
    assert {"health.listening", "jobs.started", "shutdown.begin", "jobs.stopped"} <= events, sorted(events)


async def test_socket_mode_debug_logs_hold_no_envelope(
    slack_server: FakeSlack, stability_server: Any, tmp_path: Path
) -> None:
    """Socket Mode: slack_sdk logs every received envelope at DEBUG, with its response URL and token."""
    env = run_env(
        tmp_path,
        stability_server,
        EASEL_LOG_LEVEL="DEBUG",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack_server.api_url,
    )
    easel = await RunningEasel(env, tmp_path).start()
    try:
        await easel.wait_healthy()
        payload = slack_server.slash_command_payload("/imagine", "a lantern in fog --seed 4")
        await slack_server.send_envelope("slash_commands", payload)
        await slack_server.wait_for("files.completeUploadExternal", timeout_s=20)
        assert easel.proc is not None
        easel.proc.send_signal(signal.SIGTERM)
        assert await easel.wait_exit() == 0
    finally:
        await easel.kill()

    log = await asyncio.to_thread(easel.log)
    assert_no_secrets(
        log,
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "STABILITY_API_KEY": stability_server.api_key,
            "response_url": payload["response_url"],
            "Slack verification token": payload["token"],
        },
    )
    assert_structured(log)
