"""Discord's rules the fake enforces: permission bits, privileged intents, interaction and callback
types, upload limits, and the subset of command validation that catches generated-schema mistakes.
"""

from __future__ import annotations

import re
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
MiB = 1024 * 1024

# Permission bits (Discord developer docs, topics/permissions).
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


def _validate_command(command: dict[str, Any]) -> str | None:
    """The subset of Discord's command validation that catches generated-schema mistakes."""
    name_re = re.compile(r"^[-_\w]{1,32}$")
    if not name_re.match(command.get("name", "")) or command["name"] != command["name"].lower():
        return f"bad command name {command.get('name')!r}"
    if not 1 <= len(command.get("description", "")) <= 100:
        return f"/{command['name']}: description must be 1-100 characters"
    options = command.get("options", [])
    if len(options) > 25:
        return f"/{command['name']}: more than 25 options"
    seen_optional = False
    for opt in options:
        if not name_re.match(opt.get("name", "")) or opt["name"] != opt["name"].lower():
            return f"/{command['name']}: bad option name {opt.get('name')!r}"
        if not 1 <= len(opt.get("description", "")) <= 100:
            return f"/{command['name']} {opt['name']}: description must be 1-100 characters"
        if opt.get("required"):
            if seen_optional:
                return f"/{command['name']}: required options must come before optional ones"
        else:
            seen_optional = True
        if len(opt.get("choices") or []) > 25:
            return f"/{command['name']} {opt['name']}: more than 25 choices"
        if opt.get("choices") and opt.get("autocomplete"):
            return f"/{command['name']} {opt['name']}: choices and autocomplete are exclusive"
    return None
