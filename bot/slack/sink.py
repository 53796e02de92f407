"""Talking back to the Slack user of one job: status while it runs, the result in the channel.

Built by the job service from a job's stored ``origin`` (see :meth:`StatusTarget.to_origin`), so a
job resumed after a restart still reports to the right channel and person. A result follows
Slack's documented rules: ``files_upload_v2`` (getUploadURLExternal → upload →
completeUploadExternal with ``channel_id`` / ``thread_ts`` and no blocks, which that method takes
as rich text only) shares the watermarked images, then ``chat.postMessage`` posts the card in the
same place: the requester, the (escaped) prompt, seeds and sizes, and the buttons. Slack shares
uploaded files a moment after ``completeUploadExternal`` answers, so the card waits until
``files.info`` shows the images in the channel (3 s at most), and appears under them rather than
above. If the card cannot be posted, or easel stops before it is, the images are deleted again,
so a refunded job leaves nothing behind and a resumed one posts its images once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import describe_message, fallback_text, result_blocks
from bot.slack.context import SlackContext
from bot.slack.defaults import defaults_block
from bot.slack.mrkdwn import MARKUP, escape_text
from bot.slack.status import StatusTarget
from commands.replies import (
    DONE_LINE,
    PAUSED_LINE,
    Icon,
    StatusLines,
    error_text,
    extension_for,
    result_filename,
    unpaused_line,
)
from services.errors import EaselError
from services.jobs import JobRecord
from services.types import JobOutcome, Operation

__all__ = ["SlackJobSink"]

log = logging.getLogger(__name__)

_NOT_IN_CHANNEL = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
_ICONS = MARKUP.icons
#: Pauses between ``files.info`` looks while Slack shares the images: 3 s in all, then the card goes
#: anyway (delivery holds a worker, so the wait stays short; Slack usually shares within a second).
_SHARE_PAUSES_S = (0.25, 0.5, 1.0, 1.25)
#: How long a stopping easel spends taking back the images of a card it could not post.
_CLEANUP_S = 3.0


class SlackJobSink(StatusLines):
    """The :class:`services.jobs.JobSink` of one Slack job."""

    def __init__(self, ctx: SlackContext, record: JobRecord) -> None:
        self.ctx = ctx
        self.job_id = record.job_id
        self.target = StatusTarget.from_origin(record.origin)
        self.status_line = ctx.status(self.target)  # one per job: its rate limit and URL budget
        if record.announced:  # built again (a restart, another process, a job that waited cold)
            self.status_line.continue_told()
        self.defaults = defaults_block(record.origin)  # which /settings defaults the job used
        self._told_failure = False

    async def status(self, icon: Icon, line: str) -> None:
        where = ". The result will appear in this channel." if icon is Icon.QUEUED else ""
        await self.status_line.update(f"{_ICONS[icon]} {line}{where}")

    async def deliver(self, outcome: JobOutcome) -> None:
        """Post the result in the channel; raising refunds the quota (the requester is told why)."""
        try:
            if outcome.images:
                await self._upload(outcome)
            else:
                await self._post_text(outcome)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            log.warning("slack.deliver_failed", extra={"job_id": outcome.job_id, "error": error})
            if error in _NOT_IN_CHANNEL:
                await self._fail_privately(
                    "I can't post in this channel, so I couldn't share your result. Invite me with "
                    "`/invite @easel` (or use me in a channel I'm in) and try again. Your quota was not spent."
                )
            else:
                await self._fail_privately(
                    f"Slack refused to post your result ({error or 'unknown error'}). "
                    "Please try again in a moment. Your quota was not spent."
                )
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack.deliver_failed", extra={"job_id": outcome.job_id, "error": type(exc).__name__})
            await self._fail_privately(
                "I couldn't reach Slack to post your result. Please try again in a moment. Your quota was not spent."
            )
            raise
        log.info("slack.delivered", extra={"job_id": outcome.job_id, "images": len(outcome.images)})
        await self.status_line.final(f"{_ICONS[Icon.DONE]} {DONE_LINE}", important=False)

    async def _upload(self, outcome: JobOutcome) -> None:
        """The watermarked images (``files_upload_v2``), then the card with the buttons beside them."""
        prompt = outcome.request.positive_prompt
        uploads = [
            {
                "file": image.data,
                "filename": result_filename(outcome.job_id, image.index, extension_for(image.content_type)),
                "title": f"seed {image.seed} · {image.width}×{image.height}",
                "alt_txt": ("AI-generated image" + (f": {prompt}" if prompt else ""))[:1000],
            }
            for image in outcome.images
        ]
        done = await self.ctx.client.files_upload_v2(
            file_uploads=uploads, channel=self.target.channel, thread_ts=self.target.thread_ts
        )
        uploaded = tuple(str(f.get("id")) for f in done.get("files") or [] if f.get("id"))
        user = outcome.requester.user_id
        blocks = result_blocks(
            outcome, user_id=user, operations=self.ctx.limits().operations, file_ids=uploaded
        )
        if self.defaults is not None:  # which /settings defaults the job used, under the summary
            blocks.insert(1, self.defaults)
        try:
            if uploaded:
                await self._until_shared(uploaded[0])
            await self.ctx.client.chat_postMessage(
                channel=self.target.channel,
                thread_ts=self.target.thread_ts,
                text=fallback_text(outcome.request, user),
                blocks=blocks,
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError):
            await self._remove(uploaded)
            raise
        except asyncio.CancelledError:  # easel stops: the job is delivered again after the restart
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_CLEANUP_S):
                    await self._remove(uploaded)
            raise

    async def _until_shared(self, file_id: str) -> None:
        """Wait until ``files.info`` lists the channel among the file's shares (or give up quietly).

        The workaround Slack's SDK maintainers give for the asynchronous share; files.info needs the
        ``files:read`` scope the manifest asks for. Any error just lets the card go now.
        """
        for pause in (0.0, *_SHARE_PAUSES_S):
            await asyncio.sleep(pause)
            try:
                info = await self.ctx.client.files_info(file=file_id)
            except (SlackApiError, aiohttp.ClientError, TimeoutError):
                return
            shares = (info.get("file") or {}).get("shares") or {}
            if any(self.target.channel in (shares.get(kind) or {}) for kind in ("public", "private")):
                return
        log.info("slack.share_pending", extra={"job_id": self.job_id})

    async def _remove(self, file_ids: tuple[str, ...]) -> None:
        """Take back images whose card could not be posted (best effort: the job is refunded anyway)."""
        for file_id in file_ids:
            try:
                await self.ctx.client.files_delete(file=file_id)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
                log.warning("slack.file_delete_failed", extra={"job_id": self.job_id, "error": error})

    async def _post_text(self, outcome: JobOutcome) -> None:
        """A text result (``/describe``): the requester, the text, how to reuse it, an *Imagine this* button."""
        user = outcome.requester.user_id
        text = escape_text(" ".join((outcome.text or "").split()))
        blocks = None
        if outcome.request.operation is Operation.DESCRIBE and text:
            operations = self.ctx.limits().operations
            body, blocks = describe_message(outcome, user_id=user, operations=operations)
        else:
            body = f"{fallback_text(outcome.request, user)}\n{text}"
        await self.ctx.client.chat_postMessage(
            channel=self.target.channel, thread_ts=self.target.thread_ts, text=body, blocks=blocks
        )

    async def _fail_privately(self, text: str) -> None:
        self._told_failure = True
        await self.status_line.final(f"{_ICONS[Icon.WARNING]} {text}")

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        if not self._told_failure:
            await self.status_line.final(error_text(error, MARKUP))

    # Pause notices (services.jobs.pausing): a private message each, whatever the status mode.

    async def on_paused(self, job_id: str) -> None:
        if not self._started:
            await self._notice(f"{_ICONS[Icon.QUEUED]} {PAUSED_LINE}.")

    async def on_unpaused(self, job_id: str, position: int) -> None:
        if not self._started:
            await self._notice(f"{_ICONS[Icon.QUEUED]} {unpaused_line(position)}.")

    async def _notice(self, text: str) -> None:
        await self.ctx.client.chat_postEphemeral(
            channel=self.target.channel, user=self.target.user, text=text, thread_ts=self.target.thread_ts
        )
