"""Slack retries a request it thinks went unanswered (``X-Slack-Retry-Num``); never act twice.

Every interactive request carries a ``trigger_id`` that is unique per user action (events carry an
``event_id``), so the first request with a given key is handled and any later one is acknowledged
and dropped. Keys are kept for longer than Slack's retry window (a few minutes).

This runs as a bolt global middleware, after bolt's own signature check, so forged requests never
fill the table.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

__all__ = ["RequestDeduplicator", "request_key"]

log = logging.getLogger(__name__)


def request_key(body: dict[str, Any]) -> str | None:
    """What identifies one user action across Slack's retries, or None if nothing does."""
    for name in ("trigger_id", "event_id"):
        value = body.get(name)
        if isinstance(value, str) and value:
            return f"{name}:{value}"
    return None


class RequestDeduplicator:
    """Remembers request keys for ``ttl_s`` seconds (bounded to ``max_keys``)."""

    def __init__(self, ttl_s: float = 600.0, max_keys: int = 50_000) -> None:
        self._ttl_s = ttl_s
        self._max_keys = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()
        self.dropped = 0

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen (and remembers it)."""
        now = time.monotonic()
        while self._seen:
            at = next(iter(self._seen.values()))
            if now - at < self._ttl_s and len(self._seen) < self._max_keys:
                break
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True

    async def middleware(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        """Bolt global middleware: answer 200 to a repeat without running any listener."""
        key = request_key(req.body)
        if key is None or self.first_time(key):
            return await next()
        self.dropped += 1
        retry = req.headers.get("x-slack-retry-num", [""])[0]
        log.info("slack.retry_dropped", extra={"retry_num": retry, "type": req.body.get("type", "command")})
        return BoltResponse(status=200, body="")
