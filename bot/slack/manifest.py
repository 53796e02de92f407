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
from pathlib import Path
from typing import Any

from bot.slack.handlers import IMAGE_COMMANDS, SHORTCUT_CALLBACK
from commands import COMMANDS
from commands.spec import CommandSpec

__all__ = ["BOT_SCOPES", "MANIFEST_PATH", "PLACEHOLDER_URL", "build_manifest", "render_manifest"]

MANIFEST_PATH = Path(__file__).with_name("manifest.yml")
PLACEHOLDER_URL = "https://easel.example.com/slack/events"

#: What easel calls, and why (also in the README):
#: commands — slash commands and the message shortcut; chat:write — status, results, deletions;
#: files:write — uploading results, deleting them; files:read — files.info and url_private downloads.
BOT_SCOPES = ("commands", "chat:write", "files:read", "files:write")


def _usage(spec: CommandSpec) -> str:
    if spec.needs_images:
        return "(opens a form) optional prompt and flags" if spec.takes_prompt else "(opens a form)"
    return "<prompt> --flags, e.g. a lighthouse at dusk --ar 16:9 (or nothing, for a form)"


def build_manifest(url: str | None = PLACEHOLDER_URL, *, name: str = "easel") -> dict[str, Any]:
    """The manifest as a dict; ``url=None`` gives a Socket Mode app (no request URLs)."""

    def with_url(entry: dict[str, Any]) -> dict[str, Any]:
        return {**entry, "url": url} if url else entry

    commands = [
        with_url(
            {
                "command": f"/{c}",
                "description": COMMANDS[c].description,
                "usage_hint": _usage(COMMANDS[c]),
                "should_escape": False,
            }
        )
        for c in IMAGE_COMMANDS
    ]
    commands.append(
        with_url(
            {
                "command": "/quota",
                "description": "How many images you have left today",
                "should_escape": False,
            }
        )
    )
    commands.append(
        with_url(
            {
                "command": "/easel",
                "description": "Help, quota, or any command: /easel help, /easel imagine …",
                "usage_hint": "help [command] | quota | imagine <prompt>",
                "should_escape": False,
            }
        )
    )
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
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": commands,
            "shortcuts": [
                {
                    "name": "Remix / Upscale this image",
                    "type": "message",
                    "callback_id": SHORTCUT_CALLBACK,
                    "description": "Remix or upscale the picture in this message",
                }
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


def _yaml(value: Any, indent: int = 0) -> list[str]:
    """A small YAML writer for the manifest's shapes (strings are JSON-quoted, which YAML accepts)."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(_yaml(item, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                inner = _yaml(item, indent + 1)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    return lines


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def render_manifest(url: str | None = PLACEHOLDER_URL, *, name: str = "easel") -> str:
    header = [
        "# Slack app manifest for easel — generated by `python -m bot.slack.manifest`; do not edit by hand.",
        "# HTTP mode: replace the request URLs with your server's https://…/slack/events",
        "# (or print one: python -m bot.slack.manifest --url https://your-host/slack/events).",
        "# Socket Mode: python -m bot.slack.manifest --socket-mode",
    ]
    return "\n".join(header + _yaml(build_manifest(url, name=name))) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Print easel's Slack app manifest (YAML).")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--url", default=PLACEHOLDER_URL, help="request URL (https://your-host/slack/events)")
    mode.add_argument("--socket-mode", action="store_true", help="a Socket Mode app (no request URLs)")
    parser.add_argument("--name", default="easel", help="app and bot name shown in Slack")
    args = parser.parse_args()
    print(render_manifest(None if args.socket_mode else args.url, name=args.name), end="")


if __name__ == "__main__":
    main()
