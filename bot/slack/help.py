"""``/easel help`` for Slack, built from ``commands.help`` (never restated here); quota wording is in
:mod:`commands.replies`."""

from __future__ import annotations

from typing import Any

from commands import COMMANDS
from commands.help import FLAG_HELP, command_help
from services.backends.base import BackendLimits

__all__ = ["help_blocks"]

_SECTION_MAX = 3000


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:_SECTION_MAX]}}


def _chunks(text: str) -> list[str]:
    """Split at line breaks into pieces that fit one section block."""
    out: list[str] = []
    current = ""
    for line in text.splitlines():
        if len(current) + len(line) + 1 > _SECTION_MAX and current:
            out.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return out


def help_blocks(limits: BackendLimits, topic: str = "") -> list[dict[str, Any]]:
    """Overview (commands, shortcut, flags), or one command's options with this backend's ranges."""
    spec = COMMANDS.get(topic)
    if spec is not None:
        return [_section(chunk) for chunk in _chunks(command_help(spec, limits))]
    lines = ["*easel* makes and edits images right here. Commands:"]
    for command in COMMANDS.values():
        if command.available_on(limits):
            files = " (opens a form to upload your picture)" if command.needs_images else ""
            lines.append(f"• `/{command.name}` — {command.description}{files}")
    lines.append("• `/quota` — how many images you have left today")
    lines.append("• `/easel help <command>` — every option of one command, e.g. `/easel help imagine`")
    lines.append(
        "On any message with a picture, open the *⋮ More actions* menu and choose "
        "*Remix / Upscale this image*. Results come with buttons to upscale, vary, reroll, remix or delete."
    )
    blocks = [_section("\n".join(lines)), {"type": "divider"}]
    blocks += [_section(chunk) for chunk in _chunks(FLAG_HELP)]
    return blocks
