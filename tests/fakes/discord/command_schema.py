"""Application commands as Discord validates and invokes them, subcommand groups included.

Registration (``PUT …/commands``) is refused with Discord's 50035 *Invalid Form Body* for what the
real API refuses: bad names and descriptions at every level, more than 25 options or choices, a
required option after an optional one, subcommands mixed with plain options at the top level, a
group holding anything but subcommands, nesting deeper than command → group → subcommand,
duplicate names, a ``default_member_permissions`` that is not a string of a permission integer,
and more than 4000 characters of names, descriptions and choice values in one command.

Invocation builds the ``data`` of an APPLICATION_COMMAND interaction the way the Discord client
does: ``/easel admin ban account:x`` becomes ``{"name": "easel", "options": [{"type": 2, "name":
"admin", "options": [{"type": 1, "name": "ban", "options": [{"name": "account", …}]}]}]}``.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.discord.rules import DiscordProtocolError

__all__ = ["SUB_COMMAND", "SUB_COMMAND_GROUP", "leaf_options", "nest_options", "validate_command"]

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
_NAME_RE = re.compile(r"^[-_\w]{1,32}$")
_MAX_OPTIONS = 25
_MAX_COMMAND_CHARS = 4000


def _check_name(where: str, item: dict[str, Any]) -> str | None:
    name = item.get("name", "")
    if not isinstance(name, str) or not _NAME_RE.match(name) or name != name.lower():
        return f"{where}: bad name {name!r}"
    if not 1 <= len(item.get("description", "")) <= 100:
        return f"{where} {name}: description must be 1-100 characters"
    return None


def _check_options(where: str, options: list[dict[str, Any]], depth: int) -> str | None:
    """``depth`` 0: the command's own options; 1: a group's (subcommands only); 2: a subcommand's."""
    if len(options) > _MAX_OPTIONS:
        return f"{where}: more than {_MAX_OPTIONS} options"
    names = [o.get("name") for o in options]
    if len(set(names)) != len(names):
        return f"{where}: option names must be unique"
    kinds = {o.get("type") for o in options}
    nested = kinds & {SUB_COMMAND, SUB_COMMAND_GROUP}
    if nested and kinds - nested:
        return f"{where}: subcommands and groups cannot be mixed with other options"
    seen_optional = False
    for opt in options:
        if problem := _check_name(where, opt):
            return problem
        kind, label = opt.get("type"), f"{where} {opt['name']}"
        if kind == SUB_COMMAND_GROUP:
            if depth != 0:
                return f"{label}: a subcommand group may only be a command's top-level option"
            subs = opt.get("options") or []
            if not subs or any(s.get("type") != SUB_COMMAND for s in subs):
                return f"{label}: a subcommand group holds 1-25 subcommands and nothing else"
            if problem := _check_options(label, subs, 1):
                return problem
            continue
        if kind == SUB_COMMAND:
            if depth == 2:
                return f"{label}: subcommands cannot be nested here"
            if problem := _check_options(label, opt.get("options") or [], 2):
                return problem
            continue
        if opt.get("required"):
            if seen_optional:
                return f"{where}: required options must come before optional ones"
        else:
            seen_optional = True
        if len(opt.get("choices") or []) > _MAX_OPTIONS:
            return f"{label}: more than {_MAX_OPTIONS} choices"
        if opt.get("choices") and opt.get("autocomplete"):
            return f"{label}: choices and autocomplete are exclusive"
    return None


def _characters(item: dict[str, Any]) -> int:
    total = len(item.get("name", "")) + len(item.get("description", ""))
    total += sum(
        len(str(c.get("name", ""))) + len(str(c.get("value", ""))) for c in item.get("choices") or []
    )
    return total + sum(_characters(o) for o in item.get("options") or [])


def _permission_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    return isinstance(value, str) and value.isdigit()


def validate_command(command: dict[str, Any]) -> str | None:
    """Discord's verdict on one command of a bulk overwrite: None, or why it is refused."""
    if problem := _check_name("command", command):
        return problem
    where = f"/{command['name']}"
    permissions = command.get("default_member_permissions")
    if permissions is not None and not _permission_integer(permissions):
        return f"{where}: default_member_permissions must be a permission integer (or its string) or null"
    if _characters(command) > _MAX_COMMAND_CHARS:
        return f"{where}: more than {_MAX_COMMAND_CHARS} characters of names, descriptions and values"
    return _check_options(where, command.get("options") or [], 0)


def _child(options: list[dict[str, Any]], name: str, kind: int, where: str) -> dict[str, Any]:
    for opt in options:
        if opt.get("name") == name and opt.get("type") == kind:
            return opt
    raise DiscordProtocolError(
        f"{where} has no {'group' if kind == SUB_COMMAND_GROUP else 'subcommand'} {name!r}"
    )


def leaf_options(command: dict[str, Any], path: tuple[str, ...]) -> list[dict[str, Any]]:
    """The schema of the options the user fills in for ``/command *path`` (path: group?, subcommand)."""
    options = command.get("options") or []
    where = f"/{command['name']}"
    if not path:
        if any(o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options):
            raise DiscordProtocolError(f"{where} has subcommands: the client makes you pick one")
        return list(options)
    kinds = (SUB_COMMAND_GROUP, SUB_COMMAND) if len(path) == 2 else (SUB_COMMAND,)
    for name, kind in zip(path, kinds, strict=True):
        node = _child(options, name, kind, where)
        options, where = node.get("options") or [], f"{where} {name}"
    return list(options)


def nest_options(
    command: dict[str, Any], path: tuple[str, ...], given: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The interaction's top-level ``options`` for ``given`` values of ``/command *path``."""
    if not path:
        return given
    if len(path) == 1:
        return [{"type": SUB_COMMAND, "name": path[0], "options": given}]
    inner = {"type": SUB_COMMAND, "name": path[1], "options": given}
    return [{"type": SUB_COMMAND_GROUP, "name": path[0], "options": [inner]}]
