"""What Discord works out about a member before an interaction reaches the bot.

* ``permissions`` in the interaction's ``member``: the member's permissions in the channel;
  administrators and the guild's owner get every bit (Discord computes them so; a bot reading
  ``manage_guild`` sees it set for them).
* ``roles``: the ids of the member's roles in that guild (not @everyone).
* Who may run a command: ``default_member_permissions`` hides a command from members without
  those permissions (``"0"``: administrators only) unless the guild's Integrations settings give it
  to one of their roles, to them, or to @everyone (the guild's id). The client offers nothing
  else, so the fake refuses to send such an interaction (a :class:`DiscordProtocolError`).
"""

from __future__ import annotations

from typing import Any

from tests.fakes.discord.records import FakeGuild, FakeUser
from tests.fakes.discord.rules import ADMINISTRATOR, ALL_PERMISSIONS

__all__ = ["may_run", "member_permissions", "member_roles"]


def member_permissions(user: FakeUser, guild: FakeGuild, owner_id: int) -> int:
    if user.id == owner_id or user.permissions & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return user.permissions


def member_roles(user: FakeUser, guild: FakeGuild) -> list[str]:
    return [str(r) for r in user.role_ids if r in guild.role_names]


def may_run(command: dict[str, Any], user: FakeUser, guild: FakeGuild, owner_id: int) -> bool:
    """Whether the Discord client lets ``user`` run ``command`` in ``guild`` at all."""
    required = command.get("default_member_permissions")
    if required is None:
        return True
    granted = guild.command_access.get(str(command["name"]), set())
    if granted & {guild.id, user.id, *user.role_ids}:
        return True
    perms = member_permissions(user, guild, owner_id)
    if int(required) == 0:
        return perms == ALL_PERMISSIONS
    return perms & int(required) == int(required)
