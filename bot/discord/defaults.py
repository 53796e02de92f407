"""``/settings`` on Discord: the person's defaults as the command's options, and the note on results.

The parameters are generated from :data:`commands.settings.SETTINGS_FORM` by the same builder as
the image commands (:func:`bot.discord.slash.build_app_command`): the aspect ratio offers the
same choices, the number of images the same range, styles and models the same autocomplete.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import discord
from discord import app_commands

from bot.discord.render import MARKUP
from bot.discord.slash import SlashHandler, build_app_command
from commands.settings import DISCORD_USAGE, SETTINGS_FORM, SettingsChange, apply_settings, defaults_note
from services.backends.base import BackendLimits
from services.types import Requester
from services.user_settings import UserSettingsBook

__all__ = ["add_defaults_note", "change_of", "settings_command", "settings_reply"]


def settings_command(
    limits: BackendLimits, handler: SlashHandler, limits_of: Callable[[], BackendLimits]
) -> app_commands.Command[Any, ..., None]:
    return build_app_command(SETTINGS_FORM, limits, handler, limits_of)


def change_of(values: Mapping[str, Any]) -> SettingsChange:
    """The options given to ``/settings`` as a change (``reset:all`` or ``reset:<option>``)."""
    given = {k: v for k, v in values.items() if v is not None and k != "reset"}
    reset = values.get("reset")
    if reset and reset != "all":
        given[str(reset)] = "default"
    return SettingsChange(given, reset_all=reset == "all")


async def settings_reply(
    book: UserSettingsBook, requester: Requester, values: Mapping[str, Any], limits: BackendLimits
) -> str:
    return await apply_settings(book, requester, change_of(values), limits, MARKUP, usage=DISCORD_USAGE)


def add_defaults_note(embed: discord.Embed, origin: Mapping[str, Any]) -> discord.Embed:
    """Say under a result which of the person's defaults it used (stored in the job's origin)."""
    note = defaults_note(origin.get("defaults"))
    if note:
        embed.add_field(name="Defaults", value=note[:1024], inline=False)
    return embed
