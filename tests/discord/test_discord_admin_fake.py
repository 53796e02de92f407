"""The fake Discord's command registration rules for subcommands and groups, checked over its REST API.

Each payload here is one Discord refuses with 50035 (the command tree that easel syncs passes the
same checks in ``test_discord_admin``); a failure points at the fake, not at easel.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.fakes.discord import FakeDiscord

SUB, GROUP, TEXT = 1, 2, 3


def _sub(name: str, *options: dict[str, Any]) -> dict[str, Any]:
    return {"type": SUB, "name": name, "description": f"{name} it", "options": list(options)}


def _text(name: str, required: bool = True) -> dict[str, Any]:
    return {"type": TEXT, "name": name, "description": name, "required": required}


def _command(*options: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "easel", "description": "easel", "options": list(options), **extra}


async def _put(fake: FakeDiscord, commands: list[dict[str, Any]]) -> tuple[int, Any]:
    url = f"{fake.api_base}/applications/{fake.application_id}/guilds/{fake.guild.id}/commands"
    async with aiohttp.ClientSession() as session:
        async with session.put(url, json=commands, headers={"Authorization": f"Bot {fake.token}"}) as resp:
            return resp.status, await resp.json()


async def test_a_nested_group_of_subcommands_is_accepted_and_stored(discord_fake: FakeDiscord) -> None:
    group = {"type": GROUP, "name": "admin", "description": "admin", "options": [_sub("ban", _text("who"))]}
    status, body = await _put(discord_fake, [_command(group, _sub("help"), default_member_permissions=32)])
    assert status == 200
    assert body[0]["default_member_permissions"] == "32"  # Discord answers with a string
    assert discord_fake.find_command("easel")["options"][0]["options"][0]["name"] == "ban"


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        (_command(_sub("ban"), _text("who")), "cannot be mixed"),
        (
            _command({"type": GROUP, "name": "a", "description": "a", "options": [_text("who")]}),
            "holds 1-25 subcommands",
        ),
        (
            _command(
                {
                    "type": GROUP,
                    "name": "a",
                    "description": "a",
                    "options": [{"type": GROUP, "name": "b", "description": "b", "options": [_sub("c")]}],
                }
            ),
            "holds 1-25 subcommands",
        ),
        (_command(_sub("ban", _sub("deeper"))), "cannot be nested"),
        (_command(_sub("ban", _text("why", required=False), _text("who"))), "required options must come"),
        (_command(_sub("ban"), _sub("ban")), "unique"),
        (_command(_sub("Ban")), "bad name"),
        (_command({**_sub("ban"), "description": "x" * 101}), "1-100 characters"),
        (_command(*(_sub(f"s{i}") for i in range(26))), "more than 25 options"),
        (_command(_sub("ban"), default_member_permissions="manage"), "permission integer"),
        (
            _command(
                *(
                    _sub(f"s{i}", *({**_text(f"o{j}"), "description": "d" * 90} for j in range(3)))
                    for i in range(15)
                )
            ),
            "4000 characters",
        ),
    ],
)
async def test_payloads_discord_refuses_are_refused(
    discord_fake: FakeDiscord, command: dict[str, Any], problem: str
) -> None:
    status, body = await _put(discord_fake, [command])
    assert status == 400 and body["code"] == 50035
    assert problem in body["message"]
