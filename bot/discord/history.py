"""``/history`` on Discord: an ephemeral embed of the person's last 20 jobs and a *run again* button each.

The words come from :mod:`commands.history`; this module only writes them the Discord way. The
embed's description holds every entry (within 4,096 characters by construction: prompts shrink
to fit) and each entry that can run again gets a numbered :class:`ResultButton`
(``easel:a:<job>``): 20 at most, five to a row, so the view stays within Discord's 5 rows of 5
buttons. The buttons are restart-proof like the ones under results: the id names the job,
SQLite has the request, and the handler decides who may press it (the owner only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.discord.components import ResultButton
from bot.discord.render import MARKUP, safe
from commands.actions import Action, Verb
from commands.history import HistoryEntry, history_entries, history_text
from services.backends.base import BackendLimits

if TYPE_CHECKING:
    from services.jobs import JobRecord

__all__ = ["DISCORD_WEB_URL", "EMBED_DESCRIPTION_MAX", "history_embed", "history_view", "message_link"]

DISCORD_WEB_URL = "https://discord.com"  # where message links point (as discord.py's Message.jump_url)
EMBED_DESCRIPTION_MAX = 4096
_PER_ROW = 5
_ROWS = 5


def message_link(record: JobRecord) -> str | None:
    """``<DISCORD_WEB_URL>/channels/<guild or @me>/<channel>/<message>``: the message that became the result."""
    origin = record.origin
    if origin.get("platform") != "discord":
        return None
    channel, message = origin.get("channel_id"), origin.get("original_message_id")
    if not channel or not message:
        return None
    return f"{DISCORD_WEB_URL}/channels/{origin.get('guild_id') or '@me'}/{channel}/{message}"


def _link(label: str, url: str) -> str:
    return f"[{label}]({url})"


def _ago(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:R>"  # "3 hours ago" in each reader's clock; short, as 20 fit


_HISTORY_MARKUP = replace(MARKUP, when=_ago)


def history_embed(
    records: Sequence[JobRecord], limits: BackendLimits
) -> tuple[discord.Embed, list[HistoryEntry]]:
    """The embed of ``records`` (newest first) and the entries it shows."""
    entries = list(history_entries(records, link=message_link, limits=limits))
    text = history_text(entries, _HISTORY_MARKUP, escape=safe, link=_link, max_chars=EMBED_DESCRIPTION_MAX)
    return discord.Embed(title="Your history", description=text), entries


def history_view(entries: Sequence[HistoryEntry]) -> discord.ui.View | None:
    """A numbered *run again* button per entry that can run again (None when there is none)."""
    runnable = [e for e in entries if e.can_run_again][: _PER_ROW * _ROWS]
    if not runnable:
        return None
    view = discord.ui.View(timeout=None)
    for i, entry in enumerate(runnable):
        view.add_item(
            ResultButton(
                Action(Verb.AGAIN, entry.job_id), label=f"{entry.number}", emoji="↩️", row=i // _PER_ROW
            )
        )
    return view
