"""Who counts as an easel admin or moderator on Discord, from what the interaction carries.

No REST call: the member's permissions in the channel come with every interaction (Discord
sets every bit for administrators and the server's owner) and their roles are resolved from the
guild cache the ``guilds`` intent keeps.
"""

from __future__ import annotations

from typing import Any

import discord

__all__ = ["is_discord_admin", "is_discord_moderator"]


def is_discord_admin(interaction: discord.Interaction[Any], role: str | None) -> bool:
    """Manage Server (as Discord computed it for this member) or the configured role (id or name), in a server."""
    if interaction.guild_id is None:
        return False
    permissions = interaction.permissions
    if permissions.manage_guild or permissions.administrator:
        return True
    if not role:
        return False
    roles = getattr(interaction.user, "roles", None) or ()
    return any(str(r.id) == role or r.name == role for r in roles)


def is_discord_moderator(interaction: discord.Interaction[Any], role: str | None) -> bool:
    """May delete anyone's result: Manage Messages here, or an easel admin."""
    if interaction.guild_id is None:
        return False
    return bool(interaction.permissions.manage_messages) or is_discord_admin(interaction, role)
