"""Discord's rules the fake enforces: permission bits, privileged intents, interaction and callback
types and upload limits (command validation: :mod:`tests.fakes.discord.command_schema`).
"""

from __future__ import annotations

import re
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
MiB = 1024 * 1024

# Permission bits (Discord developer docs, topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
MEMBER_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
MEMBER_PERMISSIONS |= USE_APPLICATION_COMMANDS
BOT_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
BOT_PERMISSIONS |= SEND_MESSAGES_IN_THREADS
ALL_PERMISSIONS = (1 << 51) - 1  # what Discord reports for administrators and the guild's owner

# Privileged gateway intents: GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT.
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)

# Interaction types and callback types.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
EPHEMERAL, LOADING = 1 << 6, 1 << 7

# Application command option types.
OPTION_TYPES = {
    "str": 3,
    "int": 4,
    "bool": 5,
    "user": 6,
    "channel": 7,
    "role": 8,
    "float": 10,
    "attachment": 11,
}

_MENTION_RE = re.compile(r"<@!?(\d+)>|<@&(\d+)>|@(everyone|here)")


class DiscordProtocolError(AssertionError):
    """Raised by the fake's helpers when a test drives it into a state Discord would not allow."""


def component_problem(components: Any) -> str | None:
    """Discord's limits for a message's components (legacy action rows): at most 5 rows, each with
    up to 5 buttons or one select menu; every ``custom_id`` 1–100 characters and unique in the
    message; a button label at most 80 characters; a select at most 25 options."""
    if not components:
        return None
    if not isinstance(components, list) or len(components) > 5:
        return "components: at most 5 action rows"
    seen: set[str] = set()
    for row in components:
        if row.get("type") != 1:
            return "components: top-level components must be action rows"
        children = row.get("components") or []
        selects = [c for c in children if c.get("type") in (3, 5, 6, 7, 8)]
        if not children or len(children) > 5 or (selects and len(children) > 1):
            return "components: an action row holds 1-5 buttons or one select menu"
        for child in children:
            custom_id = child.get("custom_id")
            if child.get("type") == 2 and child.get("style") == 5:
                if custom_id is not None or not child.get("url"):
                    return "components: a link button has a url and no custom_id"
            elif not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
                return "components: custom_id must be 1-100 characters"
            elif custom_id in seen:
                return "components: custom_id values must be unique"
            else:
                seen.add(custom_id)
            if len(str(child.get("label") or "")) > 80:
                return "components: a button label is at most 80 characters"
            if len(child.get("options") or []) > 25:
                return "components: a select menu has at most 25 options"
    return None
