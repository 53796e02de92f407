"""The shipped app manifest matches the commands and the shortcut the app listens to."""

from __future__ import annotations

from bot.slack.manifest import MANIFEST_PATH, PLACEHOLDER_URL, build_manifest, render_manifest
from commands import COMMANDS
from tests.fakes.slack import SlackEasel


def test_shipped_manifest_is_the_generated_one() -> None:
    assert MANIFEST_PATH.read_text(encoding="utf-8") == render_manifest(), (
        "bot/slack/manifest.yml is stale: run `python -m bot.slack.manifest > bot/slack/manifest.yml`"
    )


async def test_every_manifest_command_and_shortcut_is_answered(slack_easel: SlackEasel) -> None:
    manifest = build_manifest()
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    for name, spec in COMMANDS.items():
        assert commands[f"/{name}"]["description"] == spec.description
    assert {"/quota", "/easel"} <= set(commands)
    for command in commands:
        sent = await slack_easel.user.slash_command(command, "")
        assert sent.status == 200, command  # bolt answers 404 to a command nobody listens to
    shortcuts = manifest["features"]["shortcuts"]
    assert [s["callback_id"] for s in shortcuts] == ["easel_image", "easel_verify"]
    for shortcut in shortcuts:
        assert shortcut["type"] == "message"
        assert (await slack_easel.user.message_shortcut(shortcut["callback_id"])).status == 200
    assert (await slack_easel.user.message_shortcut("someone_elses_shortcut")).status == 404


def test_manifest_urls_scopes_and_socket_mode() -> None:
    manifest = build_manifest()
    assert all(c["url"] == PLACEHOLDER_URL for c in manifest["features"]["slash_commands"])
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": PLACEHOLDER_URL}
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "files:read",
        "files:write",
        "users:read",
        "usergroups:read",
    }
    socket = build_manifest(None)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert socket["settings"]["interactivity"] == {"is_enabled": True}
    assert all("url" not in c for c in socket["features"]["slash_commands"])
