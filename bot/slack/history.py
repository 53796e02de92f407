"""``/history`` on Slack: the person's last 20 jobs as ephemeral Block Kit, a *Run again* button each.

The words come from :mod:`commands.history`. Each entry is one section (far below the 3,000
characters of a section's text) with its button as the accessory, so 20 entries and the header
are 21 blocks of the 50 a message may have. Buttons carry ``easel:a:<job>`` and are handled with
the other result buttons (:mod:`bot.slack.handlers`): the job is read from SQLite, so they work
after a restart, and only the job's owner may run it again.

Slack does not tell an app which message a file upload became, so the link of an entry opens the
channel the result was posted in (``slack.com/app_redirect``), not the message itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, ButtonElement, MarkdownTextObject, SectionBlock
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.context import SlackContext
from bot.slack.mrkdwn import MARKUP, escape_text
from commands.actions import Verb, encode
from commands.history import HISTORY, HistoryEntry, history_entries, history_header, history_line
from commands.replies import error_text
from services.errors import EaselError
from services.types import Requester, Venue

if TYPE_CHECKING:
    from services.jobs import JobRecord

__all__ = ["SLACK_WEB_URL", "history_blocks", "register_history"]

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]


def _escape(text: str) -> str:
    return escape_text(text.replace("`", "'"))


SLACK_WEB_URL = "https://slack.com"  # app_redirect opens the channel in the reader's workspace


def _link(label: str, url: str) -> str:
    return f"<{url}|{label}>"


def channel_link(record: JobRecord) -> str | None:
    """Where the result of a Slack job was posted: its channel (see the module docstring)."""
    origin = record.origin
    channel, team = origin.get("channel"), origin.get("team")
    if origin.get("platform") != "slack" or not channel:
        return None
    query = {"channel": str(channel), **({"team": str(team)} if team else {})}
    return f"{SLACK_WEB_URL}/app_redirect?{urlencode(query)}"


def history_blocks(entries: Sequence[HistoryEntry]) -> list[dict[str, Any]]:
    """The header section, then one section per entry with its *Run again* button."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=history_header(len(entries))))]
    for entry in entries:
        line = history_line(entry, MARKUP, escape=_escape, link=_link)
        button = (
            ButtonElement(text="Run again", action_id=encode(Verb.AGAIN, entry.job_id))
            if entry.can_run_again
            else None
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=line), accessory=button))
    return [b.to_dict() for b in blocks]


class _History:
    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx

    async def on_history(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()  # the database read comes after, in the background
        self.ctx.tasks.spawn(self._answer(body), name="history")

    async def _answer(self, body: dict[str, Any]) -> None:
        user, channel = str(body.get("user_id", "")), str(body.get("channel_id", ""))
        requester = Requester(
            "slack",
            user,
            display_name=str(body.get("user_name", "")),
            venue=Venue(server_id=str(body.get("team_id", "")), channel_id=channel),
        )
        try:
            records = await self.ctx.jobs.history(requester)
            entries = history_entries(records, link=channel_link, limits=self.ctx.limits())
            text, blocks = history_header(len(entries)), history_blocks(entries)
        except Exception:
            log.exception("slack.handler_crashed", extra={"command": "history"})
            text, blocks = error_text(EaselError(), MARKUP), []
        await self._reply(str(body.get("response_url") or ""), channel, user, text, blocks)

    async def _reply(
        self, url: str, channel: str, user: str, text: str, blocks: list[dict[str, Any]]
    ) -> None:
        """By the command's response URL (works in any conversation), else ``chat.postEphemeral``."""
        if url:
            try:
                response = await AsyncWebhookClient(url, timeout=10).send(
                    text=text, blocks=blocks or None, response_type="ephemeral"
                )
                if response.status_code == 200:
                    return
                log.info("slack.response_url_refused", extra={"status": response.status_code})
            except Exception as exc:  # unreachable or expired: try the Web API
                log.warning("slack.response_url_failed", extra={"error": type(exc).__name__})
        try:
            await self.ctx.client.chat_postEphemeral(
                channel=channel, user=user, text=text, blocks=blocks or None
            )
        except SlackApiError as exc:
            log.warning("slack.history_reply_failed", extra={"error": exc.response.get("error")})


def register_history(app: AsyncApp, ctx: SlackContext) -> Callable[[Ack, dict[str, Any]], Awaitable[None]]:
    """Listen to ``/history``; returns the listener (``/easel history`` calls it too)."""
    listener = _History(ctx).on_history
    app.command(f"/{HISTORY.name}")(listener)
    return listener
