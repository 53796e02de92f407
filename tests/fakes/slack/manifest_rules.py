"""What Slack accepts in an app manifest (api.slack.com/reference/manifests), written apart from easel.

``manifest_problems(manifest)`` lists every documented rule a manifest breaks; Slack refuses to create
an app from a manifest with any of them.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["manifest_problems"]

_APP_NAME_MAX = 35  # display_information.name
_DESCRIPTION_MAX = 140  # display_information.description
_LONG_DESCRIPTION = (175, 4000)  # display_information.long_description
_BOT_NAME_MAX = 80  # features.bot_user.display_name
_BOT_NAME = re.compile(r"^[a-z0-9._-]+$")  # "lowercase letters, numbers, periods, hyphens and underscores"
_SHORTCUT_NAME_MAX = 24  # features.shortcuts[].name
_SHORTCUT_DESCRIPTION_MAX = 150
_CALLBACK_ID_MAX = 255
_COMMAND = re.compile(r"^/[a-z0-9_-]{1,31}$")  # features.slash_commands[].command: 32 with the slash
_COMMAND_DESCRIPTION_MAX = 2000
_USAGE_HINT_MAX = 1000


def _length(problems: list[str], where: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, str) or not low <= len(value) <= high:
        problems.append(f"{where}: must be a string of {low}–{high} characters (got {value!r})")


def manifest_problems(manifest: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    info = manifest.get("display_information", {})
    _length(problems, "display_information.name", info.get("name"), 1, _APP_NAME_MAX)
    _length(problems, "display_information.description", info.get("description"), 1, _DESCRIPTION_MAX)
    _length(
        problems, "display_information.long_description", info.get("long_description"), *_LONG_DESCRIPTION
    )
    features = manifest.get("features", {})
    bot_name = features.get("bot_user", {}).get("display_name")
    _length(problems, "features.bot_user.display_name", bot_name, 1, _BOT_NAME_MAX)
    if isinstance(bot_name, str) and not _BOT_NAME.match(bot_name):
        problems.append(
            f"features.bot_user.display_name: only lowercase letters, digits, '.', '-' and '_' (got {bot_name!r})"
        )
    for i, shortcut in enumerate(features.get("shortcuts", [])):
        _length(problems, f"features.shortcuts[{i}].name", shortcut.get("name"), 1, _SHORTCUT_NAME_MAX)
        _length(
            problems,
            f"features.shortcuts[{i}].description",
            shortcut.get("description"),
            1,
            _SHORTCUT_DESCRIPTION_MAX,
        )
        _length(
            problems, f"features.shortcuts[{i}].callback_id", shortcut.get("callback_id"), 1, _CALLBACK_ID_MAX
        )
    for i, command in enumerate(features.get("slash_commands", [])):
        if not isinstance(command.get("command"), str) or not _COMMAND.match(command["command"]):
            problems.append(f"features.slash_commands[{i}].command: invalid {command.get('command')!r}")
        _length(
            problems,
            f"features.slash_commands[{i}].description",
            command.get("description"),
            1,
            _COMMAND_DESCRIPTION_MAX,
        )
        if "usage_hint" in command:
            _length(
                problems,
                f"features.slash_commands[{i}].usage_hint",
                command["usage_hint"],
                1,
                _USAGE_HINT_MAX,
            )
    return problems
