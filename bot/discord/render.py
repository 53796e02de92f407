"""What easel says on Discord: status lines, the result embed, and one reply per error.

Everything that echoes user text goes through :func:`safe` (markdown escaped) and every message
is sent with :data:`NO_MENTIONS`, so ``@everyone <@123> <@&456>`` in a prompt pings nobody.
Errors are mapped to replies here and nowhere else.
"""

from __future__ import annotations

import re
from datetime import datetime

import discord

from commands.help import FLAG_HELP
from commands.prompts import prompt_text
from services.errors import EaselError, QuotaExceeded
from services.quota import QuotaStatus
from services.types import JobOutcome, Operation, Progress, PublishedImage

__all__ = [
    "NO_MENTIONS",
    "error_text",
    "help_embed",
    "progress_text",
    "prompt_from_embed",
    "prompt_text",
    "queued_text",
    "quota_text",
    "result_embed",
    "safe",
    "started_text",
    "text_embed",
]

NO_MENTIONS = discord.AllowedMentions.none()
"""Sent with every message: no user, role, @everyone/@here or reply pings, whatever the text says."""

_EMBED_DESCRIPTION_MAX = 4096
_STATUS_PROMPT_MAX = 200
_UNESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)

_TITLES = {
    "imagine": "🎨 Imagine",
    "remix": "✏️ Remix",
    "inpaint": "🩹 Inpaint",
    "upscale": "🔍 Upscale",
    "variation": "🌀 Variation",
    "reroll": "🔁 Reroll",
    "describe": "🔎 Describe",
}


def safe(text: str, limit: int | None = None) -> str:
    """User text made inert for Markdown (mentions are disarmed by :data:`NO_MENTIONS`)."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return discord.utils.escape_markdown(text)


def prompt_from_embed(message: discord.Message | None) -> str:
    """The prompt a result message shows (its embed description, unescaped), or ``""``."""
    if message is None or not message.embeds:
        return ""
    description = message.embeds[0].description or ""
    return _UNESCAPE_RE.sub(r"\1", description)


def title_for(kind: str) -> str:
    return _TITLES.get(kind, "🎨 easel")


def _status_prefix(kind: str, prompt: str) -> str:
    shown = f" **{safe(prompt, _STATUS_PROMPT_MAX)}**" if prompt else ""
    return f"{title_for(kind)}{shown} —"


def queued_text(kind: str, prompt: str, position: int, *, resumed: bool = False) -> str:
    where = "queued, next up" if position <= 1 else f"queued, position {position}"
    again = " (easel restarted; your job is back in the queue)" if resumed else ""
    return f"{_status_prefix(kind, prompt)} ⏳ {where}{again}"


def started_text(kind: str, prompt: str) -> str:
    return f"{_status_prefix(kind, prompt)} 🖌️ working…"


def progress_text(kind: str, prompt: str, progress: Progress) -> str:
    percent = round(max(0.0, min(progress.fraction, 1.0)) * 100)
    eta = (
        f", about {round(progress.eta_s)} s left"
        if progress.eta_s is not None and progress.eta_s >= 1
        else ""
    )
    return f"{_status_prefix(kind, prompt)} 🖌️ {percent} %{eta}"


def _when(moment: datetime) -> str:
    """A Discord timestamp: every reader sees it in their own time zone (``in 3 hours``)."""
    ts = int(moment.timestamp())
    return f"<t:{ts}:R> (<t:{ts}:t>)"


def error_text(error: EaselError) -> str:
    """The one reply for each error class (see :mod:`services.errors`)."""
    if isinstance(error, QuotaExceeded):
        left = max(error.limit - error.used, 0)
        return (
            f"⛔ You have {left} of your {error.limit} daily images left and this needs {error.requested}. "
            f"More become available {_when(error.resets_at)}. Nothing was spent."
        )
    return f"⚠️ {error.user_message}"


def quota_text(status: QuotaStatus) -> str:
    lines = [f"You have **{status.remaining}** of your {status.limit} images left (rolling 24 hours)."]
    if status.resets_at is not None and status.used:
        lines.append(f"The next one comes back {_when(status.resets_at)}.")
    return "\n".join(lines)


def help_embed(commands_line: str) -> discord.Embed:
    embed = discord.Embed(title="How to use easel", description=FLAG_HELP[:_EMBED_DESCRIPTION_MAX])
    embed.add_field(name="Commands", value=commands_line[:1024], inline=False)
    embed.set_footer(
        text="Buttons under a result: U = upscale, V = variation, 🔁 new seed, ✏️ edit and remix."
    )
    return embed


def _size_of(images: tuple[PublishedImage, ...]) -> str:
    sizes = sorted({f"{i.width}×{i.height}" for i in images})
    return ", ".join(sizes) or "—"


def result_embed(
    outcome: JobOutcome, kind: str, requester_id: int, *, part: tuple[int, int] = (1, 1)
) -> discord.Embed:
    """The embed under a result: prompt (escaped), seed, size, model, who asked."""
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
    embed.add_field(name="Model", value=safe(outcome.model or outcome.backend or "—", 200), inline=True)
    embed.add_field(name="Requested by", value=f"<@{requester_id}>", inline=True)
    if request.strength is not None and request.operation in (Operation.REMIX, Operation.INPAINT):
        embed.add_field(name="Strength", value=f"{request.strength:g}", inline=True)
    if outcome.filtered:
        embed.add_field(
            name="Withheld",
            value=f"{outcome.filtered} image(s) withheld by the safety filter (not charged)",
            inline=False,
        )
    embed.set_footer(text=f"job {outcome.job_id[:8]}")
    return embed


def text_embed(outcome: JobOutcome, kind: str, requester_id: int) -> discord.Embed:
    """The reply to a text result (/describe): the text (escaped), who asked, and what 🎨 does."""
    embed = discord.Embed(title=title_for(kind), description=safe(outcome.text or "", _EMBED_DESCRIPTION_MAX))
    embed.add_field(name="Requested by", value=f"<@{requester_id}>", inline=True)
    embed.add_field(name="Model", value=safe(outcome.model or outcome.backend or "—", 200), inline=True)
    embed.set_footer(text=f"🎨 Imagine this: /imagine with this prompt · job {outcome.job_id[:8]}")
    return embed
