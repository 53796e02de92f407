"""``/easel help`` for Slack, built from ``commands.help`` (never restated here); quota wording is in
:mod:`commands.replies`."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock, SectionBlock

from commands import COMMANDS
from commands.help import FLAG_HELP, command_help, command_overview
from commands.info import HELP
from services.backends.base import BackendLimits

__all__ = ["SHORTCUT_NAME", "help_blocks"]

SHORTCUT_NAME = "Remix or upscale image"  # the message shortcut, as the manifest names it (≤ 24 chars)
_SECTION_MAX = 3000


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=text[:_SECTION_MAX])  # a string is mrkdwn


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


def _overview(limits: BackendLimits) -> str:
    lines = ["*easel* makes and edits images right here. Commands:"]
    for line in command_overview(limits):
        if line.command == HELP.name:  # Slack's help is /easel help, and it takes a command
            lines.append(
                "• `/easel help <command>` — every option of one command, e.g. `/easel help imagine`"
            )
            continue
        files = " (opens a form to upload your picture)" if line.takes_pictures else ""
        lines.append(f"• `/{line.command}` — {line.summary}{files}")
    lines.append(
        f"On any message with a picture, open the *⋮ More actions* menu and choose *{SHORTCUT_NAME}*. "
        "Results come with buttons to upscale, vary, reroll, remix or delete."
    )
    return "\n".join(lines)


def help_blocks(limits: BackendLimits, topic: str = "") -> list[dict[str, Any]]:
    """Overview (commands, shortcut, flags), or one command's options with this backend's ranges."""
    spec = COMMANDS.get(topic)
    text = command_help(spec, limits) if spec is not None else _overview(limits)
    blocks: list[Block] = [_section(chunk) for chunk in _chunks(text)]
    if spec is None:
        blocks += [DividerBlock(), *(_section(chunk) for chunk in _chunks(FLAG_HELP))]
    return [block.to_dict() for block in blocks]
