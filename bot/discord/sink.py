"""Talking back to the person who started a job: status edits, the result, failures.

A sink is built from the job's stored ``origin`` alone (see :func:`make_origin`), so a job
recovered after a restart reports exactly like one started in this process.

While the interaction token lives (15 minutes), everything goes through the interaction's
webhook: the deferred reply is edited with the queue position and progress (at most one edit
per :data:`STATUS_INTERVAL_S`, :class:`services.throttle.StatusThrottle`), then becomes the result
(files, embed, buttons); a batch that does not fit one message continues in follow-ups. Failures
are sent as an ephemeral follow-up and the public placeholder is deleted. After the token has
expired (or if Discord refuses it), results and failures are posted as ordinary channel messages
that reply to the deferred reply and mention nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import discord

from bot.discord.components import result_view, text_view
from bot.discord.context import DiscordContext
from bot.discord.defaults import add_defaults_note
from bot.discord.render import MARKUP, NO_MENTIONS, result_embed, safe, status_text
from commands.replies import Icon, StatusLines, error_text, result_filename
from services.errors import EaselError
from services.jobs import JobRecord
from services.throttle import StatusThrottle
from services.types import JobOutcome
from services.uploads import UploadPart, UploadTooLarge, post_within

__all__ = ["DEFAULT_UPLOAD_LIMIT", "STATUS_INTERVAL_S", "DiscordJobSink", "make_origin", "tell_privately"]

log = logging.getLogger(__name__)

PLATFORM = "discord"
STATUS_INTERVAL_S = 2.0
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's per-message limit without boosts
_MAX_FILES = 10  # attachments per message
_TOKEN_GONE = (401, 404)  # 50027 Invalid Webhook Token, 10015 Unknown Webhook


def make_origin(
    interaction: discord.Interaction[Any],
    *,
    kind: str,
    prompt: str,
    original_message_id: int | None,
    token_lifetime_s: float,
) -> dict[str, Any]:
    """Everything a sink needs to reach the user later, JSON-able for the job row.

    The interaction token is stored so a job resumed after a restart can still edit its reply;
    it is useless after ``token_expires_at`` and never logged.
    """
    margin = min(30.0, token_lifetime_s * 0.1)
    reply_to = interaction.message.id if interaction.message is not None else None
    return {
        "platform": PLATFORM,
        "kind": kind,
        "prompt": prompt[:300],
        "application_id": interaction.application_id,
        "interaction_id": interaction.id,
        "token": interaction.token,
        "token_expires_at": interaction.created_at.timestamp() + token_lifetime_s - margin,
        "channel_id": interaction.channel_id,
        "guild_id": interaction.guild_id,
        "user_id": interaction.user.id,
        "original_message_id": original_message_id,
        "reply_to": reply_to,
        "filesize_limit": int(interaction.filesize_limit or DEFAULT_UPLOAD_LIMIT),
    }


async def tell_privately(
    webhook: discord.Webhook, original_id: int | None, text: str, *, resolved: bool = False
) -> None:
    """Say ``text`` to the user only (ephemeral follow-up), then remove the public placeholder.

    The first follow-up after a deferral replaces the loading message and keeps its (public)
    visibility, so the placeholder is edited first unless it has left its loading state already.
    """
    if original_id is not None and not resolved:
        await webhook.edit_message(original_id, content="…", allowed_mentions=NO_MENTIONS)
    await webhook.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS, wait=True)
    if original_id is not None:
        with contextlib.suppress(discord.NotFound):
            await webhook.delete_message(original_id)


class DiscordJobSink(StatusLines):
    """The :class:`services.jobs.JobSink` of one Discord job (one instance per job and process)."""

    def __init__(self, ctx: DiscordContext, record: JobRecord) -> None:
        self.ctx = ctx
        self.job_id = record.job_id
        self.origin: Mapping[str, Any] = record.origin
        self.kind = str(self.origin.get("kind", "imagine"))
        self.prompt = str(self.origin.get("prompt", ""))
        self.user_id = int(self.origin.get("user_id") or record.requester.user_id)
        self.display_name = record.requester.display_name
        self._lock = asyncio.Lock()
        self._resolved = record.announced  # the deferred reply left its loading state (edited with its place)
        # Never waits for the client: jobs resumed after a restart report while jobs.start() is
        # still running, before the front end has connected; their update goes out once it has.
        self._status = StatusThrottle(
            self._edit_status,
            min_interval_s=STATUS_INTERVAL_S,
            spawn=ctx.status_tasks.spawn,
            gate=ctx.ready,
            name=f"status-{self.job_id[:8]}",
        )

    # ---------------------------------------------------------------- where to talk

    @property
    def original_id(self) -> int | None:
        value = self.origin.get("original_message_id")
        return int(value) if value else None

    def token_valid(self) -> bool:
        return bool(self.origin.get("token")) and time.time() < float(self.origin.get("token_expires_at", 0))

    def _webhook(self) -> discord.Webhook:
        # Built the way discord.py builds Interaction.followup: an application webhook on the
        # client's state, so ephemeral follow-ups and buttons are allowed.
        data = {"id": int(self.origin["application_id"]), "type": 3, "token": str(self.origin["token"])}
        return discord.Webhook.from_state(data=data, state=self.ctx.bot._connection)  # type: ignore[arg-type]

    def _channel(self) -> discord.PartialMessageable:
        guild_id = self.origin.get("guild_id")
        return self.ctx.bot.get_partial_messageable(
            int(self.origin["channel_id"]), guild_id=int(guild_id) if guild_id else None
        )

    def _reference(self) -> discord.MessageReference | None:
        target = self.original_id or self.origin.get("reply_to")
        if not target:
            return None
        guild_id = self.origin.get("guild_id")
        return discord.MessageReference(
            message_id=int(target),
            channel_id=int(self.origin["channel_id"]),
            guild_id=int(guild_id) if guild_id else None,
            fail_if_not_exists=False,
        )

    # ---------------------------------------------------------------- status (rate limited)

    async def status(self, icon: Icon, line: str) -> None:
        if self.token_valid() and self.original_id is not None:
            await self._status.update(status_text(self.kind, self.prompt, icon, line))

    async def _edit_status(self, text: str) -> None:
        original = self.original_id
        if original is None or not self.ctx.ready.is_set() or not self.token_valid():
            return
        try:
            await self._webhook().edit_message(original, content=text, allowed_mentions=NO_MENTIONS)
            self._resolved = True
        except discord.HTTPException as exc:
            log.warning("discord.status_failed", extra={"job_id": self.job_id, "status": exc.status})
        except Exception as exc:  # a status line is never worth failing a job over
            log.warning(
                "discord.status_failed", extra={"job_id": self.job_id, "error_kind": type(exc).__name__}
            )

    # ---------------------------------------------------------------- results

    async def deliver(self, outcome: JobOutcome) -> None:
        """Post every image; raises only if Discord refuses for a reason other than size."""
        await self._status.stop()
        await self.ctx.wait_ready()
        async with self._lock:
            if not outcome.images and outcome.text is not None:  # /describe: text with 🎨 Imagine this
                embed = result_embed(outcome, self.kind, self.user_id)
                await self._send(
                    embed=embed, view=lambda: text_view(self.job_id), attachments=list, first=True
                )
                messages = 1
            else:
                # Uploads share a few slots: fifty results of ~2 MB pushed at once would queue every
                # interaction acknowledgement behind megabytes of socket writes on the event loop.
                limit = int(self.origin.get("filesize_limit") or DEFAULT_UPLOAD_LIMIT)
                async with self.ctx.upload_slots:
                    post = functools.partial(self._post, outcome)
                    messages = await post_within(
                        outcome.images, limit, post, max_files=_MAX_FILES, job_id=self.job_id
                    )
        log.info(
            "discord.delivered",
            extra={"job_id": self.job_id, "images": len(outcome.images), "messages": messages},
        )

    async def _post(self, outcome: JobOutcome, part: UploadPart) -> None:
        embed = add_defaults_note(
            result_embed(outcome, self.kind, self.user_id, part=(part.number, part.count)), self.origin
        )

        def attachments() -> list[discord.File]:
            return [
                discord.File(
                    io.BytesIO(f.data), filename=result_filename(self.job_id, image.index, f.extension)
                )
                for image, f in zip(part.images, part.files, strict=True)
            ]

        def view() -> discord.ui.View:
            return result_view(self.job_id, [i.index for i in part.images], outcome.request.operation)

        await self._send(embed=embed, view=view, attachments=attachments, first=part.number == 1)

    async def _send(
        self,
        *,
        embed: discord.Embed,
        view: Callable[[], discord.ui.View],
        attachments: Callable[[], list[discord.File]],
        first: bool,
    ) -> None:
        """The first message replaces the deferred reply; others follow. Channel message once the token is gone.

        ``view`` and ``attachments`` are factories: a retry in the channel needs fresh file objects.
        """
        if self.token_valid():
            webhook = self._webhook()
            try:
                if first and self.original_id is not None:
                    await webhook.edit_message(
                        self.original_id,
                        content="",
                        embed=embed,
                        attachments=attachments(),
                        view=view(),
                        allowed_mentions=NO_MENTIONS,
                    )
                    self._resolved = True
                else:
                    await webhook.send(
                        embed=embed, files=attachments(), view=view(), allowed_mentions=NO_MENTIONS, wait=True
                    )
                return
            except discord.HTTPException as exc:
                if exc.status == 413:
                    raise UploadTooLarge() from exc
                if exc.status not in _TOKEN_GONE:
                    raise
                log.info("discord.token_gone", extra={"job_id": self.job_id, "status": exc.status})
        try:
            await self._channel().send(
                embed=embed,
                files=attachments(),
                view=view(),
                allowed_mentions=NO_MENTIONS,
                reference=self._reference(),  # type: ignore[arg-type]
                mention_author=False,
            )
        except discord.HTTPException as exc:
            if exc.status == 413:
                raise UploadTooLarge() from exc
            raise

    # ---------------------------------------------------------------- failures

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        await self._status.stop()
        await self.ctx.wait_ready()
        text = error_text(error, MARKUP)
        async with self._lock:
            if self.token_valid():
                try:
                    await tell_privately(self._webhook(), self.original_id, text, resolved=self._resolved)
                    return
                except discord.HTTPException as exc:
                    log.info("discord.token_gone", extra={"job_id": self.job_id, "status": exc.status})
            who = safe(self.display_name, 80) or "you"
            await self._channel().send(
                f"Sorry {who}, this could not be finished. {text}",
                allowed_mentions=NO_MENTIONS,
                reference=self._reference(),  # type: ignore[arg-type]
                mention_author=False,
            )
