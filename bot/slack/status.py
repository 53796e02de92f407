"""The requester's private status line for one job: "queued, position N" → working → done.

Slack gives each interaction a ``response_url`` (usable 5 times in 30 minutes). A slash
command's response URL can replace its own ephemeral reply, so that reply is edited in place
(``mode="replace"``). Button clicks and shortcuts have response URLs whose "original" is someone
else's message, so there each status is a new ephemeral message and only the ones that matter are
sent (``mode="append"``: queued, failures). When the URL is used up or expired, final messages fall
back to ``chat.postEphemeral``.

Updates are rate-limited to one per ``min_interval_s`` per job (a newer text waits for the end of
the interval, replacing any older one still waiting); the final message always goes out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["StatusMode", "StatusTarget", "StatusUpdater"]

log = logging.getLogger(__name__)

StatusMode = Literal["replace", "append"]
RESPONSE_URL_USES = 5


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
        mode = origin.get("status_mode")
        return cls(
            channel=str(origin.get("channel", "")),
            user=str(origin.get("user", "")),
            response_url=origin.get("response_url") or None,
            mode="replace" if mode == "replace" else "append",
            thread_ts=origin.get("thread_ts") or None,
        )


class StatusUpdater:
    """Sends status texts for one job to its :class:`StatusTarget`."""

    def __init__(
        self,
        target: StatusTarget,
        *,
        session: aiohttp.ClientSession,
        client: AsyncWebClient,
        min_interval_s: float = 2.0,
        uses: int = 0,
    ) -> None:
        self._target = target
        self._session = session
        self._client = client
        self._min_interval_s = min_interval_s
        self._uses = uses  # response URL posts so far (the slash command's ack does not count)
        self._last_sent = float("-inf")
        self._last_text = ""
        self._url_dead = target.response_url is None
        self._posted = uses > 0
        self._finished = False
        self._pending: str | None = None
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def update(self, text: str) -> None:
        """A non-final status. Too soon after the last one, it is sent when the interval is over
        (only the latest such text); skipped when unchanged or when it would use the last URL post."""
        if self._finished or text == self._last_text:
            return
        if self._target.mode == "append" and self._last_text:
            return  # only the first non-final status is worth a new message
        if self._url_dead or self._uses >= RESPONSE_URL_USES - 1:
            return
        wait_s = self._min_interval_s - (time.monotonic() - self._last_sent)
        if wait_s > 0:
            self._pending = text
            if self._timer is None:
                self._timer = asyncio.create_task(self._send_later(wait_s))
            return
        async with self._lock:
            if not self._finished:
                await self._post_response_url(text)

    async def _send_later(self, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        self._timer = None
        text, self._pending = self._pending, None
        if text is not None:
            await self.update(text)

    async def final(self, text: str, *, important: bool = True) -> None:
        """The last status (done or failed). ``important=False`` skips it in append mode."""
        self._finished = True
        self.cancel_pending()
        if self._target.mode == "append" and not important:
            return
        async with self._lock:
            if not self._url_dead and self._uses < RESPONSE_URL_USES and await self._post_response_url(text):
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
        """Drop a deferred update (the job finished, or the front end is closing)."""
        self._pending = None
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._timer = None

    async def _post_response_url(self, text: str) -> bool:
        url = self._target.response_url
        assert url is not None
        body: dict[str, Any] = {"response_type": "ephemeral", "text": text}
        # In replace mode the first post creates the status message; later ones edit it.
        body["replace_original"] = self._target.mode == "replace" and self._posted
        self._uses += 1
        self._last_sent = time.monotonic()
        try:
            async with self._session.post(url, json=body, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                await resp.read()
                if resp.status == 200:
                    self._last_text = text
                    self._posted = True
                    return True
                log.info("slack.response_url_refused", extra={"status": resp.status})
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack.response_url_failed", extra={"error": type(exc).__name__})
        self._url_dead = True
        return False
