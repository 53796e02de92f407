"""The Slack app manifest, generated from the command declarations.

``bot/slack/manifest.yml`` is this module's output for the placeholder host; a test keeps the two
identical, so command names and descriptions are declared once (in ``commands/``). Operators paste
the file into https://api.slack.com/apps → *Create New App* → *From an app manifest*, or print one
with their own URL, or for Socket Mode::

    python -m bot.slack.manifest --url https://easel.example.org/slack/events
    python -m bot.slack.manifest --socket-mode
"""

from __future__ import annotations

import argparse
import json
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.slack.handlers import IMAGE_COMMANDS, SHORTCUT_CALLBACK
from bot.slack.help import SHORTCUT_NAME
from bot.slack.verify import VERIFY_SHORTCUT, VERIFY_SHORTCUT_NAME
from commands import COMMANDS
from commands.history import HISTORY
from commands.info import MODELS, QUOTA
from commands.settings import SETTINGS
from commands.spec import CommandSpec
from commands.verify import VERIFY

__all__ = [
    "APP_NAME_MAX",
    "BOT_SCOPES",
    "MANIFEST_PATH",
    "PLACEHOLDER_URL",
    "bot_display_name",
    "build_manifest",
    "render_manifest",
]

MANIFEST_PATH = Path(__file__).with_name("manifest.yml")
PLACEHOLDER_URL = "https://easel.example.com/slack/events"

#: What easel calls, and why (also in the README):
#: commands — slash commands and the message shortcut; chat:write — status, results, deletions;
#: files:write — uploading results, deleting them; files:read — files.info and url_private downloads;
#: users:read — users.info (is this a workspace admin, for /easel admin); usergroups:read — the admin group.
BOT_SCOPES = ("commands", "chat:write", "files:read", "files:write", "users:read", "usergroups:read")

#: Slack's manifest limits (api.slack.com/reference/manifests): the app's name, the bot user's name.
APP_NAME_MAX = 35
_BOT_NAME_MAX = 80
_NOT_BOT_NAME = re.compile(r"[^a-z0-9._-]+")


def bot_display_name(name: str) -> str:
    """The bot user's name for an app called ``name``: Slack allows only lowercase letters, digits,
    ``.``, ``-`` and ``_`` there, so ``"Team Easel"`` becomes ``"team-easel"`` (accents are dropped)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_BOT_NAME.sub("-", ascii_name).strip("-._")[:_BOT_NAME_MAX].rstrip("-._")
    if not slug:
        raise ValueError(f"the app name {name!r} needs at least one letter or digit (a-z, 0-9)")
    return slug


def _app_name(name: str) -> str:
    name = name.strip()
    if len(name) > APP_NAME_MAX:
        raise ValueError(
            f"the app name may have at most {APP_NAME_MAX} characters (Slack's limit); it has {len(name)}"
        )
    return name


# /easel answers help, quota, models and any command (for workspaces where another app took /imagine).
_EASEL = (
    "Help, quota, models, or any command: /easel help, /easel imagine …",
    "help [command] | quota | models | imagine <prompt>",
)


def _usage(spec: CommandSpec) -> str:
    if spec.needs_images:
        return "(opens a form) optional prompt and flags" if spec.takes_prompt else "(opens a form)"
    return "<prompt> --flags, e.g. a lighthouse at dusk --ar 16:9 (or nothing, for a form)"


def _command(name: str, description: str, usage: str | None, url: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"command": f"/{name}", "description": description}
    if usage:
        entry["usage_hint"] = usage
    entry["should_escape"] = False
    return {**entry, "url": url} if url else entry


def build_manifest(url: str | None = PLACEHOLDER_URL, *, name: str = "easel") -> dict[str, Any]:
    """The manifest as a dict; ``url=None`` gives a Socket Mode app (no request URLs).

    ``name`` is the app's name as Slack shows it (at most 35 characters); the bot user's name is
    derived from it (:func:`bot_display_name`). ValueError when Slack could not take it.
    """
    name, bot_name = _app_name(name), bot_display_name(name)
    listed: list[tuple[str, str, str | None]] = [
        (c, COMMANDS[c].description, _usage(COMMANDS[c])) for c in IMAGE_COMMANDS
    ]
    listed += [
        (QUOTA.name, QUOTA.description, None),
        (MODELS.name, MODELS.description, "[command], e.g. imagine"),
        (VERIFY.name, VERIFY.description, None),
        (HISTORY.name, HISTORY.description, None),
        (SETTINGS.name, SETTINGS.description, "ar=16:9 n=2 style=… model=… | reset"),
        ("easel", *_EASEL),
    ]
    commands = [_command(*entry, url) for entry in listed]
    interactivity: dict[str, Any] = {"is_enabled": True}
    if url:
        interactivity["request_url"] = url
    return {
        "display_information": {
            "name": name,
            "description": "Make and edit images right in Slack",
            "long_description": (
                "easel turns prompts into pictures with /imagine, and remixes, inpaints or upscales "
                "your pictures with /remix, /inpaint and /upscale. Results are posted in the channel "
                "with buttons to upscale, vary, reroll, remix or delete them. Every image carries a "
                "visible watermark, and each person has a daily quota. Self-hosted: your images go "
                "to the image service your workspace's operator chose."
            ),
            "background_color": "#2f3a4a",
        },
        "features": {
            "bot_user": {"display_name": bot_name, "always_online": True},
            "slash_commands": commands,
            "shortcuts": [
                {
                    "name": SHORTCUT_NAME,
                    "type": "message",
                    "callback_id": SHORTCUT_CALLBACK,
                    "description": "Remix or upscale the picture in this message",
                },
                {
                    "name": VERIFY_SHORTCUT_NAME,
                    "type": "message",
                    "callback_id": VERIFY_SHORTCUT,
                    "description": "Check whether this bot made the picture in this message",
                },
            ],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": url is None,
            "token_rotation_enabled": False,
        },
    }


def _yaml(value: dict[str, Any] | list[Any], pad: str = "") -> list[str]:
    """A small YAML writer for the manifest's shapes; scalars are written as JSON, which YAML reads."""
    items = (
        [(f"{pad}{k}:", v) for k, v in value.items()]
        if isinstance(value, dict)
        else [(f"{pad}-", v) for v in value]
    )
    lines: list[str] = []
    for head, item in items:
        if not isinstance(item, dict | list) or not item:
            lines.append(f"{head} {json.dumps(item, ensure_ascii=False)}")
        elif isinstance(value, list) and isinstance(item, dict):  # "- key: value", then the other keys
            first, *rest = _yaml(item, pad + "  ")
            lines += [f"{head} {first.lstrip()}", *rest]
        else:
            lines += [head, *_yaml(item, pad + "  ")]
    return lines


def render_manifest(url: str | None = PLACEHOLDER_URL, *, name: str = "easel") -> str:
    header = [
        "# Slack app manifest for easel — generated by `python -m bot.slack.manifest`; do not edit by hand.",
        "# HTTP mode: replace the request URLs with your server's https://…/slack/events",
        "# (or print one: python -m bot.slack.manifest --url https://your-host/slack/events).",
        "# Socket Mode: python -m bot.slack.manifest --socket-mode",
    ]
    return "\n".join(header + _yaml(build_manifest(url, name=name))) + "\n"


def _name_argument(value: str) -> str:
    try:
        bot_display_name(_app_name(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> None:
    """Print the manifest (``easel slack-manifest`` passes its arguments and its name here)."""
    parser = argparse.ArgumentParser(prog=prog, description="Print easel's Slack app manifest (YAML).")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--url", default=PLACEHOLDER_URL, help="request URL (https://your-host/slack/events)")
    mode.add_argument("--socket-mode", action="store_true", help="a Socket Mode app (no request URLs)")
    parser.add_argument(
        "--name",
        default="easel",
        type=_name_argument,
        help=f"app and bot name shown in Slack (≤ {APP_NAME_MAX} characters)",
    )
    args = parser.parse_args(argv)
    print(render_manifest(None if args.socket_mode else args.url, name=args.name), end="")


if __name__ == "__main__":
    main()
