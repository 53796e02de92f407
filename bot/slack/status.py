"""The requester's private status line for one job: "queued, position N" → working → done.

Slack gives each interaction a ``response_url`` (usable 5 times in 30 minutes), posted to with
``slack_sdk``'s :class:`AsyncWebhookClient`. A slash command's response URL can replace its own
ephemeral reply, so that reply is edited in place (``mode="replace"``). Button clicks and shortcuts
have response URLs whose "original" is someone else's message, so there each status is a new
ephemeral message and only the ones that matter are sent (``mode="append"``: queued, failures).
When the URL is used up or expired, final messages fall back to ``chat.postEphemeral``.

Updates go through a latest-wins :class:`services.throttle.StatusThrottle` (one per
``min_interval_s``); the final message always goes out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from services.throttle import Spawn, StatusThrottle, create_task

__all__ = ["StatusMode", "StatusTarget", "StatusUpdater"]

log = logging.getLogger(__name__)

StatusMode = Literal["replace", "append"]
RESPONSE_URL_USES = 5
_TOLD_EARLIER = "\0told by an earlier sink"  # never a status text: only marks "something was posted"


@dataclass(frozen=True, slots=True)
class StatusTarget:
    """Where a job's status goes; stored in the job's origin so it survives restarts."""

    channel: str
    user: str
    response_url: str | None = None
    mode: StatusMode = "append"
    thread_ts: str | None = None

    def to_origin(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "user": self.user,
            "response_url": self.response_url,
            "status_mode": self.mode,
            "thread_ts": self.thread_ts,
        }

    @classmethod
    def from_origin(cls, origin: Mapping[str, Any]) -> StatusTarget:
        return cls(
            channel=str(origin.get("channel", "")),
            user=str(origin.get("user", "")),
            response_url=origin.get("response_url") or None,
            mode="replace" if origin.get("status_mode") == "replace" else "append",
            thread_ts=origin.get("thread_ts") or None,
        )


class StatusUpdater:
    """Sends status texts for one job (or one reply) to its :class:`StatusTarget`; ``spawn`` runs
    the delayed sends (the front end cancels them when it closes)."""

    def __init__(
        self,
        target: StatusTarget,
        *,
        session: aiohttp.ClientSession,
        client: AsyncWebClient,
        min_interval_s: float = 2.0,
        spawn: Spawn = create_task,
    ) -> None:
        self._target = target
        self._client = client
        url = target.response_url
        self._webhook = (
            AsyncWebhookClient(url, timeout=10, session=session, retry_handlers=[]) if url else None
        )
        self._uses = 0  # response URL posts so far (the slash command's ack does not count)
        self._last_text = ""
        self._posted = False
        self._throttle = StatusThrottle(self._post_update, min_interval_s=min_interval_s, spawn=spawn)

    def continue_told(self) -> None:
        """This job's person has seen its status already (posted by an earlier sink of the job).

        The first post then replaces that message (replace mode) or is skipped like any later
        non-final one (append mode), and at least that one use of the response URL is counted.
        """
        self._uses = max(self._uses, 1)
        self._posted = True
        self._last_text = self._last_text or _TOLD_EARLIER

    def _url_left(self, keep: int) -> bool:
        """The response URL still works with ``keep`` uses to spare."""
        return self._webhook is not None and self._uses < RESPONSE_URL_USES - keep

    async def update(self, text: str) -> None:
        """A non-final status; skipped when unchanged or when it would use the last URL post."""
        if self._throttle.finished or text == self._last_text:
            return
        if self._target.mode == "append" and self._last_text:
            return  # only the first non-final status is worth a new message
        if self._url_left(keep=1):
            await self._throttle.update(text)

    async def _post_update(self, text: str) -> None:
        if self._url_left(keep=1):
            await self._post(text)

    async def final(self, text: str, *, important: bool = True) -> None:
        """The last status (done or failed). ``important=False`` skips it in append mode."""
        await self._throttle.stop()
        if self._target.mode == "append" and not important:
            return
        if self._url_left(keep=0) and await self._post(text):
            return
        try:
            await self._client.chat_postEphemeral(
                channel=self._target.channel,
                user=self._target.user,
                text=text,
                thread_ts=self._target.thread_ts,
            )
            self._last_text = text
        except SlackApiError as exc:
            log.warning("slack.status_failed", extra={"error": exc.response.get("error")})

    def cancel_pending(self) -> None:
        """Drop a deferred update (the front end is closing)."""
        self._throttle.cancel()

    async def _post(self, text: str) -> bool:
        assert self._webhook is not None
        # In replace mode the first post creates the status message; later ones edit it.
        replace = self._target.mode == "replace" and self._posted
        self._uses += 1
        try:
            response = await self._webhook.send_dict(
                {"response_type": "ephemeral", "text": text, "replace_original": replace}
            )
            if response.status_code == 200:
                self._last_text = text
                self._posted = True
                return True
            log.info("slack.response_url_refused", extra={"status": response.status_code})
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack.response_url_failed", extra={"error": type(exc).__name__})
        self._webhook = None  # used up, expired or unreachable: finals go by chat.postEphemeral
        return False
