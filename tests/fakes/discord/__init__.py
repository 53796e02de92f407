"""A fake Discord (HTTP API v10 + Gateway v10) on 127.0.0.1 for the real discord.py; see ``server``.

* ``server``: the aiohttp app, its REST routes, recording, and the user actions tests drive
  (``slash``, ``click``, ``submit_modal``, ``autocomplete``);
* ``gateway``: the websocket sessions (HELLO, heartbeats, IDENTIFY, RESUME, compression);
* ``records``: users, guilds, messages, interactions and REST calls as the fake holds them;
* ``rules``: permission bits, intents, interaction and callback types, limits;
* ``command_schema``: command validation and subcommand (group) invocation; ``members``: permissions, roles, who may run a command;
* ``harness``: pytest fixtures and :class:`EaselOnDiscord` (easel's real front end against the fake).
"""

from tests.fakes.discord.harness import (
    EaselOnDiscord,
    discord_fake,
    easel_on_discord,
    easel_on_discord_factory,
)
from tests.fakes.discord.records import (
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    RecordedCall,
    UploadedFile,
)
from tests.fakes.discord.rules import (
    ADMINISTRATOR,
    APPLICATION_COMMAND,
    ATTACH_FILES,
    AUTOCOMPLETE,
    BOT_PERMISSIONS,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE,
    EMBED_LINKS,
    EPHEMERAL,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    MEMBER_PERMISSIONS,
    MENTION_EVERYONE,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    PRIVILEGED_INTENTS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    UPDATE_MESSAGE,
    VIEW_CHANNEL,
    DiscordProtocolError,
)
from tests.fakes.discord.server import FakeDiscord

__all__ = [
    "ADMINISTRATOR",
    "APPLICATION_COMMAND",
    "ATTACH_FILES",
    "AUTOCOMPLETE",
    "BOT_PERMISSIONS",
    "CHANNEL_MESSAGE",
    "DEFERRED_CHANNEL_MESSAGE",
    "DEFERRED_UPDATE",
    "EMBED_LINKS",
    "EPHEMERAL",
    "MANAGE_GUILD",
    "MANAGE_MESSAGES",
    "MEMBER_PERMISSIONS",
    "MENTION_EVERYONE",
    "MESSAGE_COMPONENT",
    "MODAL",
    "MODAL_SUBMIT",
    "PRIVILEGED_INTENTS",
    "READ_MESSAGE_HISTORY",
    "SEND_MESSAGES",
    "UPDATE_MESSAGE",
    "VIEW_CHANNEL",
    "DiscordProtocolError",
    "EaselOnDiscord",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMessage",
    "FakeUser",
    "RecordedCall",
    "UploadedFile",
    "discord_fake",
    "easel_on_discord",
    "easel_on_discord_factory",
]
