"""What easel looks like on Discord: markdown for the sentences of :mod:`commands.replies`, embeds.

Everything that echoes user text goes through :func:`safe` (markdown escaped) and every message
is sent with :data:`NO_MENTIONS`, so ``@everyone <@123> <@&456>`` in a prompt pings nobody.
"""

from __future__ import annotations

import re
from datetime import datetime

import discord

from commands.help import FLAG_HELP
from commands.prompts import prompt_text
from commands.replies import Icon, Markup, made_by_text, title_for, withheld_text
from services.types import JobOutcome, Operation, PublishedImage

__all__ = ["MARKUP", "NO_MENTIONS", "help_embed", "prompt_from_embed", "result_embed", "safe", "status_text"]

NO_MENTIONS = discord.AllowedMentions.none()
"""Sent with every message: no user, role, @everyone/@here or reply pings, whatever the text says."""

_EMBED_DESCRIPTION_MAX = 4096
_STATUS_PROMPT_MAX = 200
_UNESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
# What Discord's Markdown gives a meaning anywhere in a line, and what only at a line's start.
_INLINE_MARKDOWN_RE = re.compile(r"[\\*_`~|\[\]]")
_LINE_START_RE = re.compile(r"^([ \t]*)(?:([>#-])|(\d+)\.)", re.MULTILINE)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, mark, number = match.groups()
    return f"{indent}\\{mark}" if mark else f"{indent}{number}\\."


def safe(text: str, limit: int | None = None) -> str:
    """User text made inert for Markdown (mentions are disarmed by :data:`NO_MENTIONS`): at most
    ``limit`` characters, escapes included, cut with "…" without splitting an escape.

    Not ``discord.utils.escape_markdown``: its link pattern ``\\[.+\\]\\(.+\\)`` backtracks cubically,
    and a 4,000-character prompt of ``[](`` held the event loop (and the gateway) for seconds, then
    came out longer than the limit. Here each Markdown character is escaped in one linear pass
    (Discord shows ``\\*`` as ``*``), and the cut comes after escaping, so the result always fits.
    """
    shown = text if limit is None else text[:limit]  # escaping at most doubles it
    escaped = _LINE_START_RE.sub(_escape_line_start, _INLINE_MARKDOWN_RE.sub(r"\\\g<0>", shown))
    if limit is None or (len(escaped) <= limit and len(shown) == len(text)):
        return escaped
    cut = escaped[: limit - 1]
    if (len(cut) - len(cut.rstrip("\\"))) % 2:  # a lone backslash would escape the "…"
        cut = cut[:-1]
    return cut + "…"


def _when(moment: datetime) -> str:
    """A Discord timestamp: every reader sees it in their own time zone (``in 3 hours``)."""
    ts = int(moment.timestamp())
    return f"<t:{ts}:R> (<t:{ts}:t>)"


MARKUP = Markup(
    escape=lambda text: text,  # error messages are easel's own words; prompts go through safe()
    bold=lambda text: f"**{text}**",
    when=_when,
    icons={
        Icon.WARNING: "⚠️",
        Icon.NO_ENTRY: "⛔",
        Icon.QUEUED: "⏳",
        Icon.WORKING: "🖌️",
        Icon.DONE: "✅",
        Icon.DELETE: "🗑",
    },
)


def status_text(kind: str, prompt: str, icon: Icon, line: str) -> str:
    """The deferred reply while a job waits or runs: ``🎨 Imagine **a fox** — ⏳ queued — you're next``."""
    shown = f" **{safe(prompt, _STATUS_PROMPT_MAX)}**" if prompt else ""
    return f"{title_for(kind)}{shown} — {MARKUP.icons[icon]} {line[:1].lower()}{line[1:]}"


def prompt_from_embed(message: discord.Message | None) -> str:
    """The prompt a result message shows (its embed description, unescaped), or ``""``."""
    if message is None or not message.embeds:
        return ""
    return _UNESCAPE_RE.sub(r"\1", message.embeds[0].description or "")


def help_embed(commands_line: str) -> discord.Embed:
    embed = discord.Embed(title="How to use easel", description=FLAG_HELP[:_EMBED_DESCRIPTION_MAX])
    embed.add_field(name="Commands", value=commands_line[:1024], inline=False)
    embed.set_footer(
        text="Buttons under a result: U = upscale, V = variation, 🔁 new seed, ✏️ edit and remix."
    )
    return embed


def _size_of(images: tuple[PublishedImage, ...]) -> str:
    return ", ".join(sorted({f"{i.width}×{i.height}" for i in images})) or "—"


def result_embed(
    outcome: JobOutcome, kind: str, requester_id: int, *, part: tuple[int, int] = (1, 1)
) -> discord.Embed:
    """The embed under a result: prompt (escaped), seed, size, model, who asked.

    A text result (/describe) shows its text, who asked, and what 🎨 does.
    """
    model = safe(outcome.model or outcome.backend or "—", 200)
    if not outcome.images and outcome.text is not None:
        embed = discord.Embed(title=title_for(kind), description=safe(outcome.text, _EMBED_DESCRIPTION_MAX))
        embed.add_field(name="Requested by", value=f"<@{requester_id}>", inline=True)
        embed.add_field(name="Model", value=model, inline=True)
        embed.set_footer(text=f"🎨 Imagine this: /imagine with this prompt · job {outcome.job_id[:8]}")
        return embed
    request = outcome.request
    title = title_for(kind)
    if request.operation is Operation.UPSCALE:
        title += f" ×{request.upscale_factor}"
    if part[1] > 1:
        title += f" (part {part[0]} of {part[1]})"
    embed = discord.Embed(title=title, description=safe(prompt_text(request), _EMBED_DESCRIPTION_MAX))
    seeds = ", ".join(str(i.seed) for i in outcome.images)
    embed.add_field(name="Seed", value=seeds[:1024] or "—", inline=True)
    embed.add_field(name="Size", value=_size_of(outcome.images), inline=True)
    embed.add_field(name="Model", value=model, inline=True)
    embed.add_field(name="Requested by", value=f"<@{requester_id}>", inline=True)
    if request.strength is not None and request.operation in (Operation.REMIX, Operation.INPAINT):
        embed.add_field(name="Strength", value=f"{request.strength:g}", inline=True)
    if outcome.filtered:
        embed.add_field(name="Withheld", value=withheld_text(outcome.filtered), inline=False)
    made_by = made_by_text(outcome.model, outcome.fallback_from)
    if made_by:
        embed.add_field(name="Fallback", value=safe(made_by, 1024), inline=False)
    embed.set_footer(text=f"job {outcome.job_id[:8]}")
    return embed
